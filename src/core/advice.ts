/**
 * Advice for the user, from what a campaign recorded: why a failed run failed in words they can
 * act on (a missing input, a command that does not exist, a time box too small), and whether the
 * baseline leaves the experiments enough of the time box. Pure: values in, text out.
 */
import type { CampaignState, RunState } from "./state.js";

/** A baseline slower than this share of the time box is warned about: experiments that are a bit slower time out. */
export const SLOW_BASELINE_SHARE = 0.6;
/** The time box suggested for a measured run time: this many times it, rounded up to a readable value. */
export const TIME_BOX_HEADROOM = 2;

/** A duration in seconds as the configuration writes it ("45s", "4m", "1.5h"). */
export function formatTimeBox(seconds: number): string {
  if (seconds < 120) return `${Math.ceil(seconds)}s`;
  if (seconds < 2 * 3600) return `${Math.ceil(seconds / 60)}m`;
  return `${Math.ceil((seconds / 3600) * 10) / 10}h`;
}

/**
 * The time box for a run measured at `seconds`: TIME_BOX_HEADROOM times it (parallel runs and a
 * busier machine are slower), at least 10 s, rounded up to 5 s, then to whole minutes above 2 min.
 */
export function suggestTimeBox(seconds: number): number {
  const raw = Math.max(10, (Number.isFinite(seconds) && seconds > 0 ? seconds : 0) * TIME_BOX_HEADROOM);
  if (raw < 120) return Math.ceil(raw / 5) * 5;
  if (raw < 2 * 3600) return Math.ceil(raw / 60) * 60;
  return Math.ceil(raw / 360) * 360;
}

/** A warning when the baseline's slowest run used more than SLOW_BASELINE_SHARE of the time box. */
export interface SlowBaseline {
  /** Seconds of the slowest finished baseline run. */
  seconds: number;
  /** The time box in seconds. */
  timeBox: number;
  /** The suggested time box in seconds. */
  suggested: number;
  message: string;
}

/** The slow-baseline warning of a campaign, or undefined when the baseline fits the time box comfortably. */
export function slowBaseline(state: CampaignState): SlowBaseline | undefined {
  const base = state.experiments[0];
  if (!base) return undefined;
  const finished = base.runs.filter((r) => r.status === "ok");
  if (finished.length === 0) return undefined;
  const seconds = Math.max(...finished.map((r) => r.seconds));
  const timeBox = state.config.budget.experiment_timeout;
  if (!(seconds > SLOW_BASELINE_SHARE * timeBox)) return undefined;
  const suggested = suggestTimeBox(seconds);
  const pct = Math.round((seconds / timeBox) * 100);
  return {
    seconds,
    timeBox,
    suggested,
    message: `the baseline took ${seconds.toFixed(1)} s, ${pct}% of the time box (budget.experiment_timeout: ${formatTimeBox(timeBox)}); a change that makes a run slightly slower will time out. Suggested: experiment_timeout: ${formatTimeBox(suggested)}`,
  };
}

/** The part of a run record a hint reads. */
export type FailedRun = Pick<RunState, "status" | "reason" | "tail">;

/** A path as a run printed it, without the temporary run directory in front. */
function inRunDir(path: string): string {
  return path.replace(/^.*?\/autoresearch-run-[^/]+\//, "").replace(/^\.\//, "");
}

/** The file a "no such file" error names, if the output says. */
function missingFile(tail: string): string | undefined {
  const patterns = [
    /No such file or directory: '([^']+)'/,
    /No such file or directory: "([^"]+)"/,
    /ENOENT: no such file or directory, \w+ '([^']+)'/,
    /can't open file '([^']+)'/,
    /FileNotFoundError: .*?'([^']+)'/,
    /cannot (?:open|find|read) (?:file )?['"]?([^'"\s:]+)['"]?/i,
  ];
  let found: string | undefined;
  let at = -1;
  for (const re of patterns) {
    for (const m of tail.matchAll(new RegExp(re.source, `${re.flags}g`))) {
      if (m[1] && (m.index ?? 0) >= at) {
        at = m.index ?? 0;
        found = m[1];
      }
    }
  }
  return found === undefined ? undefined : inRunDir(found);
}

/** The command a shell could not find ("sh: 1: python: not found", "python: command not found"). */
function missingCommand(tail: string): string | undefined {
  const m = /(?:^|\n)(?:\/bin\/)?(?:sh|bash)?:?\s*(?:\d+:\s*)?(?:line \d+:\s*)?([\w./+-]+): (?:command )?not found/.exec(tail);
  return m?.[1];
}

/**
 * What to do about a failed run, judged from its status, reason and output; undefined when
 * nothing specific can be said. `run` is the configuration's run command (for the "not
 * committed" case); `timeBox` the time box in seconds.
 */
export function failureHint(run: FailedRun, context: { run: string; timeBox: number; metric: string }): string | undefined {
  if (run.status === "timeout")
    return `time box too small: the run did not finish within budget.experiment_timeout (${formatTimeBox(context.timeBox)}). Raise it (or pass --timeout), or make the script stop within AUTORESEARCH_TIME_BUDGET seconds.`;
  if (run.status === "no_metric")
    return `the output has no "${context.metric}: <value>" line: set metric.pattern to a regular expression with one group around the number (\`autoresearch init --run-once\` finds it for you), or metric.file.`;
  if (run.status === "non_finite") return "the metric was NaN or infinite: the training diverged or never ran a step; try the command by hand.";
  if (run.status !== "crash") return undefined;
  const tail = run.tail;
  const command = missingCommand(tail) ?? (/exited with code 127/.test(run.reason) ? context.run.trim().split(/\s+/)[0] : undefined);
  if (command !== undefined) {
    const alt = command === "python" ? " (on many systems it is python3)" : "";
    return `command not found: ${JSON.stringify(command)} is not installed or not on the PATH that autoresearch runs with${alt}. Fix the run command, or install it.`;
  }
  const module = /ModuleNotFoundError: No module named '([^']+)'|Cannot find (?:module|package) '([^']+)'/.exec(tail);
  if (module) {
    const name = module[1] ?? module[2];
    return `a package is missing: ${JSON.stringify(name)} cannot be imported by the run. Install it in the environment autoresearch runs in (the same PATH and virtual environment as your shell), or, if it is a file of yours, commit it.`;
  }
  const file = missingFile(tail);
  if (file !== undefined) {
    const script = context.run.split(/\s+/).some((w) => w === file || w.endsWith(`/${file}`));
    if (script) return `${JSON.stringify(file)} is not in the last commit: runs start from a clean checkout of it, so commit the file.`;
    return `missing input file: ${JSON.stringify(file)} is not in the run's directory. Runs start from a clean checkout of the last commit: list files git does not track under inputs (inputs: [${file.includes("/") ? `${file.split("/")[0]}/` : file}]), or commit them.`;
  }
  return undefined;
}

/** The last `count` non-empty lines of a run's output, without the "--- run: ... ---" headers. */
export function tailLines(tail: string, count = 15): string[] {
  return tail
    .trimEnd()
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-count);
}

/** The failed baseline run worth showing (the last one with output), when the baseline failed. */
export function failedBaselineRun(state: CampaignState): RunState | undefined {
  if (!state.stopped?.reason.startsWith("the baseline failed")) return undefined;
  const runs = state.experiments[0]?.runs.filter((r) => r.status !== "ok" && r.status !== "running") ?? [];
  return runs.filter((r) => r.tail.trim() !== "").at(-1) ?? runs.at(-1);
}
