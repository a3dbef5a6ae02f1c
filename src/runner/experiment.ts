/**
 * One run of an experiment in a prepared folder: the time-boxed command, every process of it gone,
 * the evaluation in a folder of its own, the metric. Shared by the local executor and the GitHub Action.
 */
import { open, rm } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Config } from "../core/config.js";
import type { RunResult } from "../ports.js";
import { type ExecOptions, type ExecResult, runBounded } from "./exec.js";
import { detectIsolation, type Isolation } from "./isolation.js";
import { type MetricReading, parseMetric, readMetricFile } from "./metric.js";
import type { RunDir } from "./rundir.js";
import { sanitizeTail } from "./sanitize.js";

/** What `runExperiment` needs. */
export interface ExperimentOptions {
  /** The folder `run` works in (the experiment commit's files). */
  cwd: string;
  config: Config;
  /** Passed to the command as AUTORESEARCH_SEED. */
  seed: number;
  /** Aborting kills the running command and gives status `cancelled`. */
  signal?: AbortSignal;
  /**
   * Makes the folder `eval` works in and returns it; called after every process of `run` is gone,
   * before `eval`. Without it, eval works in `cwd`. Either way `metric.file` and each guard's
   * `file` are deleted there first, so only `eval` can give the metric and the guards.
   */
  prepareEval?: () => Promise<string>;
  /**
   * Runs no `run`: its outputs were made elsewhere (the Action's `mode: eval`, for the strict
   * template's evaluate job). Only `prepareEval` and `eval` run, and only `eval` can give the metric.
   */
  skipRun?: boolean;
  /**
   * Runs only `run` (the strict template's train job): status ok when it exits 0, with no metric;
   * its outputs are collected by the caller.
   */
  trainOnly?: boolean;
  /** Base environment of the commands (already the allow-list); the AUTORESEARCH_* variables are added. */
  env?: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when a command is stopped. Default 5. */
  graceSeconds?: number;
  /** How each command is started and its processes found; default: no isolation beyond containment. */
  isolation?: Isolation;
  /** The run's folders: HOME and TMPDIR of the commands and what they may write. */
  runDir?: RunDir;
  /** Seconds to wait after SIGKILL before reporting processes as unkillable. Default 10. */
  killDeadlineSeconds?: number;
  /** Test probe for live processes; see ExecOptions.livePids. */
  livePids?: ExecOptions["livePids"];
}

/** Bytes of the sanitized tail in a RunResult. */
export const RESULT_TAIL_BYTES = 4096;
/** Bytes of raw output kept per command for finding the metric (it is normally printed last). */
const METRIC_WINDOW_BYTES = 256 * 1024;
/** A metric file larger than this is not read whole. */
const METRIC_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Runs `config.run` in `cwd` within `config.budget.experiment_timeout` (unless `skipRun`), waits
 * until every process of it is gone, prepares the evaluation folder, runs `config.eval` (same
 * time box) there when set, and reads the metric from the eval's output, the run's output, or
 * `config.metric.file`. Never throws: every failure is a status with a reason.
 */
