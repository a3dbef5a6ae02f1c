/**
 * What the experiment Action adds around an experiment, no network.
 *
 * - action_overhead_ms: a temporary git repository whose configuration runs `true` and evaluates
 *   with `echo score: 1` (a command that does nothing, and one that prints the metric). The figure
 *   is the median wall time of the bundled Action (dist/action/index.js, started as the runner
 *   starts it: a Node process with INPUT_* and the file-command variables) minus the median wall
 *   time of running the same two commands directly through `sh -c`, measured alternately in the
 *   same process so machine load affects both. It covers Node's start, parsing the bundle,
 *   validating inputs and configuration, the surface check (git), the process group, the metric,
 *   result.json, outputs and the job summary. The artifact upload is left out (`upload: false`):
 *   on a runner it is a network round trip to GitHub, not work of the Action.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type BenchResult, round } from "./result.js";

const REPEATS = 15;
const GOAL_MS = 500;
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BUNDLE = join(root, "dist", "action", "index.js");

const CONFIG = `metric:
  name: score
  goal: minimize
run: "true"
eval: "echo score: 1"
editable: [train.sh]
budget:
  experiment_timeout: 60s
`;

function gitIn(dir: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@invalid", "-c", "commit.gpgsign=false", ...args], { cwd: dir, stdio: "ignore" });
}

async function makeRepo(dir: string): Promise<void> {
  await mkdir(join(dir, ".github"), { recursive: true });
  await writeFile(join(dir, ".github", "autoresearch.yml"), CONFIG);
  await writeFile(join(dir, "train.sh"), "X=1\n");
  gitIn(dir, "init", "-q", "-b", "main");
  gitIn(dir, "add", "-A");
  gitIn(dir, "commit", "-q", "-m", "base");
  await writeFile(join(dir, "train.sh"), "X=2\n");
  gitIn(dir, "commit", "-q", "-am", "experiment");
}

/** Wall time of one process, in ms; rejects unless it exits 0. */
function timed(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function actionBenchmarks(): Promise<BenchResult[]> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build:action\``);
  const work = await mkdtemp(join(tmpdir(), "autoresearch-bench-action-"));
  try {
    const repo = join(work, "repo");
    await mkdir(repo);
    await makeRepo(repo);
    const direct: number[] = [];
    const action: number[] = [];
    let status = "";
    for (let i = 0; i < REPEATS; i++) {
      const base = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? work, LANG: "C.UTF-8" };
      direct.push((await timed("sh", ["-c", "true"], { cwd: repo, env: base })) + (await timed("sh", ["-c", "echo score: 1"], { cwd: repo, env: base })));

      const job = join(work, `job-${i}`);
      const runnerTemp = join(job, "_temp");
      await mkdir(runnerTemp, { recursive: true });
      const files: Record<string, string> = {};
      for (const k of ["GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"]) {
        files[k] = join(job, k.toLowerCase());
        await writeFile(files[k] as string, "");
      }
      const env = {
        ...base,
        CI: "true",
        GITHUB_ACTIONS: "true",
        GITHUB_WORKSPACE: repo,
        RUNNER_TEMP: runnerTemp,
        RUNNER_OS: "Linux",
        ...files,
        INPUT_EXPERIMENT: `bench-${i}`,
        INPUT_SEED: "1",
        INPUT_UPLOAD: "false",
      };
      action.push(await timed(process.execPath, [BUNDLE], { cwd: repo, env }));
      // Only a run that measured the metric counts: an Action that failed early would look fast.
      status = /^status<<(.+)\n(.*)\n/m.exec(await readFile(files.GITHUB_OUTPUT as string, "utf8"))?.[2] ?? "";
      if (status !== "ok") throw new Error(`the Action's status was ${JSON.stringify(status)}, expected ok`);
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
    await rm(work, { recursive: true, force: true });
  }
}
