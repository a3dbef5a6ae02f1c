/**
 * The one bounded way to run a process: a shell command in its own process group, a time box,
 * a graceful signal then a forced kill of the whole group, a capped output tail, and a result
 * object instead of a throw.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { ProcessScope } from "./isolation.js";

/** How to run one bounded command. */
export interface ExecOptions {
  /** A shell command line, run with `/bin/sh -c`. */
  command: string;
  cwd: string;
  /** The full environment of the command (defaults to this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Time box in seconds; the process group is signalled beyond it. `Infinity` means none. */
  timeoutSeconds: number;
  /** Seconds between SIGTERM and SIGKILL. Default 5. */
  graceSeconds?: number;
  /** Bytes of combined stdout+stderr kept (the end of the output). Default 8192. */
  tailBytes?: number;
  /** Aborting kills the process group like a timeout does, and marks the result cancelled. */
  signal?: AbortSignal;
  /**
   * What to spawn instead of `/bin/sh -c command` (a sandbox or user switch around it), and the
   * scope that finds its processes beyond the process group (a cgroup, an environment marker).
   */
  launch?: { file: string; args: string[]; scope?: ProcessScope };
  /**
   * Seconds to wait for the processes to vanish after SIGKILL before giving up on them and
   * reporting them in `stuck`. Default 10. A process in uninterruptible sleep (a hung driver)
   * ignores SIGKILL until the kernel call returns, which may be never.
   */
  killDeadlineSeconds?: number;
  /**
   * Replaces the check for live processes of the run (the group and the scope): a test's probe.
   * A process in uninterruptible sleep cannot be made in a test, so tests inject one that keeps
   * reporting a pid alive.
   */
  livePids?: (real: () => number[]) => number[];
}

/** What a bounded command did. Failures are values: `runBounded` never throws. */
export interface ExecResult {
  /** Exit code of the shell, or null when it was killed by a signal or never started. */
  exitCode: number | null;
  /** The signal that killed the shell (e.g. "SIGTERM"), or null. */
  signal: string | null;
  /** True when the time box expired before the command exited. */
  timedOut: boolean;
  /** True when `signal` aborted the command (before or during the run). */
  cancelled: boolean;
  /** Wall-clock seconds from start until the whole process group was gone. */
  seconds: number;
  /** The last `tailBytes` bytes of stdout and stderr interleaved, decoded as UTF-8. */
  tail: string;
  /** Why the shell could not be started (missing cwd, ...), when it could not. */
  spawnError?: string;
  /** Processes of the run still alive `killDeadlineSeconds` after SIGKILL: they could not be killed. */
  stuck?: number[];
}

/** Polling interval while waiting for a process group to disappear. */
const POLL_MS = 25;
/** After the group is gone, how long to wait for the pipes to drain before giving up on them. */
const DRAIN_MS = 500;

/**
 * Runs `command` with `/bin/sh -c` in a new process group and resolves once the shell and every
 * process left in its group are gone. On timeout or abort the group gets SIGTERM, then SIGKILL
 * after `graceSeconds`; processes left behind after a normal exit get the same treatment, so
 * nothing a run started outlives it. Processes that leave the group (`setsid`, a double fork) are
 * found through `launch.scope` (a cgroup, an environment marker) and get the same signals. A
 * process that is still alive `killDeadlineSeconds` after SIGKILL is given up on and reported in
 * `stuck`, so a hung driver call cannot hang the caller.
 */
