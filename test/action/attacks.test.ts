/**
 * Issue 9's attacks against the bundled Action, each the experiment's own code (train.mjs of the
 * experiment commit), at every isolation level the runner can have: the recorded metric stays
 * honest, the runner's file commands cannot be forged, and at the levels that promise it the
 * workspace is unchanged byte for byte, no secret is found and no process is left.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseExperimentResult } from "../../src/core/result.js";
import { availableIsolation, type IsolationLevel } from "../../src/runner/isolation.js";
import { attackTrain, EVAL_PY, honestMetric, processesWith, snapshot } from "../fixtures/attack.js";
import { ensureBundled, makeRepo, runBundledAction, runnerLayout, tempDir } from "./helpers.js";

const REQUIRED = process.env.CI === "true";
const CONFIG = `metric:
  name: val_loss
  goal: minimize
run: node train.mjs
eval: python3 eval.py
editable: [train.mjs]
outputs: [model.json]
budget:
  experiment_timeout: 30s
`;

const cleanups: (() => Promise<void>)[] = [];
let token = "";
beforeAll(() => {
  ensureBundled();
});
afterEach(async () => {
  if (token !== "") for (const pid of processesWith(token)) process.kill(pid, "SIGKILL");
  token = "";
  for (const c of cleanups.splice(0)) await c();
});

async function attack(level: IsolationLevel, opts: { fileCommands?: boolean } = {}) {
  token = `tok${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const secret = `ghs_attacktest_${token}`;
  const t = await tempDir("attack");
  cleanups.push(t.cleanup);
  const work = await mkdtemp(join(tmpdir(), "autoresearch-runner-"));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const { fileEnv } = runnerLayout(work);
  const repoPath = join(t.dir, "repo");
  const train = attackTrain({ repo: repoPath, token, secretPrefix: secret, fileCommands: opts.fileCommands === false ? [] : Object.values(fileEnv), w: 0.5 });
  const repo = await makeRepo(
    t.dir,
    { ".github/autoresearch.yml": CONFIG, "train.mjs": 'require("fs").writeFileSync("model.json", "{\\"w\\": 0.5}")', "eval.py": EVAL_PY },
    { "train.mjs": train },
  );
  const before = snapshot(repo);
  const run = await runBundledAction({
    repo,
    work,
    inputs: { experiment: "attack", seed: "1", upload: "false", isolation: level },
    env: { GITHUB_TOKEN: secret, INPUT_TOKEN: secret },
  });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const result = parseExperimentResult(await readFile(run.outputs["result-path"] ?? "", "utf8"));
  return { run, result, repo, before, secret, fileEnv };
}

describe.each(["sandbox", "user", "process", "none"] as IsolationLevel[])("the bundled Action, when the experiment attacks, at isolation %s", (level) => {
  const available = availableIsolation(level) === level;

  it.skipIf(!available && !REQUIRED)("keeps the metric honest and the file commands unforged, and leaves no process", async () => {
    const { run, result, fileEnv } = await attack(level);
    expect(result.isolation).toBe(level);
    expect(result.tail).toContain("attacks: ");
    expect(run.githubEnv).toBe("");
    expect(run.githubPath).toBe("");
    expect(Object.keys(run.outputs).sort()).toEqual(["metric", "result-path", "seconds", "status"]);
    expect((await readdir(join(fileEnv.GITHUB_ENV ?? "", ".."))).sort()).toEqual(
      Object.values(fileEnv)
        .map((f) => f.split("/").at(-1))
        .sort(),
    );
    expect(processesWith(token)).toEqual([]);
    if (level === "sandbox" || level === "user") {
      expect(result).toMatchObject({ status: "ok", metric: honestMetric(0.5) });
    } else {
      // It reached the file commands: undone, and the run is not counted.
      expect(result).toMatchObject({ status: "crash", metric: null });
      expect(result.reason).toMatch(/wrote to the runner's file commands/);
      expect(result.tail).toMatch(/attacks: .*file commands/);
    }
    expect(run.summary).toContain(`| isolation | ${level}: `);
  });

  if (level === "sandbox" || level === "user") {
    it.skipIf(!available && !REQUIRED)("leaves the workspace byte for byte as it was and finds no secret", async () => {
      const { result, repo, before, secret, run } = await attack(level);
      expect(result.tail).toContain("attacks: none worked");
      expect(snapshot(repo)).toEqual(before);
      expect(run.stdout).not.toContain(secret);
    });
  } else {
    it.skipIf(!available && !REQUIRED)("cannot keep the run from the runner's secrets or the workspace (documented)", async () => {
      const { result, repo, before } = await attack(level);
      expect(result.tail).toMatch(/attacks: .*secrets .*environ:GITHUB_TOKEN/);
      expect(snapshot(repo)).not.toEqual(before);
    });

    it.skipIf(!available && !REQUIRED)("keeps the metric honest although the run reached the repository's git", async () => {
      const { result } = await attack(level, { fileCommands: false });
      expect(result.tail).toMatch(/attacks: .*git filter; git replace/);
      expect(result).toMatchObject({ status: "ok", metric: honestMetric(0.5) });
    });
  }
});

describe("the bundled Action on a self-hosted runner's layout", () => {
  it.skipIf(availableIsolation("sandbox") !== "sandbox" && !REQUIRED)(
    "hides the runner's credentials, other checkouts and RUNNER_TEMP from a sandboxed run",
    async () => {
      // Outside /tmp, which the sandbox replaces as a whole: <runner>/.credentials, <runner>/_work/...
      const runner = await mkdtemp(join("/var/tmp", "autoresearch-runner-"));
      cleanups.push(() => rm(runner, { recursive: true, force: true }));
      await chmod(runner, 0o755);
      await writeFile(join(runner, ".credentials"), "runner-oauth-secret\n", { mode: 0o644 });
      await mkdir(join(runner, "_work", "other-repo"), { recursive: true });
      await writeFile(join(runner, "_work", "other-repo", "secret.txt"), "other-checkout-secret\n", { mode: 0o644 });
      const t = await tempDir("layout");
      cleanups.push(t.cleanup);
      const train = `cat ${join(runner, ".credentials")} ${join(runner, "_work", "other-repo", "secret.txt")} 2>&1; ls ${join(runner, "_work", "_temp", "_runner_file_commands")} 2>&1; echo '{"w": 0.5}' > model.json`;
      const repo = await makeRepo(
        t.dir,
        {
          ".github/autoresearch.yml": CONFIG.replace("node train.mjs", "sh train.sh").replace("editable: [train.mjs]", "editable: [train.sh]"),
          "train.sh": "true\n",
          "eval.py": EVAL_PY,
        },
        { "train.sh": train },
      );
      for (const level of ["sandbox", "process"] as const) {
        const run = await runBundledAction({
          repo,
          work: join(runner, "_work"),
          inputs: { experiment: "layout", seed: "1", upload: "false", isolation: level },
        });
        expect(run.code, run.stdout + run.stderr).toBe(0);
        const result = parseExperimentResult(await readFile(run.outputs["result-path"] ?? "", "utf8"));
        if (level === "sandbox") {
          expect(result).toMatchObject({ status: "ok", isolation: "sandbox" });
          expect(result.tail).not.toContain("runner-oauth-secret");
          expect(result.tail).not.toContain("other-checkout-secret");
          expect(result.tail).not.toContain("set_env_");
        } else {
          // What the level does not promise, so the assertions above can fail.
          expect(result.tail).toContain("runner-oauth-secret");
          expect(result.tail).toContain("other-checkout-secret");
        }
      }
    },
  );
});
