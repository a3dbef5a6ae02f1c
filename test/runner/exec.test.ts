import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBounded } from "../../src/runner/exec.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "exec-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Alive and not a zombie (orphans may stay zombies where PID 1 does not reap them). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    if (process.platform === "linux") return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readPid(name: string): Promise<number> {
  const pid = Number((await readFile(join(dir, name), "utf8")).trim());
  expect(pid).toBeGreaterThan(1);
  return pid;
}

/** A background child that ignores SIGTERM (the ignore is inherited by its own children). */
const STUBBORN = `sh -c 'trap "" TERM; echo $$ > stubborn.pid; while :; do sleep 0.05; done' &`;

describe("runBounded", () => {
  it("returns the exit code and the combined output", async () => {
    const r = await runBounded({ command: "echo out; echo err >&2; exit 3", cwd: dir, timeoutSeconds: 10 });
    expect(r).toMatchObject({ exitCode: 3, signal: null, timedOut: false, cancelled: false });
    expect(r.tail).toContain("out\n");
    expect(r.tail).toContain("err\n");
    expect(r.spawnError).toBeUndefined();
  });

  it("passes cwd and env", async () => {
    const r = await runBounded({ command: 'pwd; echo "v=$MY_VAR"', cwd: dir, env: { PATH: process.env.PATH, MY_VAR: "42" }, timeoutSeconds: 10 });
    expect(r.exitCode).toBe(0);
    expect(r.tail).toContain(`v=42`);
    expect(r.tail).toContain(dir.split("/").at(-1));
  });

  it("reports a missing command as exit 127 with the shell's message", async () => {
    const r = await runBounded({ command: "definitely-not-a-command-xyz --flag", cwd: dir, timeoutSeconds: 10 });
    expect(r.exitCode).toBe(127);
    expect(r.tail).toMatch(/definitely-not-a-command-xyz.*not found/);
  });

  it("reports a spawn failure as a value, not a throw", async () => {
    const r = await runBounded({ command: "true", cwd: join(dir, "missing"), timeoutSeconds: 10 });
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toMatch(/ENOENT/);
  });

  it("kills the whole group on timeout, SIGTERM-ignoring grandchildren included, within timeout + grace", async () => {
    const command = `sleep 1000 & echo $! > bg.pid; ${STUBBORN} echo started; wait`;
    const r = await runBounded({ command, cwd: dir, timeoutSeconds: 0.6, graceSeconds: 0.5 });
    expect(r.timedOut).toBe(true);
    expect(r.cancelled).toBe(false);
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe("SIGTERM");
    expect(r.tail).toContain("started");
    // The stubborn child needed the SIGKILL after the grace period...
    expect(r.seconds).toBeGreaterThanOrEqual(1.0);
    // ...and nothing waited much longer than that.
    expect(r.seconds).toBeLessThan(0.6 + 0.5 + 1.5);
    const pids = [await readPid("bg.pid"), await readPid("stubborn.pid")];
    for (const pid of pids) expect(alive(pid), `pid ${pid} still alive`).toBe(false);
  });

  it("kills processes left in the background after a normal exit", async () => {
    const command = `sleep 1000 & echo $! > bg.pid; ${STUBBORN} while [ ! -s stubborn.pid ]; do sleep 0.01; done; echo done`;
    const r = await runBounded({ command, cwd: dir, timeoutSeconds: 30, graceSeconds: 0.3 });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false });
    expect(r.tail).toContain("done");
    expect(r.seconds).toBeLessThan(3);
    for (const pid of [await readPid("bg.pid"), await readPid("stubborn.pid")]) expect(alive(pid), `pid ${pid} still alive`).toBe(false);
  });

  it("stops the group when the signal aborts", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await runBounded({ command: "sleep 1000 & echo $! > bg.pid; wait", cwd: dir, timeoutSeconds: 30, graceSeconds: 1, signal: ac.signal });
    expect(r).toMatchObject({ cancelled: true, timedOut: false, exitCode: null });
    expect(r.seconds).toBeLessThan(2);
    expect(alive(await readPid("bg.pid"))).toBe(false);
  });

  it("runs nothing when the signal is already aborted", async () => {
    const r = await runBounded({ command: "touch ran", cwd: dir, timeoutSeconds: 10, signal: AbortSignal.abort() });
    expect(r).toMatchObject({ cancelled: true, exitCode: null, seconds: 0, tail: "" });
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("keeps only a bounded tail of a 50 MB output", async () => {
    const r = await runBounded({ command: "head -c 50000000 /dev/zero | tr '\\0' a; echo; echo END", cwd: dir, timeoutSeconds: 30, tailBytes: 8192 });
    expect(r.exitCode).toBe(0);
    expect(Buffer.byteLength(r.tail)).toBeLessThanOrEqual(8192);
    expect(Buffer.byteLength(r.tail)).toBeGreaterThan(8000);
    expect(r.tail.endsWith("a\nEND\n")).toBe(true);
  });

  it("does not hold the output in memory", async () => {
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }, 5);
    const r = await runBounded({ command: "head -c 150000000 /dev/zero", cwd: dir, timeoutSeconds: 30, tailBytes: 8192 });
    clearInterval(sampler);
    expect(r.exitCode).toBe(0);
    expect(r.tail.length).toBe(8192);
    // Buffering the output would hold 150 MB at once. Discarded chunks wait for the GC, so a
    // bounded buffer still shows some tens of MB here: hence the large margin.
    expect(peak, `peak external memory ${peak}`).toBeLessThan(100_000_000);
  });

  it("cuts the tail on a character boundary", async () => {
    // "é" is 2 bytes: an odd tail size must not leave half a character at the start.
    const r = await runBounded({ command: `i=0; while [ $i -lt 100 ]; do printf 'é'; i=$((i+1)); done`, cwd: dir, timeoutSeconds: 10, tailBytes: 11 });
    expect(r.tail).toBe("ééééé");
  });
});
