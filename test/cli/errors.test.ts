/** What a user sees when the input is wrong or the experiment itself fails: exit 2 and a message that says what to fix. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, configYaml, ensureBuilt, hasStack, makeRepo, readLedger, tempRoot, trainScript } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("errors");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

/** The CLI's one-line error: `autoresearch: <message>` and nothing else on stderr. */
function expectOneLineError(stderr: string, message: string | RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).toHaveLength(1);
  if (typeof message === "string") expect(lines[0]).toBe(`autoresearch: ${message}`);
  else expect(lines[0]).toMatch(message);
}

describe("bad input: exit 2, a clear message, no stack trace unless --debug", { timeout: 60_000 }, () => {
  it("missing configuration: run and validate point to `autoresearch init`", async () => {
    const repo = await makeRepo(root.dir, "no-config", { "train.mjs": trainScript() });
    const run = await cli(root.dir, repo, ["run"]);
    expect(run.code).toBe(2);
    expectOneLineError(run.stderr, "no configuration at .github/autoresearch.yml; run `autoresearch init` to write one");
    expect(existsSync(join(repo, ".autoresearch", "campaigns")), "nothing recorded").toBe(false);
    const validate = await cli(root.dir, repo, ["validate"]);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain("run `autoresearch init` to write one");
    expect(hasStack(validate.stderr)).toBe(false);
  });

  it("invalid configuration: validate and run print the path of every bad key; --debug adds the stack", async () => {
    const bad = configYaml().replace("goal: minimize", "goal: smaller").concat("foo: 1\n");
    const repo = await makeRepo(root.dir, "invalid", { "train.mjs": trainScript(), ".github/autoresearch.yml": bad });
    const validate = await cli(root.dir, repo, ["validate"]);
    expect(validate.code).toBe(2);
    expect(validate.stdout).toContain("2 problems");
    expect(validate.stdout).toMatch(/^ {2}- metric\.goal: .*"minimize".*"maximize"/m);
    expect(validate.stdout).toMatch(/^ {2}- foo: unknown key$/m);

    const run = await cli(root.dir, repo, ["run"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^autoresearch: \.github\/autoresearch\.yml is invalid:$/m);
    expect(run.stderr).toMatch(/^ {2}- metric\.goal: /m);
    expect(run.stderr).toMatch(/^ {2}- foo: unknown key$/m);
    expect(hasStack(run.stderr)).toBe(false);

    const debug = await cli(root.dir, repo, ["--debug", "run"]);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toContain("- foo: unknown key");
    expect(hasStack(debug.stderr), debug.stderr).toBe(true);
  });

  it("an editable glob that matches no committed file", async () => {
    const repo = await makeRepo(root.dir, "glob", { "train.mjs": trainScript(), ".github/autoresearch.yml": configYaml({ editable: "src/**/*.py" }) });
    const problem = 'editable[0]: "src/**/*.py" matches no file committed at HEAD';
    const run = await cli(root.dir, repo, ["run"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(".github/autoresearch.yml does not fit this repository");
    expect(run.stderr).toContain(problem);
    expect(hasStack(run.stderr)).toBe(false);
    const validate = await cli(root.dir, repo, ["validate"]);
    expect(validate.code).toBe(2);
    expect(validate.stdout).toContain(`- ${problem}`);
  });

  it("a dirty working tree names the changed file", async () => {
    const repo = await makeRepo(root.dir, "dirty");
    await writeFile(join(repo, "train.mjs"), trainScript().replace("0.5", "0.3"));
    const run = await cli(root.dir, repo, ["run"]);
    expect(run.code).toBe(2);
    expectOneLineError(
      run.stderr,
      /^autoresearch: tracked files have uncommitted changes \(train\.mjs\); .*commit or stash them first \(untracked files do not stop a campaign\)$/,
    );
    expect(existsSync(join(repo, ".autoresearch", "campaigns", "1")), "nothing recorded").toBe(false);
    expect(existsSync(join(repo, ".autoresearch", "lock")), "lock released").toBe(false);
  });

  it("an input that is missing is named before anything runs", async () => {
    const repo = await makeRepo(root.dir, "no-input", {
      "train.mjs": trainScript(),
      ".github/autoresearch.yml": configYaml({ extra: "inputs: [data/, input.txt]\n" }),
    });
    await mkdir(join(repo, "data"));
    await writeFile(join(repo, "data", "x.csv"), "1\n");
    const run = await cli(root.dir, repo, ["run"]);
    expect(run.code, run.all).toBe(2);
    expectOneLineError(run.stderr, /^autoresearch: inputs: "input\.txt" is not in .*; every run needs it: create or download it there/);
    const validate = await cli(root.dir, repo, ["validate"]);
    expect(validate.code).toBe(2);
    expect(validate.stdout).toContain('- inputs: "input.txt" matches nothing in the repository folder; every run needs it');
    expect(existsSync(join(repo, ".autoresearch", "campaigns", "1")), "nothing recorded").toBe(false);
  });

  it("not a git repository", async () => {
    const dir = join(root.dir, "plain");
    await mkdir(dir);
    const run = await cli(root.dir, dir, ["run"]);
    expect(run.code).toBe(2);
    expectOneLineError(run.stderr, `not a git repository: ${dir}`);
  });
});

/** Whether a process with exactly this command line is still running. */
function processRunning(args: string): boolean {
  const ps = execFileSync("ps", ["-eo", "args="], { encoding: "utf8" });
  return ps.split("\n").some((l) => l.trim() === args);
}

describe("failed runs are recorded with their reason", { timeout: 60_000 }, () => {
  const failing = (name: string, run: string) =>
    makeRepo(root.dir, name, { "train.mjs": trainScript(), ".github/autoresearch.yml": configYaml({ run, maxExperiments: 2 }) });

  it("a run command that does not exist: the baseline failed, with the shell's message", async () => {
    const repo = await failing("not-found", "no-such-command-xyz --epochs 1");
    const r = await cli(root.dir, repo, ["run"]);
    expect(r.code, r.all).toBe(2);
    expect(r.stdout).toContain("campaign stopped: the baseline failed: run (seed 1) crashed: the run command exited with code 127");
    expect(r.stdout).toMatch(/no-such-command-xyz: (command )?not found/);
    expect(r.stdout).toContain('Hint: command not found: "no-such-command-xyz" is not installed or not on the PATH');
    const report = await readFile(join(repo, ".autoresearch", "campaigns", "1", "report.md"), "utf8");
    expect(report).toContain("## Why the baseline failed");
    expect(report).toMatch(/no-such-command-xyz: (command )?not found/);
    expect(report).toContain("**Hint:** command not found");
    // The runs the stop killed are recorded as cancelled; the one that finished is the crash.
    const finished = (await readLedger(repo)).filter((e) => e.type === "run_finished" && e.status !== "cancelled");
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ experiment: 0, status: "crash", exit_code: 127 });
    expect(finished[0]?.tail).toMatch(/no-such-command-xyz: (command )?not found/);
  });

  it("a run that prints no metric", async () => {
    const repo = await failing("no-metric", "node -e \"console.log('training done')\"");
    const r = await cli(root.dir, repo, ["run"]);
    expect(r.code, r.all).toBe(2);
    expect(r.stdout).toContain("campaign stopped: the baseline failed: run (seed 1) printed no metric");
    expect(r.stdout).toContain('no line "loss: <number>" in the output');
    expect((await readLedger(repo)).find((e) => e.type === "run_finished")).toMatchObject({ status: "no_metric", metric: null });
  });

  it("a baseline that uses most of the time box is a warning with a suggested value, as soon as it is measured and at the end", async () => {
    const repo = await makeRepo(root.dir, "slow", {
      "train.mjs": trainScript(2600),
      ".github/autoresearch.yml": configYaml({ maxExperiments: 1, parallel: 1, timeout: "4s" }),
    });
    const r = await cli(root.dir, repo, ["run", "--no-progress"]);
    expect(r.code, r.all).toBe(0);
    const warnings = r.stdout.split("\n").filter((l) => /the baseline took [23]\.\d s, [6-9]\d% of the time box \(budget\.experiment_timeout: 4s\)/.test(l));
    expect(warnings, r.stdout).toHaveLength(2);
    expect(warnings[0]).toMatch(/^warning: .*Suggested: experiment_timeout: 10s$/);
    expect(warnings[1]).toMatch(/^Warning: /);
  });

  it("a hanging run is killed at --timeout and reported as timed out", async () => {
    // A duration of its own, so a concurrent test run's sleeper is not mistaken for this one's.
    const sleeper = `sleep 97.${process.pid}`;
    const repo = await failing("hang", sleeper);
    const r = await cli(root.dir, repo, ["run", "--timeout", "2s"], { timeoutMs: 30_000 });
    expect(r.code, r.all).toBe(2);
    expect(r.ms).toBeLessThan(20_000);
    expect(r.stdout).toContain("time box 2s");
    expect(r.stdout).toMatch(/campaign stopped: the baseline failed: run \(seed 1\) timed out/);
    expect(r.stdout).toContain("Hint: time box too small");
    expect((await readLedger(repo)).find((e) => e.type === "run_finished")).toMatchObject({ status: "timeout" });
    expect(processRunning(sleeper), "the run's process is killed, not orphaned").toBe(false);
  }, 60_000);
});