export async function runBounded(opts: ExecOptions): Promise<ExecResult> {
  const graceMs = Math.max(0, (opts.graceSeconds ?? 5) * 1000);
  const tailBytes = Math.max(0, Math.floor(opts.tailBytes ?? 8192));
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;

  if (opts.signal?.aborted) {
    return { exitCode: null, signal: null, timedOut: false, cancelled: true, seconds: 0, tail: "" };
  }

  const tail = new TailBuffer(tailBytes);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(opts.launch?.file ?? "/bin/sh", opts.launch?.args ?? ["-c", opts.command], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      // A new process group, so that one signal reaches every descendant.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    return { exitCode: null, signal: null, timedOut: false, cancelled: false, seconds: elapsed(), tail: "", spawnError: errorMessage(err) };
  }

  return await new Promise<ExecResult>((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let stuck: number[] | undefined;
    let terminating = false;
    let exited = false;
    let finished = false;
    const pgid = child.pid;
    let openStreams = 0;
    let onDrained: (() => void) | undefined;

    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      openStreams++;
      stream.on("data", (chunk: Buffer) => tail.push(chunk));
      // A broken pipe or similar must not become an unhandled error event.
      stream.on("error", () => {});
      stream.on("close", () => {
        openStreams--;
        if (openStreams === 0) onDrained?.();
      });
    }

    const scope = opts.launch?.scope;
    const signalGroup = (sig: NodeJS.Signals) => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
      scope?.kill(sig);
    };
    const realLive = () => [...(pgid === undefined ? [] : groupPids(pgid)), ...(scope?.pids() ?? [])];
    const livePids = () => (opts.livePids ? opts.livePids(realLive) : realLive());

    /** SIGKILL now, and a last deadline for the processes to go: a hung one must not hang us. */
    const kill = () => {
      signalGroup("SIGKILL");
      deadline ??= setTimeout(
        () => {
          const left = livePids();
          if (left.length === 0) return;
          stuck = [...new Set(left)].sort((a, b) => a - b);
          clearTimeout(pollTimer);
          if (!exited) exited = true;
          finish();
        },
        Math.max(0, (opts.killDeadlineSeconds ?? 10) * 1000),
      );
    };

    /** SIGTERM now, SIGKILL after the grace period; idempotent. */
    const terminate = () => {
      if (terminating) return;
      terminating = true;
      signalGroup("SIGTERM");
      killTimer = setTimeout(kill, graceMs);
    };

    const timeoutMs = opts.timeoutSeconds * 1000;
    const timeBox =
      Number.isFinite(timeoutMs) && timeoutMs >= 0
        ? setTimeout(() => {
            if (exited) return;
            timedOut = true;
            terminate();
          }, timeoutMs)
        : undefined;

    const onAbort = () => {
      if (exited) return;
      cancelled = true;
      terminate();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timeBox);
      clearTimeout(killTimer);
      clearTimeout(pollTimer);
      clearTimeout(deadline);
      opts.signal?.removeEventListener("abort", onAbort);
      // Pipes still held by a process outside the group must not keep us waiting or alive.
      child.stdout?.destroy();
      child.stderr?.destroy();
      const result: ExecResult = { exitCode, signal: exitSignal, timedOut, cancelled, seconds: elapsed(), tail: tail.text() };
      if (spawnError !== undefined) result.spawnError = spawnError;
      if (stuck !== undefined) result.stuck = stuck;
      resolve(result);
    };

    /** Waits until no live process remains in the group, then for the pipes to drain. */
    const waitForGroup = () => {
      if (finished) return;
      if (livePids().length > 0) {
        pollTimer = setTimeout(waitForGroup, POLL_MS);
        return;
      }
      // The group is gone: a late SIGKILL could only hit an unrelated process.
      clearTimeout(killTimer);
      clearTimeout(deadline);
      if (openStreams === 0) return finish();
      onDrained = finish;
      pollTimer = setTimeout(finish, DRAIN_MS);
    };

    child.on("error", (err) => {
      // Only spawn failures arrive here in practice (e.g. a missing cwd); no exit event follows.
      if (exited) return;
      exited = true;
      spawnError = errorMessage(err);
      finish();
    });

    child.on("exit", (code, sig) => {
      exited = true;
      exitCode = code;
      exitSignal = sig;
      clearTimeout(timeBox);
      // Background processes the command left behind must not outlive the run.
      if (livePids().length > 0) terminate();
      waitForGroup();
    });
  });
}

/** Keeps the last `max` bytes of a stream without ever holding much more than twice that. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    if (this.max === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > 2 * this.max) this.compact();
  }

  private compact(): void {
    const all = Buffer.concat(this.chunks, this.size);
    const kept = Buffer.from(all.subarray(all.length - this.max));
    this.chunks = [kept];
    this.size = kept.length;
  }

  text(): string {
    let buf = Buffer.concat(this.chunks, this.size);
    if (buf.length > this.max) buf = buf.subarray(buf.length - this.max);
    // The cut may fall inside a multi-byte character: drop its continuation bytes.
    let i = 0;
    while (i < buf.length && i < 4 && ((buf[i] ?? 0) & 0xc0) === 0x80) i++;
    return buf.subarray(i).toString("utf8");
  }
}

/**
 * The live members of the group. On Linux, zombies do not count: where PID 1 does not reap
 * orphans (some containers), killed grandchildren stay zombies forever and `kill(-pgid, 0)` would
 * keep reporting them.
 */
function groupPids(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // ESRCH, the usual case: no member left, not even a zombie. No need to scan /proc.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return [];
  }
  return linuxGroupPids(pgid) ?? [pgid];
}

/** Scans /proc for the non-zombie members of the group; undefined where /proc is unavailable. */
function linuxGroupPids(pgid: number): number[] | undefined {
  if (process.platform !== "linux") return undefined;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // exited while we were looking
    }
    // Fields after the parenthesised command name (which may itself contain spaces or ')').
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    const pgrp = Number(fields[2]);
    if (pgrp === pgid && state !== "Z" && state !== "X") out.push(Number(entry));
  }
  return out;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
