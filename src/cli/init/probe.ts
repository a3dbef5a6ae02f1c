/**
 * `autoresearch init --run-once`: runs the guessed command once, as an experiment would run it (a
 * clean copy of the last commit, the inputs provided, the time box, the experiment environment),
 * and returns what it printed and how long it took.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ExecResult, runBounded } from "../../runner/exec.js";
import { provideInputs } from "../../runner/inputs.js";
import { outputProblem, walkFiles } from "../../runner/rundir.js";
import { cleanText } from "../../runner/sanitize.js";

/** Bytes of output kept per command for finding the metric. */
const OUTPUT_BYTES = 256 * 1024;

/** What one run (and its evaluation) did. */
export interface Probe {
  run: ExecResult;
  eval?: ExecResult;
  /** Seconds of the slower of the two: what the time box must hold. */
  seconds: number;
  /**
   * Data files `run` created (not committed, not inputs, not caches or code): what `eval` may need
   * as `outputs`, since it runs in a fresh tree of the parent's files plus the declared outputs.
   */
  created: string[];
}

/** Folders and files a run makes that are never outputs (caches, environments). */
const NOT_OUTPUTS = /(^|\/)(__pycache__|\.pytest_cache|\.mypy_cache|node_modules|\.venv|venv|\.cache|\.ipynb_checkpoints)(\/|$)|\.pyc$/;

/** Writes the files of `commit` into `dir` (git archive | tar), without touching the repository's index or worktrees. */
function exportCommit(root: string, commit: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const archive = spawn("git", ["archive", "--format=tar", commit], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const tar = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    archive.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    tar.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    archive.stdout.pipe(tar.stdin);
    let pending = 2;
    let failed = false;
    const done = (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        reject(new Error(`could not copy ${commit} to a temporary folder: ${stderr.trim() || `exit ${code}`}`));
      }
      if (--pending === 0 && !failed) resolve();
    };
    archive.on("error", reject);
    tar.on("error", reject);
    archive.on("close", done);
    tar.on("close", done);
  });
}

/** Runs `run` (then `eval`) once in a clean copy of HEAD with the inputs provided; the copy is removed afterwards. */
export async function runOnce(opts: {
  root: string;
  run: string;
  eval?: string;
  inputs: readonly string[];
  timeoutSeconds: number;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): Promise<Probe> {
  const dir = await mkdtemp(join(tmpdir(), "autoresearch-init-"));
  try {
    await exportCommit(opts.root, "HEAD", dir);
    await provideInputs(opts.root, dir, opts.inputs);
    const env: NodeJS.ProcessEnv = {
      PYTHONUNBUFFERED: "1",
      ...opts.env,
      AUTORESEARCH_SEED: "1",
      AUTORESEARCH_TIME_BUDGET: String(opts.timeoutSeconds),
    };
    const exec = (command: string) =>
      runBounded({
        command,
        cwd: dir,
        env,
        timeoutSeconds: opts.timeoutSeconds,
        graceSeconds: 2,
        tailBytes: OUTPUT_BYTES,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    const before = new Set(await walkFiles(dir));
    const run = await exec(opts.run);
    const ok = run.exitCode === 0 && !run.timedOut;
    const created = ok ? (await walkFiles(dir)).filter((f) => !before.has(f) && !NOT_OUTPUTS.test(f) && outputProblem(f) === undefined).sort() : [];
    const ev = ok && opts.eval ? await exec(opts.eval) : undefined;
    return { run, ...(ev ? { eval: ev } : {}), seconds: Math.max(run.seconds, ev?.seconds ?? 0), created };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether a command of the probe succeeded. */
export const succeeded = (r: ExecResult | undefined) => r !== undefined && r.exitCode === 0 && !r.timedOut && !r.cancelled && r.spawnError === undefined;

/** The output of a command, cleaned of terminal escapes. */
export const outputOf = (r: ExecResult) => cleanText(r.tail);
