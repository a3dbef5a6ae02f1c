/**
 * Issue 9's attacks against `autoresearch run`, as a user runs it (a spawned CLI on a temporary
 * repository, an API key in its environment), both as root (CI) and as an ordinary user (the
 * privileges dropped with setpriv): every attack is the campaign's own experiment code, from the
 * baseline on. Afterwards: every recorded metric is the honest one, the repository's git
 * configuration, hooks, attributes, refs and working tree are byte for byte as before, the ledger
 * holds only what the tool wrote, the secret appears nowhere, and no process is left.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { availableIsolation } from "../../src/runner/isolation.js";
import { attackTrain, EVAL_PY, FORGED_METRIC, honestMetric, processesWith, snapshot } from "../fixtures/attack.js";
import { BIN, ensureBuilt, tempRoot } from "./helpers.js";

const ROOT = process.getuid?.() === 0;
const REQUIRED = process.env.CI === "true";
const NOBODY = 65534;

const CONFIG = `metric:
  name: val_loss
  goal: minimize
run: node train.mjs
eval: python3 eval.py
editable: [train.mjs]
outputs: [model.json]
budget:
  experiment_timeout: 30s
  max_experiments: 2
  max_hours: 1
  parallel: 1
accept:
  repeats: 1
  baseline_repeats: 1
proposer:
  kind: mutate
  seed: 1
  knobs: [W]
`;

let root: Awaited<ReturnType<typeof tempRoot>>;
let token = "";
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("attacks");
  // The ordinary user's repository lies in here.
  await chmod(root.dir, 0o755);
});
afterAll(async () => {
  await root.cleanup();
});
afterEach(() => {
  if (token !== "") for (const pid of processesWith(token)) process.kill(pid, "SIGKILL");
  token = "";
});

/** What the campaign itself may change: objects, its branches and their logs, its ledger. */
function protectedPart(snap: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(snap).filter(
      ([p]) => !/^(\.git\/objects\/|\.git\/refs\/heads\/autoresearch\/|\.git\/logs\/|\.autoresearch\/)/.test(p) && p !== ".git/refs/heads/",
    ),
  );
}

async function campaign(asUser: number | undefined) {
  token = `tok${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const secret = `sk-ant-attack-${token}`;
  const repo = join(root.dir, `repo-${token}`);
  const tmp = join(root.dir, `tmp-${token}`);
  await mkdir(repo);
  await mkdir(tmp);
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "safe.directory=*", "-c", "user.name=T", "-c", "user.email=t@example.com", ...args], {
      cwd: repo,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  git("init", "-q", "-b", "main");
  await mkdir(join(repo, ".github"));
  await writeFile(join(repo, ".github", "autoresearch.yml"), CONFIG);
  await writeFile(join(repo, "train.mjs"), attackTrain({ repo, token, secretPrefix: secret.slice(0, 20), w: 0.5 }));
  await writeFile(join(repo, "eval.py"), EVAL_PY);
  await writeFile(join(repo, ".gitignore"), ".autoresearch/\n");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  if (asUser !== undefined) {
    execFileSync("chown", ["-R", `${asUser}:${asUser}`, repo, tmp]);
    // The new owner's stat data: the CLI's own `git status` would refresh the index otherwise.
    execFileSync("setpriv", [`--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", "git", "status", "--porcelain"], { cwd: repo, stdio: "ignore" });
  }
  const before = snapshot(repo);
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, TMPDIR: tmp, LANG: "C.UTF-8", CI: "1", NO_COLOR: "1", ANTHROPIC_API_KEY: secret };
  const [file, args] =
    asUser === undefined
      ? [process.execPath, [BIN, "run", "--json"]]
      : ["setpriv", [`--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", "--", process.execPath, BIN, "run", "--json"]];
  const child = spawn(file, args as string[], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.on("close", r));
  expect(code, out).toBe(0);
  const ledger = await readFile(join(repo, ".autoresearch", "campaigns", "1", "events.jsonl"), "utf8");
  const report = await readFile(join(repo, ".autoresearch", "campaigns", "1", "report.md"), "utf8");
  return { code, out, ledger, report, before, repo, secret, git };
}

describe.each([
  ["as root", undefined],
  ["as an ordinary user", NOBODY],
] as const)("autoresearch run whose experiments attack, %s", (_name, asUser) => {
  const possible = asUser === undefined ? availableIsolation("sandbox") === "sandbox" : ROOT;

  it.skipIf(!possible && !REQUIRED)("records only honest metrics, changes nothing of the repository and leaks nothing", { timeout: 120_000 }, async () => {
    const { code, out, ledger, report, before, repo, secret, git } = await campaign(asUser);
    expect(code, out).toBe(0);
    const events = ledger
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Runs a stop killed are recorded as cancelled: they measured nothing.
    const runs = events.filter((e) => e.type === "run_finished" && e.status !== "cancelled");
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const r of runs) {
      expect(r.isolation).toBe("sandbox");
      expect(r.tail).toContain("attacks: none worked");
      const w = Number(/const W = ([-\d.e]+);/.exec(git("show", `${r.commit}:train.mjs`))?.[1]);
      expect(r.status).toBe("ok");
      expect(r.metric).toBeCloseTo(honestMetric(w), 12);
      expect(r.metric).not.toBe(FORGED_METRIC);
    }
    expect(protectedPart(snapshot(repo))).toEqual(protectedPart(before));
    expect(git("replace", "-l")).toBe("");
    expect(() => git("config", "--get-regexp", "filter")).toThrow(/exit|status 1|Command failed/);
    for (const text of [out, ledger, report]) expect(text).not.toContain(secret);
    expect(report).toContain("## Isolation\n\nRuns: sandbox: sandboxed");
    expect(out).toMatch(/Isolation: +sandbox: sandboxed/);
    expect(processesWith(token)).toEqual([]);
  });
});
