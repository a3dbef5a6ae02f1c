/**
 * One autoresearch run per repository at a time: `.autoresearch/lock` names its holder. A lock
 * left by a process that died (kill -9, power loss) is recognised by its dead pid and taken over.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { LockedError } from "../errors.js";
import { ensureStateDir, lockFile } from "./paths.js";

/** What the lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  /** Campaign id, when known at the time the lock was taken or updated. */
  campaign?: string;
  /** The command line that holds the lock ("autoresearch run", ...). */
  command: string;
  /** ISO 8601 time the lock was taken. */
  started: string;
}

/** A held lock. */
export interface Lock {
  /** The lock file. */
  readonly path: string;
  /** Set when a stale lock (its process dead) was taken over: what it said. */
  readonly staleFrom?: LockInfo;
  /** Records the campaign once it is known (a new campaign's id is chosen under the lock). */
  update(info: { campaign?: string; command?: string }): Promise<void>;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

/** A lock file younger than this that cannot be parsed is being written by its holder. */
const UNREADABLE_GRACE_MS = 10_000;

/** Lock files this process holds (pid reuse: a dead holder may have had our pid, in containers often). */
const heldHere = new Set<string>();

/**
 * Takes the run lock of the repository at `root`. Throws LockedError naming the holder when a
 * live process holds it; takes over a lock whose process is gone (see `staleFrom`). The lock is
 * also removed when this process exits normally; no signal handlers are installed here.
 */
export async function acquireLock(root: string, info: { campaign?: string | number; command: string }): Promise<Lock> {
  await ensureStateDir(root);
  const path = lockFile(root);
  const mine: LockInfo = {
    pid: process.pid,
    host: hostname(),
    ...(info.campaign !== undefined ? { campaign: String(info.campaign) } : {}),
    command: info.command,
    started: new Date().toISOString(),
  };
  // Two rounds: a stale lock is moved aside once, then created afresh; losing the race twice
  // means another process really holds it now.
  const text = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, text)) return heldLock(path, text, undefined);
    const current = await readLock(path);
    if (current === undefined) continue; // released between our create and our read: try again
    const holder = parseLockInfo(current.text);
    if (holder === undefined) {
      if (Date.now() - current.mtimeMs < UNREADABLE_GRACE_MS) {
        throw new LockedError(`another autoresearch run is starting in this repository (${path} is being written); try again in a few seconds`);
      }
    } else if (isAlive(holder, path)) {
      throw new LockedError(describeHolder(holder, path));
    }
    // Stale: move it aside under a private name, then check it is still the lock we judged
    // stale; a racing process may have replaced it with a live one in the meantime.
    const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const moved = await readFile(aside, "utf8").catch(() => "");
    if (moved !== current.text) {
      // We moved someone's fresh lock: put it back (link fails rather than overwrite) and yield.
      await link(aside, path).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      const now = parseLockInfo(moved);
      throw new LockedError(now ? describeHolder(now, path) : `another autoresearch run is starting in this repository; try again`);
    }
    await unlink(aside).catch(() => undefined);
    if (await createExclusive(path, text)) return heldLock(path, text, holder ?? { pid: 0, host: "", command: "(unreadable lock)", started: "" });
  }
  throw new LockedError(`could not take ${path}: other processes keep taking it; try again`);
}

/** Reads and checks a lock file's JSON; undefined when it is not a lock. */
export function parseLockInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid !== "number" || typeof v.host !== "string" || typeof v.command !== "string" || typeof v.started !== "string") return undefined;
    return { pid: v.pid, host: v.host, command: v.command, started: v.started, ...(typeof v.campaign === "string" ? { campaign: v.campaign } : {}) };
  } catch {
    return undefined;
  }
}

function describeHolder(h: LockInfo, path: string): string {
  const what = [
    h.campaign !== undefined ? `campaign ${h.campaign}` : undefined,
    `pid ${h.pid}`,
    h.host !== hostname() ? `host ${h.host}` : undefined,
    `started ${h.started}`,
  ]
    .filter((s) => s !== undefined)
    .join(", ");
  if (h.host !== hostname()) {
    return `another autoresearch run is active in this repository (${what}); wait for it to finish or stop it on ${h.host}; if it is not running any more, delete ${path}`;
  }
  return `another autoresearch run is active in this repository (${what}); wait for it to finish or stop it (kill ${h.pid})`;
}

/** Whether the holder may still be running. A lock from another host cannot be checked: assume alive. */
function isAlive(h: LockInfo, path: string): boolean {
  if (h.host !== hostname()) return true;
  if (h.pid === process.pid) return heldHere.has(path);
  if (!Number.isInteger(h.pid) || h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function createExclusive(path: string, text: string): Promise<boolean> {
  let fh: import("node:fs/promises").FileHandle;
  try {
    fh = await open(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

async function readLock(path: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function heldLock(path: string, initialText: string, staleFrom: LockInfo | undefined): Lock {
  let text = initialText;
  let released = false;
  heldHere.add(path);
  const isOurs = (current: string | undefined) => current === text;
  // Best effort on a normal exit (process.exit, end of the event loop): must be synchronous.
  const onExit = () => {
    try {
      if (isOurs(readFileSync(path, "utf8"))) unlinkSync(path);
    } catch {
      // Already gone, or the folder was removed: nothing to release.
    }
  };
  process.on("exit", onExit);
  return {
    path,
    ...(staleFrom ? { staleFrom } : {}),
    async update(change) {
      if (released) throw new Error("lock already released");
      const info = parseLockInfo(text);
      if (!info) return;
      const next = `${JSON.stringify({ ...info, ...(change.campaign !== undefined ? { campaign: String(change.campaign) } : {}), ...(change.command !== undefined ? { command: change.command } : {}) })}\n`;
      const current = await readFile(path, "utf8").catch(() => undefined);
      if (!isOurs(current)) throw new LockedError(`the lock ${path} is no longer held by this process`);
      // Temp file + rename: a reader never sees a half-written lock.
      const tmp = `${path}.tmp-${process.pid}`;
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(next, "utf8");
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      text = next;
    },
    async release() {
      if (released) return;
      released = true;
      process.off("exit", onExit);
      heldHere.delete(path);
      const current = await readFile(path, "utf8").catch(() => undefined);
      if (isOurs(current)) await unlink(path).catch(() => undefined);
    },
  };
}
