/**
 * What isolation adds to one run of the example (examples/tiny-regression, training cut to 0.2 s
 * through its AUTORESEARCH_TIME_BUDGET_S, set in the run command).
 *
 * - isolation_overhead_ms: the median wall time of one run at the strongest level the machine
 *   gives (on a machine with bubblewrap, `sandbox`) minus the median at level `none`, the two
 *   measured alternately in the same process so machine load affects both. Measured for the CLI
 *   (LocalExecutor.run: run folder, run, eval tree, eval) and for the bundled Action (a Node
 *   process as the runner starts it, input `isolation`); the figure is the larger of the two,
 *   both are in the line. Both levels write the same run folders and kill through the same
 *   containment; the difference is bubblewrap (and, as root, the switch to another user).
 */
import { execFileSync } from "node:child_process";
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseConfigText } from "../src/core/config.js";
import { LocalExecutor } from "../src/local/executor.js";
import { runEnvironment } from "../src/runner/env.js";
import { availableIsolation, type IsolationLevel } from "../src/runner/isolation.js";
import { gitIn, PACKAGE_ROOT, runBundledAction, tempDir } from "../test/action/helpers.js";
import { type BenchResult, round } from "./result.js";

const REPEATS = 9;
const GOAL_MS = 300;
const RUN = "AUTORESEARCH_TIME_BUDGET_S=0.2 node train.mjs";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function isolationBenchmarks(): Promise<BenchResult[]> {
  const strongest = availableIsolation("sandbox");
  const work = await tempDir("bench-isolation");
  try {
    const repo = join(work.dir, "repo");
    await cp(join(PACKAGE_ROOT, "examples", "tiny-regression"), repo, { recursive: true });
    const configPath = join(repo, ".github", "autoresearch.yml");
    const text = execFileSync("sed", ["-e", `s|^run: .*|run: ${RUN}|`, configPath], { encoding: "utf8" });
    await writeFile(configPath, text);
    gitIn(repo, "init", "-q", "-b", "main");
    gitIn(repo, "add", "-A");
    gitIn(repo, "commit", "-q", "-m", "base");
    gitIn(repo, "commit", "-q", "--allow-empty", "-m", "experiment");
    const head = gitIn(repo, "rev-parse", "HEAD");
    const parent = gitIn(repo, "rev-parse", "HEAD^");

    const config = parseConfigText(text);
    const executors: Record<string, LocalExecutor> = {};
    const executor = (level: IsolationLevel) => {
      executors[level] ??= new LocalExecutor({ repoDir: repo, config, env: runEnvironment(process.env), isolation: level });
      return executors[level];
    };
    const cliRun = async (level: IsolationLevel, seed: number) => {
      const start = performance.now();
      const r = await executor(level).run({ campaign: "1", experiment: 1, commit: head, parent, seed }, new AbortController().signal);
      if (r.status !== "ok") throw new Error(`a bench run at ${level} gave ${r.status}: ${r.reason}\n${r.tail}`);
      return performance.now() - start;
    };
    const actionRun = async (level: IsolationLevel, seed: number) => {
      const run = await runBundledAction({ repo, inputs: { experiment: "bench", seed: String(seed), upload: "false", isolation: level } });
      if (run.code !== 0 || run.outputs.status !== "ok") throw new Error(`the Action at ${level} gave ${run.outputs.status}:\n${run.stdout}${run.stderr}`);
      return run.seconds * 1000;
    };

    const cli = { strong: [] as number[], none: [] as number[] };
    const action = { strong: [] as number[], none: [] as number[] };
    // One warm-up each: the first run detects the isolation.
    await cliRun(strongest, 0);
    await cliRun("none", 0);
    for (let i = 1; i <= REPEATS; i++) {
      cli.strong.push(await cliRun(strongest, i));
      cli.none.push(await cliRun("none", i));
      action.strong.push(await actionRun(strongest, i));
      action.none.push(await actionRun("none", i));
    }
    const cliMs = median(cli.strong) - median(cli.none);
    const actionMs = median(action.strong) - median(action.none);
    const value = Math.max(cliMs, actionMs);
    return [
      {
        name: "isolation_overhead_ms",
        value: round(value, 3),
        unit: "ms",
        better: "lower",
        goal: `<= ${GOAL_MS}`,
        pass: value <= GOAL_MS,
        level: strongest,
        cli_ms: round(cliMs, 3),
        action_ms: round(actionMs, 3),
        cli_run_ms: round(median(cli.strong), 3),
        action_run_ms: round(median(action.strong), 3),
        repeats: REPEATS,
      },
    ];
  } finally {
    await work.cleanup();
  }
}