export async function runExperiment(opts: ExperimentOptions): Promise<RunResult> {
  const { config, cwd } = opts;
  const start = performance.now();
  const timeout = config.budget.experiment_timeout;
  const isolation = opts.isolation ?? detectIsolation({ max: "none" });
  const baseEnv: Record<string, string> = {};
  // Python block-buffers a pipe: without this, what a run printed before the time box killed it
  // would be lost from the tail. The caller's environment may set it otherwise.
  baseEnv.PYTHONUNBUFFERED = "1";
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) baseEnv[k] = v;
  baseEnv.AUTORESEARCH_SEED = String(opts.seed);
  baseEnv.AUTORESEARCH_TIME_BUDGET = String(timeout);
  const sections: { label: string; exec: ExecResult }[] = [];
  const finish = (r: Omit<RunResult, "seconds" | "tail" | "isolation">): RunResult => ({
    ...r,
    seconds: (performance.now() - start) / 1000,
    tail: renderTail(sections),
    isolation: isolation.level,
  });
  const exec = async (label: "run" | "eval", command: string, dir: string): Promise<ExecResult> => {
    // The evaluation's interpreters must not load modules from its working folder before the
    // standard library's (an output named json.py); Node resolves builtins first and packages from
    // node_modules, which outputs may not contain (see outputProblem).
    const env = label === "eval" ? { ...baseEnv, PYTHONSAFEPATH: "1" } : baseEnv;
    const launch = isolation.launch({ command, cwd: dir, env: opts.runDir?.env(env) ?? env, writable: opts.runDir?.writable(dir) ?? [dir] });
    try {
      const result = await runBounded({
        command,
        cwd: dir,
        env: launch.env,
        launch,
        timeoutSeconds: timeout,
        graceSeconds: opts.graceSeconds ?? 5,
        tailBytes: METRIC_WINDOW_BYTES,
        ...(opts.killDeadlineSeconds !== undefined ? { killDeadlineSeconds: opts.killDeadlineSeconds } : {}),
        ...(opts.livePids ? { livePids: opts.livePids } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      sections.push({ label, exec: result });
      return result;
    } finally {
      launch.scope.dispose();
    }
  };

  let output = "";
  let runExit: number | null = null;
  if (opts.skipRun) {
    if (config.eval === undefined) return finish({ status: "crash", metric: null, exitCode: null, reason: "no eval command to run on the training outputs" });
  } else {
    const run = await exec("run", config.run, cwd);
    const runFailure = failure("run", run, timeout);
    if (runFailure) return finish(runFailure);
    output = run.tail;
    runExit = run.exitCode;
    if (opts.trainOnly) return finish({ status: "ok", metric: null, exitCode: runExit, reason: "" });
  }

  let metricDir = cwd;
  if (config.eval !== undefined) {
    let evalDir = cwd;
    try {
      if (opts.prepareEval) evalDir = await opts.prepareEval();
      await removeMetricFile(evalDir, config.metric.file);
      // Guards are read like the metric: with an eval, only eval can give them too.
      for (const g of config.guards) await removeMetricFile(evalDir, g.file);
    } catch (err) {
      return finish({
        status: "crash",
        metric: null,
        exitCode: runExit,
        reason: `could not prepare the evaluation: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
    if (opts.signal?.aborted) return finish({ status: "cancelled", metric: null, exitCode: runExit, reason: "cancelled before the evaluation" });
    const ev = await exec("eval", config.eval, evalDir);
    const evalFailure = failure("eval", ev, timeout);
    if (evalFailure) return finish(evalFailure);
    output = ev.tail;
    metricDir = evalDir;
  }

  const exitCode = sections.at(-1)?.exec.exitCode ?? null;
  const reading =
    config.metric.file !== undefined ? await readMetricFromFile(metricDir, config.metric.file, config.metric.name) : parseMetric(output, config.metric);
  if (!reading.ok) return finish({ status: reading.status, metric: null, exitCode, reason: reading.reason });
  // Guards are read like the metric; one that cannot be read makes the run a failed run.
  const guards: Record<string, number> = {};
  for (const g of config.guards) {
    const value = g.file !== undefined ? await readMetricFromFile(metricDir, g.file, g.name) : parseMetric(output, g);
    if (!value.ok) return finish({ status: value.status, metric: null, exitCode, reason: `guard ${g.name}: ${value.reason}` });
    guards[g.name] = value.value;
  }
  return finish({ status: "ok", metric: reading.value, exitCode, reason: "", ...(config.guards.length ? { guards } : {}) });
}

/** Deletes `file` (relative to `dir`) so that a stale one cannot be read as eval's; outside `dir` it is left alone. */
async function removeMetricFile(dir: string, file: string | undefined): Promise<void> {
  if (file === undefined) return;
  const path = resolve(dir, file);
  const rel = relative(dir, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return;
  await rm(path, { force: true, recursive: true });
}

/** The status of a command that did not succeed, or undefined when it exited 0. */
function failure(label: "run" | "eval", r: ExecResult, timeout: number): Omit<RunResult, "seconds" | "tail"> | undefined {
  const base = { metric: null, exitCode: r.exitCode };
  // Cancellation first: an abort during the time box is the user's stop, not the command's fault.
  if (r.stuck !== undefined) {
    return {
      ...base,
      status: "timeout",
      reason: `${label}: process${r.stuck.length > 1 ? "es" : ""} ${r.stuck.join(", ")} did not die after SIGKILL (uninterruptible sleep, such as a hung driver call); they are left running`,
    };
  }
  if (r.cancelled) return { ...base, status: "cancelled", reason: `cancelled during ${label}` };
  if (r.timedOut) return { ...base, status: "timeout", reason: `${label} exceeded the time box of ${formatSeconds(timeout)} and was killed` };
  if (r.spawnError !== undefined)
    return { ...base, status: "crash", reason: `${label === "eval" ? "eval failed: " : ""}could not start the ${label} command: ${r.spawnError}` };
  if (r.exitCode === 0) return undefined;
  const how =
    r.exitCode !== null ? `exited with code ${r.exitCode}${r.exitCode === 127 ? " (command not found)" : ""}` : `was killed by ${r.signal ?? "a signal"}`;
  return { ...base, status: "crash", reason: label === "eval" ? `eval failed: the eval command ${how}` : `the run command ${how}` };
}

async function readMetricFromFile(cwd: string, file: string, name: string): Promise<MetricReading> {
  const path = resolve(cwd, file);
  const rel = relative(cwd, path);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    return { ok: false, status: "no_metric", reason: `metric.file ${JSON.stringify(file)} is outside the repository` };
  }
  let text: string;
  try {
    const handle = await open(path, "r");
    try {
      const buf = Buffer.alloc(METRIC_FILE_MAX_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > METRIC_FILE_MAX_BYTES) {
        return { ok: false, status: "no_metric", reason: `metric file ${JSON.stringify(file)} is larger than ${METRIC_FILE_MAX_BYTES} bytes` };
      }
      text = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "was not written" : `could not be read (${code ?? (err as Error).message})`;
    return { ok: false, status: "no_metric", reason: `metric file ${JSON.stringify(file)} ${why}` };
  }
  return readMetricFile(text, name, `metric file ${JSON.stringify(file)}`);
}

/** Labelled, sanitized ends of each command's output, within RESULT_TAIL_BYTES in all. */
function renderTail(sections: { label: string; exec: ExecResult }[]): string {
  if (sections.length === 0) return "";
  const headers = sections.map(({ label, exec }) => `--- ${label}: ${describe(exec)} ---\n`);
  const headerBytes = headers.reduce((n, h) => n + Buffer.byteLength(h), 0);
  const budget = Math.max(0, RESULT_TAIL_BYTES - headerBytes - sections.length);
  // The last command (eval, when there is one) usually explains the result: it gets the larger share.
  const shares = sections.length === 1 ? [budget] : [Math.floor(budget * 0.4), budget - Math.floor(budget * 0.4)];
  return sections
    .map(({ exec }, i) => {
      const body = sanitizeTail(exec.tail, shares[i] ?? 0);
      return `${headers[i]}${body}${body.endsWith("\n") || body === "" ? "" : "\n"}`;
    })
    .join("")
    .trimEnd();
}

function describe(r: ExecResult): string {
  const how = r.cancelled
    ? "cancelled"
    : r.timedOut
      ? "timed out"
      : r.spawnError !== undefined
        ? "could not start"
        : r.exitCode !== null
          ? `exit ${r.exitCode}`
          : `killed by ${r.signal ?? "a signal"}`;
  return `${how} after ${formatSeconds(r.seconds)}`;
}

function formatSeconds(s: number): string {
  return s >= 100 ? `${Math.round(s)} s` : `${Number(s.toFixed(s >= 10 ? 1 : 2))} s`;
}
