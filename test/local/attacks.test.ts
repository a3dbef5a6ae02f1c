/**
 * Issue 9's attacks, each the experiment's own code, against the local executor at every isolation
 * level: the recorded metric stays honest, and at the levels that promise it, the repository is
 * unchanged byte for byte, no secret is found and no process is left.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config.js";
import { LocalExecutor } from "../../src/local/executor.js";
import { runEnvironment } from "../../src/runner/env.js";
import { availableIsolation, type IsolationLevel } from "../../src/runner/isolation.js";
import { attackTrain, EVAL_PY, honestMetric, processesWith, snapshot } from "../fixtures/attack.js";

/** In CI every level must be available (.ci/run installs bubblewrap); elsewhere a missing one is skipped. */
const REQUIRED = process.env.CI === "true";
const SECRET = `sk-ant-test-${process.pid}-secret`;

let repo: string;
let token: string;
let holder: ReturnType<typeof spawn> | undefined;

function git(...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", ...args], { cwd: repo, encoding: "utf8" }).trim();
}

beforeAll(() => {
  // Another process of this user holding a secret in its environment (and so in its memory).
  holder = spawn("sleep", ["300"], { env: { PATH: process.env.PATH, HOLDER_KEY: SECRET }, stdio: "ignore" });
});
afterAll(() => {
  holder?.kill("SIGKILL");
});

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "attacks-repo-"));
  token = `tok${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  git("init", "-q", "-b", "main");
  await writeFile(join(repo, "train.mjs"), 'import { writeFileSync } from "node:fs";\nwriteFileSync("model.json", JSON.stringify({ w: 0.5 }));\n');
  await writeFile(join(repo, "eval.py"), EVAL_PY);
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  // A campaign's ledger, as the CLI keeps it in the repository.
  await mkdir(join(repo, ".autoresearch", "1"), { recursive: true });
  await writeFile(join(repo, ".autoresearch", "1", "events.jsonl"), '{"type":"campaign_started"}\n');
});

afterEach(async () => {
  for (const pid of processesWith(token)) process.kill(pid, "SIGKILL");
  await rm(repo, { recursive: true, force: true });
});

async function attackCommit(): Promise<string> {
  const base = git("rev-parse", "HEAD");
  await writeFile(join(repo, "train.mjs"), attackTrain({ repo, token, secretPrefix: SECRET.slice(0, 16), w: 0.5 }));
  git("commit", "-q", "-am", "attack");
  const commit = git("rev-parse", "HEAD");
  git("checkout", "-q", "--detach", base);
  git("checkout", "-q", "main");
  git("reset", "-q", "--hard", base);
  return commit;
}

function executor(level: IsolationLevel, outputs = ["model.json"]) {
  const config = parseConfig({
    metric: { name: "val_loss", goal: "minimize" },
    run: `${JSON.stringify(process.execPath)} train.mjs`,
    eval: "python3 eval.py",
    editable: ["train.mjs"],
    outputs,
    budget: { experiment_timeout: 30 },
  });
  return new LocalExecutor({ repoDir: repo, config, env: runEnvironment(process.env), graceSeconds: 0.5, isolation: level });
}

const LEVELS: IsolationLevel[] = ["sandbox", "user", "process", "none"];

describe.each(LEVELS)("an experiment whose code attacks, at isolation %s", (level) => {
  const available = availableIsolation(level) === level;

  it.skipIf(!available && !REQUIRED)("records the honest metric and leaves no process behind", async () => {
    const commit = await attackCommit();
    const base = git("rev-parse", "HEAD");
    const r = await executor(level).run({ campaign: "1", experiment: 1, commit, parent: base, seed: 1 }, new AbortController().signal);
    expect(r.isolation).toBe(level);
    expect(r.tail).toContain("attacks: ");
    // Not 0.000001 (a forged eval), not 1 (json.py shadowing json): what the model is worth.
    expect(r).toMatchObject({ status: "ok", metric: honestMetric(0.5) });
    // The setsid watcher and sleeper are gone once the run has returned.
    expect(processesWith(token)).toEqual([]);
  });

  if (level === "sandbox" || level === "user") {
    it.skipIf(!available && !REQUIRED)("leaves the repository byte for byte as it was, and finds no secret", async () => {
      const commit = await attackCommit();
      const base = git("rev-parse", "HEAD");
      const before = snapshot(repo);
      const ex = executor(level);
      for (const seed of [1, 2]) {
        const r = await ex.run({ campaign: "1", experiment: 1, commit, parent: base, seed }, new AbortController().signal);
        expect(r).toMatchObject({ status: "ok", metric: honestMetric(0.5) });
        expect(r.tail).toContain("attacks: none worked");
      }
      expect(snapshot(repo)).toEqual(before);
      expect(processesWith(token)).toEqual([]);
    });
  } else {
    // What these levels do not promise, shown by the same attack (so the tests above can fail).
    it.skipIf(!available && !REQUIRED)("cannot keep the run from the user's files or other processes' secrets (documented)", async () => {
      const commit = await attackCommit();
      const base = git("rev-parse", "HEAD");
      const before = snapshot(repo);
      const r = await executor(level).run({ campaign: "1", experiment: 1, commit, parent: base, seed: 1 }, new AbortController().signal);
      expect(r).toMatchObject({ status: "ok", metric: honestMetric(0.5) });
      expect(r.tail).toMatch(/attacks: .*git filter.*secrets .*environ:HOLDER_KEY/);
      expect(snapshot(repo)).not.toEqual(before);
    });
  }
});

describe("outputs", () => {
  it("refuses an output an interpreter would load as code (json.py beside eval.py), so it cannot shadow a module", async () => {
    const commit = await attackCommit();
    const base = git("rev-parse", "HEAD");
    // A user whose outputs glob is broad: json.py matches it.
    const r = await executor(availableIsolation("sandbox"), ["*"]).run(
      { campaign: "1", experiment: 1, commit, parent: base, seed: 1 },
      new AbortController().signal,
    );
    expect(r).toMatchObject({ status: "crash", metric: null });
    expect(r.reason).toMatch(/the output "json\.py" is not passed on: .*code/);
  });

  it("gives eval only the declared outputs, not what else the run left", async () => {
    await writeFile(join(repo, "eval.py"), 'import os\nprint("val_loss:", 2 if os.path.exists("leftover.txt") else 1)\n');
    await writeFile(
      join(repo, "train.mjs"),
      'import { writeFileSync } from "node:fs";\nwriteFileSync("model.json", "{}");\nwriteFileSync("leftover.txt", "x");\n',
    );
    git("commit", "-q", "-am", "base 2");
    const base = git("rev-parse", "HEAD");
    const r = await executor(availableIsolation("sandbox")).run(
      { campaign: "1", experiment: 0, commit: base, parent: base, seed: 1 },
      new AbortController().signal,
    );
    expect(r).toMatchObject({ status: "ok", metric: 1 });
  });
});
