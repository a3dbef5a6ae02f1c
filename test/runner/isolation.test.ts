/**
 * Each way the runner finds and kills every process of a command (cgroup, pid namespace,
 * environment marker), what each isolation level lets a command see, and the last deadline
 * after SIGKILL.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config.js";
import { type ExecResult, runBounded } from "../../src/runner/exec.js";
import { runExperiment } from "../../src/runner/experiment.js";
import { availableIsolation, detectIsolation, type IsolationRequest } from "../../src/runner/isolation.js";
import { processesWith } from "../fixtures/attack.js";

const REQUIRED = process.env.CI === "true";
const ROOT = process.getuid?.() === 0;
let dir: string;
let token: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "isolation-test-"));
  // Runs of another user (root's sandbox and user levels) work here too.
  await chmod(dir, 0o777);
  token = String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
});
afterEach(async () => {
  for (const pid of processesWith(`1009.${token}`)) process.kill(pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** Runs `command` under `req`, as runExperiment would. */
async function run(command: string, req: IsolationRequest): Promise<{ result: ExecResult; level: string }> {
  const iso = detectIsolation(req);
  const launch = iso.launch({ command, cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, writable: [dir] });
  try {
    const result = await runBounded({ command, cwd: dir, env: launch.env, launch, timeoutSeconds: 20, graceSeconds: 0.3 });
    return { result, level: iso.level };
  } finally {
    launch.scope.dispose();
  }
}

/** A sleeper that leaves the process group and clears its environment (so no marker is left on it). */
const escaper = () => `setsid env -i sleep 1009.${token} </dev/null >/dev/null 2>&1 & sleep 0.3; echo started`;
/** A sleeper that only leaves the process group. */
const leaver = () => `setsid sleep 1009.${token} </dev/null >/dev/null 2>&1 & echo started`;

const hasCgroup = detectIsolation({ max: "process" }).containment.includes("cgroup");

describe("finding every process of a command", () => {
  it.skipIf(!hasCgroup && !REQUIRED)("a cgroup: kills one that left the group and cleared its environment", async () => {
    const { result } = await run(escaper(), { max: "process" });
    expect(result.tail).toContain("started");
    expect(processesWith(`1009.${token}`)).toEqual([]);
  });

  it.skipIf(availableIsolation("sandbox") !== "sandbox" && !REQUIRED)(
    "a pid namespace: kills one that left the group and cleared its environment, without a cgroup",
    async () => {
      const { result, level } = await run(escaper(), { max: "sandbox", noCgroup: true });
      expect(level).toBe("sandbox");
      expect(result.tail).toContain("started");
      expect(processesWith(`1009.${token}`)).toEqual([]);
    },
  );

  it("the environment marker: kills one that left the group, without a cgroup", async () => {
    const { result, level } = await run(leaver(), { max: "none", noCgroup: true });
    expect(level).toBe("none");
    expect(result.tail).toContain("started");
    expect(processesWith(`1009.${token}`)).toEqual([]);
  });

  it("the environment marker alone misses one that cleared its environment: why that level is none", async () => {
    await run(escaper(), { max: "none", noCgroup: true });
    expect(processesWith(`1009.${token}`)).toHaveLength(1);
  });
});

describe("what a command sees", () => {
  it.skipIf(availableIsolation("sandbox") !== "sandbox" && !REQUIRED)(
    "in the sandbox: only its own processes, and no folder but its own to write",
    async () => {
      const { result } = await run(
        `ls /proc | grep -c '^[0-9]' ; touch ${JSON.stringify(join(tmpdir(), `escape-${token}`))} 2>/dev/null && echo wrote-tmp; touch inside && echo wrote-own`,
        {
          max: "sandbox",
        },
      );
      const [count] = result.tail.trim().split("\n");
      // sh, ls and grep (and bubblewrap's init): nothing of the host.
      expect(Number(count)).toBeLessThan(8);
      expect(result.tail).toContain("wrote-own");
      // /tmp is private: the file landed in the sandbox's own /tmp, not the host's.
      await expect(rm(join(tmpdir(), `escape-${token}`))).rejects.toThrow(/ENOENT/);
    },
  );

  it.skipIf(availableIsolation("sandbox") !== "sandbox" && !REQUIRED)("in the sandbox: hidden folders and the credential files of HOME are empty", async () => {
    // Outside /tmp, which the sandbox replaces as a whole.
    const secrets = await mkdtemp(join("/var/tmp", "isolation-secrets-"));
    try {
      await chmod(secrets, 0o755);
      await writeFile(join(secrets, "ledger.jsonl"), "secret-ledger\n", { mode: 0o644 });
      await mkdir(join(secrets, "home"), { mode: 0o755 });
      await writeFile(join(secrets, "home", ".netrc"), "machine x password secret-netrc\n", { mode: 0o644 });
      await writeFile(join(secrets, "home", "notes.txt"), "visible\n", { mode: 0o644 });
      const { result } = await run(`cat ${join(secrets, "ledger.jsonl")} ${join(secrets, "home", ".netrc")} ${join(secrets, "home", "notes.txt")} 2>&1`, {
        max: "sandbox",
        hide: [join(secrets, "ledger.jsonl")],
        home: join(secrets, "home"),
      });
      expect(result.tail).toContain("visible");
      expect(result.tail).not.toContain("secret-ledger");
      expect(result.tail).not.toContain("secret-netrc");
    } finally {
      await rm(secrets, { recursive: true, force: true });
    }
  });

  it.skipIf(!ROOT && !REQUIRED)("as another user: not root, and no other process's environment to read", async () => {
    const { result, level } = await run("id -u; cat /proc/1/environ >/dev/null 2>&1 && echo read-environ || echo denied", { max: "user" });
    expect(level).toBe("user");
    expect(result.tail).toMatch(/^65534\ndenied$/m);
  });
});

describe("the deadline after SIGKILL", () => {
  // A process in uninterruptible sleep (a hung GPU driver call) ignores SIGKILL, and no test can
  // make one: the probe below reports such a process alive forever, as the kernel would.
  const stuckProbe = (real: () => number[]) => [...real(), 424242];

  it("gives up on processes that do not die, reports them, and returns within the deadline", async () => {
    const started = performance.now();
    const result = await runBounded({ command: "sleep 30", cwd: dir, timeoutSeconds: 0.3, graceSeconds: 0.2, killDeadlineSeconds: 0.5, livePids: stuckProbe });
    const seconds = (performance.now() - started) / 1000;
    expect(result).toMatchObject({ timedOut: true, stuck: [424242] });
    expect(seconds).toBeLessThan(0.3 + 0.2 + 0.5 + 1);
  });

  it("records the run as timeout with the stuck pids in its reason, and the next run goes on", async () => {
    const config = parseConfig({ metric: { name: "m", goal: "minimize" }, run: "echo m: 1", editable: ["x"], budget: { experiment_timeout: 5 } });
    const r = await runExperiment({ cwd: dir, config, seed: 1, graceSeconds: 0.1, killDeadlineSeconds: 0.3, livePids: stuckProbe });
    expect(r.status).toBe("timeout");
    expect(r.reason).toContain("424242");
    expect(r.reason).toMatch(/did not die after SIGKILL/);
    const next = await runExperiment({ cwd: dir, config, seed: 2 });
    expect(next).toMatchObject({ status: "ok", metric: 1 });
  });
});
