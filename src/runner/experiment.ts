/**
 * One run of an experiment in a prepared checkout: the time-boxed command, the locked files put
 * back, the evaluation, the metric. Shared by the local executor and the GitHub Action.
 */
import { open } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Config } from "../core/config.js";
import type { RunResult } from "../ports.js";
import { type ExecResult, runBounded } from "./exec.js";
import { type MetricReading, parseMetric, readMetricFile } from "./metric.js";
import { sanitizeTail } from "./sanitize.js";

/** What `runExperiment` needs. */
export interface ExperimentOptions {
  /** The checkout to run in (the experiment commit). */
  cwd: string;
  config: Config;
  /** Passed to the command as AUTORESEARCH_SEED. */
  seed: number;
  /** Aborting kills the running command and gives status `cancelled`. */
  signal?: AbortSignal;
  /** Puts every locked file back as it is at the base commit; called after `run`, before `eval`. */
  restoreLocked: () => Promise<void>;
  /**
   * Runs no `run`: its outputs were made elsewhere and already lie in `cwd` (the Action's
   * `mode: eval`, for the strict template's evaluate job). Only `restoreLocked` and `eval` run,
   * and only `eval` can give the metric, since no output of this process came from training.
   */
  skipRun?: boolean;
  /** Base environment of the commands (default: this process's); the AUTORESEARCH_* variables are added. */
  env?: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when a command is stopped. Default 5. */
  graceSeconds?: number;
}

/** Bytes of the sanitized tail in a RunResult. */
export const RESULT_TAIL_BYTES = 4096;
/** Bytes of raw output kept per command for finding the metric (it is normally printed last). */
const METRIC_WINDOW_BYTES = 256 * 1024;
/** A metric file larger than this is not read whole. */
const METRIC_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Runs `config.run` in `cwd` within `config.budget.experiment_timeout` (unless `skipRun`), restores
 * the locked files, runs `config.eval` (same time box) when set, and reads the metric from the
 * eval's output, the run's output, or `config.metric.file`. Never throws: every failure is a status
 * with a reason.
 */
export async function runExperiment(opts: ExperimentOptions): Promise<RunResult> {
  const { config, cwd } = opts;
  const start = performance.now();
  const timeout = config.budget.experiment_timeout;
  const env: NodeJS.ProcessEnv = {
    // Python block-buffers a pipe: without this, what a run printed before the time box killed it
    // would be lost from the tail. The caller's environment may set it otherwise.
    PYTHONUNBUFFERED: "1",
    ...(opts.env ?? process.env),
    AUTORESEARCH_SEED: String(opts.seed),
    AUTORESEARCH_TIME_BUDGET: String(timeout),
  };
  const sections: { label: string; exec: ExecResult }[] = [];
  const finish = (r: Omit<RunResult, "seconds" | "tail">): RunResult => ({
    ...r,
    seconds: (performance.now() - start) / 1000,
    tail: renderTail(sections),
  });
  const exec = async (label: string, command: string): Promise<ExecResult> => {
    const result = await runBounded({
      command,
      cwd,
      env,
      timeoutSeconds: timeout,
      graceSeconds: opts.graceSeconds ?? 5,
      tailBytes: METRIC_WINDOW_BYTES,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    sections.push({ label, exec: result });
    return result;
  };

  let output = "";
  let runExit: number | null = null;
  if (opts.skipRun) {
    if (config.eval === undefined) return finish({ status: "crash", metric: null, exitCode: null, reason: "no eval command to run on the training outputs" });
  } else {
    const run = await exec("run", config.run);
    const runFailure = failure("run", run, timeout);
    if (runFailure) return finish(runFailure);
    output = run.tail;
    runExit = run.exitCode;
  }

  try {
    await opts.restoreLocked();
  } catch (err) {
    return finish({
      status: "crash",
      metric: null,
      exitCode: runExit,
      reason: `could not restore the locked files before the evaluation: ${err instanceof Error ? err.message : String(err)}`,
    });
  }

  if (config.eval !== undefined) {
    if (opts.signal?.aborted) return finish({ status: "cancelled", metric: null, exitCode: runExit, reason: "cancelled before the evaluation" });
    const ev = await exec("eval", config.eval);
    const evalFailure = failure("eval", ev, timeout);
    if (evalFailure) return finish(evalFailure);
    output = ev.tail;
  }

  const exitCode = sections.at(-1)?.exec.exitCode ?? null;
  const reading = config.metric.file !== undefined ? await readMetricFromFile(cwd, config.metric.file, config.metric.name) : parseMetric(output, config.metric);
  if (!reading.ok) return finish({ status: reading.status, metric: null, exitCode, reason: reading.reason });
  // Guards are read like the metric; one that cannot be read makes the run a failed run.
  const guards: Record<string, number> = {};
  for (const g of config.guards) {
    const value = g.file !== undefined ? await readMetricFromFile(cwd, g.file, g.name) : parseMetric(output, g);
    if (!value.ok) return finish({ status: value.status, metric: null, exitCode, reason: `guard ${g.name}: ${value.reason}` });
    guards[g.name] = value.value;
  }
  return finish({ status: "ok", metric: reading.value, exitCode, reason: "", ...(config.guards.length ? { guards } : {}) });
}

/** The status of a command that did not succeed, or undefined when it exited 0. */
function failure(label: "run" | "eval", r: ExecResult, timeout: number): Omit<RunResult, "seconds" | "tail"> | undefined {
  const base = { metric: null, exitCode: r.exitCode };
  // Cancellation first: an abort during the time box is the user's stop, not the command's fault.
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
