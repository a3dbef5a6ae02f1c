import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockedError } from "../../src/errors.js";
import { acquireLock, type LockInfo } from "../../src/local/lock.js";

let base: string;
let n = 0;
const children: ChildProcess[] = [];
beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "ar-lock-test-")));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(base, { recursive: true, force: true });
});

function newRoot(): string {
  const root = join(base, `repo-${++n}`);
  mkdirSync(root);
  return root;
}
const lockPath = (root: string) => join(root, ".autoresearch/lock");
function writeLock(root: string, info: Partial<LockInfo>): LockInfo {
  const full: LockInfo = { pid: 1, host: hostname(), command: "autoresearch run", started: "2026-01-01T00:00:00.000Z", ...info };
  mkdirSync(join(root, ".autoresearch"), { recursive: true });
  writeFileSync(lockPath(root), `${JSON.stringify(full)}\n`);
  return full;
}
function readLockFile(root: string): LockInfo {
  return JSON.parse(readFileSync(lockPath(root), "utf8")) as LockInfo;
}

/** A node process that runs until killed, and the pid of one that has already exited. */
function sleeper(): ChildProcess {
  const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  children.push(c);
  return c;
}
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((done) => c.on("exit", done));
  return c.pid ?? -1;
}

describe("acquireLock", () => {
  it("writes who holds the lock, and refuses a second run while it is held", async () => {
    const root = newRoot();
    const lock = await acquireLock(root, { campaign: 3, command: "autoresearch run" });
    expect(lock.staleFrom).toBeUndefined();
    expect(readLockFile(root)).toEqual({
      pid: process.pid,
      host: hostname(),
      campaign: "3",
      command: "autoresearch run",
      started: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(readFileSync(join(root, ".autoresearch/.gitignore"), "utf8")).toBe("*\n");

    const err = await acquireLock(root, { command: "autoresearch run" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as Error).message).toBe(
      `another autoresearch run is active in this repository (campaign 3, pid ${process.pid}, started ${readLockFile(root).started}); wait for it to finish or stop it (kill ${process.pid})`,
    );
    await lock.release();
    expect(existsSync(lockPath(root))).toBe(false);
    const again = await acquireLock(root, { command: "autoresearch run" });
    expect(again.staleFrom).toBeUndefined();
    await again.release();
  });

  it("refuses while another live process on this host holds it", async () => {
    const root = newRoot();
    const holder = sleeper();
    writeLock(root, { pid: holder.pid ?? -1, campaign: "7" });
    await expect(acquireLock(root, { command: "autoresearch run" })).rejects.toThrow(
      new RegExp(`\\(campaign 7, pid ${holder.pid}, started 2026-01-01T00:00:00.000Z\\); wait for it to finish or stop it \\(kill ${holder.pid}\\)`),
    );
    expect(readLockFile(root).pid).toBe(holder.pid);
  });

  it("takes over a stale lock whose process is dead and says whose it was", async () => {
    const root = newRoot();
    const stale = writeLock(root, { pid: await deadPid(), campaign: "2" });
    const lock = await acquireLock(root, { campaign: "2", command: "autoresearch run --resume" });
    expect(lock.staleFrom).toEqual(stale);
    expect(readLockFile(root)).toMatchObject({ pid: process.pid, campaign: "2", command: "autoresearch run --resume" });
    await lock.release();
    expect(existsSync(lockPath(root))).toBe(false);
  });

  it("takes over a lock carrying this process's pid that this process does not hold (pid reuse)", async () => {
    const root = newRoot();
    writeLock(root, { pid: process.pid });
    const lock = await acquireLock(root, { command: "x" });
    expect(lock.staleFrom?.pid).toBe(process.pid);
    await lock.release();
  });

  it("cannot check a lock from another host, so refuses and says how to clear it", async () => {
    const root = newRoot();
    writeLock(root, { pid: 4242, host: "other-box" });
    await expect(acquireLock(root, { command: "x" })).rejects.toThrow(
      /pid 4242, host other-box, .*stop it on other-box; if it is not running any more, delete .*\.autoresearch\/lock/,
    );
  });

  it("waits for a lock being written, but takes over an old unreadable one", async () => {
    const root = newRoot();
    mkdirSync(join(root, ".autoresearch"));
    writeFileSync(lockPath(root), "");
    await expect(acquireLock(root, { command: "x" })).rejects.toThrow(/is being written/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPath(root), old, old);
    const lock = await acquireLock(root, { command: "x" });
    expect(lock.staleFrom).toBeDefined();
    await lock.release();
  });

  it("release leaves a lock that is no longer ours, and can be called twice", async () => {
    const root = newRoot();
    const lock = await acquireLock(root, { command: "x" });
    const other = writeLock(root, { pid: 99999, command: "someone else" });
    await lock.release();
    expect(readLockFile(root)).toEqual(other);
    await expect(lock.release()).resolves.toBeUndefined();
  });

  it("update records the campaign once known", async () => {
    const root = newRoot();
    const lock = await acquireLock(root, { command: "autoresearch run" });
    expect(readLockFile(root).campaign).toBeUndefined();
    await lock.update({ campaign: "5" });
    expect(readLockFile(root)).toMatchObject({ pid: process.pid, campaign: "5", command: "autoresearch run" });
    await expect(acquireLock(root, { command: "x" })).rejects.toThrow(/\(campaign 5, pid/);
    await lock.release();
    expect(existsSync(lockPath(root))).toBe(false);
  });

  it("is removed when the holder exits normally, and taken over after the holder is killed with SIGKILL", async () => {
    const modules = transpileLockModules();
    const run = (root: string, then: string) =>
      spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { acquireLock } from ${JSON.stringify(`${modules}/src/local/lock.js`)};
           await acquireLock(${JSON.stringify(root)}, { campaign: "9", command: "child" });
           console.log("locked");
           ${then}`,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
    const locked = (c: ChildProcess) => new Promise<void>((done) => c.stdout?.on("data", (d: Buffer) => d.toString().includes("locked") && done()));

    // Exits on its own without calling release(): the exit handler removes the lock.
    const rootA = newRoot();
    const a = run(rootA, "");
    const aExit = new Promise((done) => a.on("exit", done));
    await locked(a);
    expect(await aExit).toBe(0);
    expect(existsSync(lockPath(rootA))).toBe(false);

    // Killed: no handler runs, the lock stays; the next run sees a dead pid and takes over.
    const rootB = newRoot();
    const b = run(rootB, "setInterval(() => {}, 1000);");
    children.push(b);
    await locked(b);
    await expect(acquireLock(rootB, { command: "x" })).rejects.toThrow(new RegExp(`campaign 9, pid ${b.pid}`));
    const bExit = new Promise((done) => b.on("exit", done));
    b.kill("SIGKILL");
    await bExit;
    expect(readLockFile(rootB).pid).toBe(b.pid);
    const lock = await acquireLock(rootB, { command: "x" });
    expect(lock.staleFrom).toMatchObject({ pid: b.pid, campaign: "9", command: "child" });
    await lock.release();
  });
});

/** Plain Node cannot load TypeScript: transpile the lock and what it imports into a temporary folder. */
function transpileLockModules(): string {
  const repo = resolve(import.meta.dirname, "../..");
  const out = join(base, `js-${++n}`);
  for (const rel of ["src/errors.ts", "src/local/lock.ts", "src/local/paths.ts"]) {
    const js = ts.transpileModule(readFileSync(join(repo, rel), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = join(out, rel.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  symlinkSync(join(repo, "node_modules"), join(out, "node_modules"), "dir");
  return out;
}
