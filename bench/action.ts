/**
 * What the experiment Action adds around an experiment, no network.
 *
 * - action_overhead_ms: a temporary git repository whose configuration runs `true` and evaluates
 *   with `echo score: 1` (a command that does nothing, and one that prints the metric). The figure
 *   is the median wall time of the bundled Action (dist/action/index.js, started as the runner
 *   starts it: a Node process with INPUT_* and the file-command variables) minus the median wall
 *   time of running the same two commands directly through `sh -c`, measured alternately in the
 *   same process so machine load affects both. The runner-like environment and the repository
 *   come from the Action's end-to-end test helpers. It covers Node's start, parsing the bundle,
 *   validating inputs and configuration, the surface check (git), the process group, the metric,
 *   result.json, outputs and the job summary. The artifact upload is left out (`upload: false`):
 *   on a runner it is a network round trip to GitHub, not work of the Action.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { BUNDLE, makeRepo, runBundledAction, tempDir } from "../test/action/helpers.js";
import { type BenchResult, round } from "./result.js";

const REPEATS = 15;
const GOAL_MS = 500;

const CONFIG = `metric:
  name: score
  goal: minimize
run: "true"
eval: "echo score: 1"
editable: [train.sh]
budget:
  experiment_timeout: 60s
`;

/** Wall time of `sh -c command`, in ms; rejects unless it exits 0. */
function timedShell(command: string, cwd: string): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" }, stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`${command} exited ${code}`))));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function actionBenchmarks(): Promise<BenchResult[]> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build:action\``);
  const work = await tempDir("bench");
  try {
    const repo = await makeRepo(work.dir, { ".github/autoresearch.yml": CONFIG, "train.sh": "X=1\n" }, { "train.sh": "X=2\n" });
    const direct: number[] = [];
    const action: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      direct.push((await timedShell("true", repo)) + (await timedShell("echo score: 1", repo)));
      const run = await runBundledAction({ repo, inputs: { experiment: `bench-${i}`, seed: "1", upload: "false" } });
      // Only a run that measured the metric counts: an Action that failed early would look fast.
      if (run.code !== 0 || run.outputs.status !== "ok")
        throw new Error(`the Action's status was ${JSON.stringify(run.outputs.status)}, expected ok:\n${run.stdout}${run.stderr}`);
      action.push(run.seconds * 1000);
    }
    const overhead = median(action) - median(direct);
    return [
      {
        name: "action_overhead_ms",
        value: round(overhead, 3),
        unit: "ms",
        better: "lower",
        goal: `<= ${GOAL_MS}`,
        pass: overhead <= GOAL_MS,
        action_ms: round(median(action), 3),
        direct_ms: round(median(direct), 3),
        repeats: REPEATS,
        upload: false,
      },
    ];
  } finally {
    await work.cleanup();
  }
}
