/**
 * The bundled Action (dist/action/index.js) run as a process in a runner-like environment, on
 * temporary git repositories, uploading to a loopback artifact service.
 */
import { existsSync, readdirSync } from "node:fs";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseExperimentResult, trustedArtifactId } from "../../src/core/result.js";
import { processesWith } from "../fixtures/attack.js";
import {
  type ActionRun,
  activeCommands,
  ensureBundled,
  type FakeArtifactService,
  gitIn,
  makeRepo,
  PACKAGE_ROOT,
  runBundledAction,
  startArtifactService,
  tempDir,
  unzip,
} from "./helpers.js";

/** A small task: train.sh (editable) writes out.txt, eval.sh (locked) prints "score: <n>". */
const CONFIG = (extra = "") => `metric:
  name: score
  goal: minimize
run: sh train.sh
eval: sh eval.sh
editable: [train.sh]
outputs: [out.txt]
budget:
  experiment_timeout: ${extra.includes("timeout:") ? extra.replace(/^.*timeout:\s*/, "") : "20s"}
`;
const EVAL = 'echo "score: $(cat out.txt)"\n';
const base = (train = "echo 5 > out.txt\n", config = CONFIG()) => ({ ".github/autoresearch.yml": config, "train.sh": train, "eval.sh": EVAL });

let service: FakeArtifactService;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ensureBundled();
  service = await startArtifactService();
});
afterAll(async () => {
  await service.close();
});
afterEach(async () => {
  expect(service.unexpected).toEqual([]);
  for (const c of cleanups.splice(0)) await c();
});

async function repoWith(b: Record<string, string>, exp: Record<string, string | null>): Promise<string> {
  const t = await tempDir("repo");
  cleanups.push(t.cleanup);
  return makeRepo(t.dir, b, exp);
}

async function resultOf(run: ActionRun) {
  const path = run.outputs["result-path"];
  expect(path, `no result-path output; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBeTruthy();
  const text = await readFile(path!, "utf8");
  return { text, result: parseExperimentResult(text) };
}

/**
 * The commands the runner would act on, other than the Action's own: grouping, the fence, the
 * artifact client's debug lines, and its warning about a failed status.
 */
function foreignCommands(run: ActionRun) {
  return activeCommands(run.stdout).filter(
    (c) =>
      !(
        ["group", "endgroup", "debug"].includes(c.command) ||
        (c.command === "stop-commands" && /^::stop-commands::autoresearch-[0-9a-f]{32}$/.test(c.line)) ||
        (c.command === "add-mask" && c.line === "::add-mask::fake-signature") ||
        (c.command === "warning" && /^::warning::experiment [\w.-]+, seed -?\d+: \w+$/.test(c.line))
      ),
  );
}

describe("the bundled Action", () => {
  it("runs a good experiment on the example: result.json, outputs, summary, artifact", async () => {
    const example = join(PACKAGE_ROOT, "examples", "tiny-regression");
    const t = await tempDir("example");
    cleanups.push(t.cleanup);
    const repo = join(t.dir, "repo");
    await cp(example, repo, { recursive: true });
    gitIn(repo, "init", "-q", "-b", "main");
    gitIn(repo, "add", "-A");
    gitIn(repo, "commit", "-q", "-m", "base");
    const train = await readFile(join(repo, "train.mjs"), "utf8");
    await import("node:fs/promises").then((fs) =>
      fs.writeFile(join(repo, "train.mjs"), train.replace("const LEARNING_RATE = 0.002;", "const LEARNING_RATE = 0.004;")),
    );
    gitIn(repo, "commit", "-q", "-am", "experiment: higher learning rate");

    const run = await runBundledAction({
      repo,
      inputs: { experiment: "12-3", seed: "7" },
      resultsUrl: service.url,
      env: { AUTORESEARCH_TIME_BUDGET_S: "0.5" },
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { text, result } = await resultOf(run);
    expect(result).toMatchObject({
      version: 1,
      experiment: "12-3",
      seed: 7,
      status: "ok",
      timed_out: false,
      exit_code: 0,
      reason: "",
      commit: gitIn(repo, "rev-parse", "HEAD"),
      parent: gitIn(repo, "rev-parse", "HEAD^"),
      runner: { name: "test-runner", os: "Linux", arch: "X64" },
    });
    expect(result.metric).toBeGreaterThan(0);
    expect(result.tail).toContain("seed 7");
    expect(result.seconds).toBeGreaterThan(0);
    if (process.platform === "linux") expect(result.peak_memory_mb).toBeGreaterThan(1);
    expect(run.outputs).toMatchObject({ status: "ok", metric: String(result.metric), seconds: String(result.seconds) });
    // Written under RUNNER_TEMP, in a folder of its own.
    expect(run.outputs["result-path"]?.startsWith(join(run.runnerTemp, "autoresearch-result-"))).toBe(true);
    expect(run.summary).toContain("seed 7: ok");
    expect(run.summary).toContain(String(result.metric));
    expect(foreignCommands(run)).toEqual([]);

    const artifact = service.artifacts.find((a) => a.name === "autoresearch-result-12-3-7");
    expect(artifact).toBeDefined();
    expect(artifact?.finalized).toBe(true);
    expect(artifact?.authorization).toMatch(/^Bearer /);
    expect(artifact?.backendIds).toEqual({ run: "run-backend-1", job: "job-backend-2" });
    expect(unzip(artifact!.blob).get("result.json")?.toString("utf8")).toBe(text);
    // The job's own log names the artifact it uploaded: how a reader finds the trusted result.
    expect(trustedArtifactId(run.stdout, "autoresearch-result-12-3-7")).toBe(service.artifacts.indexOf(artifact!) + 1);
  });

  it("fails, naming no trusted artifact, when the result's name was taken first (training uploading with a stolen token)", async () => {
    const repo = await repoWith(base(), { "train.sh": "echo 2 > out.txt\n" });
    // What a training job holding the runtime token could have uploaded before the evaluation.
    service.artifacts.push({
      name: "autoresearch-result-taken-1",
      blob: Buffer.from("forged"),
      finalized: true,
      authorization: "Bearer x",
      backendIds: { run: "run-backend-1", job: "job-backend-0" },
    });
    const run = await runBundledAction({ repo, inputs: { experiment: "taken", seed: "1" }, resultsUrl: service.url });
    expect(run.code).not.toBe(0);
    expect(trustedArtifactId(run.stdout, "autoresearch-result-taken-1")).toBeUndefined();
    expect(activeCommands(run.stdout).filter((c) => c.command === "error")).toHaveLength(1);
  });

  it("kills a run that hangs within the time box plus 5 s, grandchildren included", async () => {
    // Found by a token in their command lines: the run's folder is gone afterwards, and in a
    // sandbox its pids are not the host's.
    const token = String(Date.now() % 1_000_000).padStart(6, "0");
    const train = `sh -c 'trap "" TERM; sleep 1000.${token}' &
node -e 'const c = require("child_process").spawn("sleep", ["1000.${token}"], { stdio: "ignore" }); process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)' ${token} &
sleep 1000.${token}
`;
    const repo = await repoWith(base("echo 5 > out.txt\n", CONFIG("timeout: 2s")), { "train.sh": train });
    const run = await runBundledAction({ repo, inputs: { experiment: "hang", seed: "1", upload: "false" } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.seconds).toBeLessThan(2 + 5);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "timeout", timed_out: true, metric: null });
    expect(processesWith(`1000.${token}`)).toEqual([]);
    expect(processesWith(token)).toEqual([]);
    expect(run.outputs).toMatchObject({ status: "timeout", metric: "" });
  });

  it("rejects a commit that touches locked files before anything runs", async () => {
    const repo = await repoWith(base(), {
      "train.sh": "touch ran.marker\necho 1 > out.txt\n",
      "eval.sh": 'echo "score: 0"\n',
      ".github/autoresearch.yml": CONFIG().replace("editable: [train.sh]", "editable: [train.sh, eval.sh]"),
    });
    const run = await runBundledAction({ repo, inputs: { experiment: "bad", seed: "2" }, resultsUrl: service.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { text, result } = await resultOf(run);
    expect(result).toMatchObject({ status: "rejected", metric: null, exit_code: null, seconds: 0, tail: "" });
    expect(result.reason).toContain("eval.sh");
    expect(result.reason).toContain(".github/autoresearch.yml");
    expect(existsSync(join(repo, "ran.marker"))).toBe(false);
    expect(existsSync(join(repo, "out.txt"))).toBe(false);
    expect(run.outputs.status).toBe("rejected");
    const artifact = service.artifacts.find((a) => a.name === "autoresearch-result-bad-2");
    expect(unzip(artifact!.blob).get("result.json")?.toString("utf8")).toBe(text);
  });

  it("gives the experiment no credentials, file commands or workflow commands", async () => {
    const train = `echo "names: $(env | cut -d= -f1 | tr '\\n' ' ')"
env | grep -c -e ghs_secret -e oidc-secret -e sk-ant-secret | sed 's/^/secret values seen: /'
echo "::set-output name=metric::0"
echo "::set-output name=status::ok"
echo "::add-mask::score"
echo "::error::the experiment failed the step"
echo "::stop-commands::x"
echo "::x::"
echo "::error::after a fence of its own"
echo "  ::warning::indented"
echo "##[set-output name=metric;]0"
echo "metric=0" >> "$GITHUB_OUTPUT"
echo "PWNED=1" >> "$GITHUB_ENV"
echo "/tmp/pwned" >> "$GITHUB_PATH"
echo 4 > out.txt
`;
    const repo = await repoWith(base(), { "train.sh": train });
    const run = await runBundledAction({
      repo,
      inputs: { experiment: "inject", seed: "3" },
      resultsUrl: service.url,
      env: { ANTHROPIC_API_KEY: "sk-ant-secret" },
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "ok", metric: 4 });
    expect(run.outputs).toMatchObject({ status: "ok", metric: "4" });
    expect(Object.keys(run.outputs).sort()).toEqual(["metric", "result-path", "seconds", "status"]);
    expect(run.githubEnv).toBe("");
    expect(run.githubPath).toBe("");
    // The child's lines reached the log, but only inside the fence.
    expect(run.stdout).toContain("::set-output name=metric::0");
    expect(foreignCommands(run)).toEqual([]);

    const names = (/^names: (.*)$/m.exec(result.tail)?.[1] ?? "").trim().split(" ");
    expect(names).toContain("PATH");
    for (const withheld of [
      "ACTIONS_RUNTIME_TOKEN",
      "ACTIONS_RESULTS_URL",
      "ACTIONS_CACHE_URL",
      "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
      "ACTIONS_ID_TOKEN_REQUEST_URL",
      "GITHUB_TOKEN",
      "GITHUB_OUTPUT",
      "GITHUB_ENV",
      "GITHUB_PATH",
      "GITHUB_STATE",
      "GITHUB_STEP_SUMMARY",
      "ANTHROPIC_API_KEY",
    ])
      expect(names).not.toContain(withheld);
    expect(names.filter((n) => n?.startsWith("INPUT_"))).toEqual([]);
    expect(names).toContain("AUTORESEARCH_SEED");
    expect(result.tail).toContain("secret values seen: 0");
  });

  it("writes result.json only after a background process the run left behind is gone", async () => {
    // The leftover ignores SIGTERM and keeps trying to overwrite any result.json under RUNNER_TEMP.
    const train = `echo 6 > out.txt
( trap "" TERM; while true; do for f in "$RUNNER_TEMP"/*/result.json "$RUNNER_TEMP"/result.json; do echo forged > "$f" 2>/dev/null; done; sleep 0.1; done ) &
echo "left $! behind"
`;
    const repo = await repoWith(base(), { "train.sh": train });
    const run = await runBundledAction({ repo, inputs: { experiment: "bg", seed: "4" }, resultsUrl: service.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const first = await resultOf(run);
    await new Promise((r) => setTimeout(r, 1500));
    const again = await resultOf(run);
    expect(again.text).toBe(first.text);
    expect(first.result).toMatchObject({ status: "ok", metric: 6 });
    const artifact = service.artifacts.find((a) => a.name === "autoresearch-result-bg-4");
    expect(unzip(artifact!.blob).get("result.json")?.toString("utf8")).toBe(first.text);
    // The leftover wrote nowhere: its own file at RUNNER_TEMP/result.json was never created after the run.
    expect(readdirSync(run.runnerTemp).filter((f) => f.startsWith("autoresearch-result-"))).toHaveLength(1);
  });

  it.each([
    ["a metric that is not a number", "run", 'echo "score: abc"\n'],
    ["no metric at all", "run", 'echo "done"\n'],
    ["a metric that is not a number", "eval", 'echo "score: abc"\n'],
    ["no metric at all", "eval", 'echo "done"\n'],
  ])("gives no_metric for %s (mode %s)", async (_, mode, evalScript) => {
    const repo = await repoWith(base(), { "train.sh": "echo 1 > out.txt\n" });
    // eval.sh is locked: change it in the base, where the parent's locked files come from.
    gitIn(repo, "checkout", "-q", "HEAD^");
    await import("node:fs/promises").then((fs) => fs.writeFile(join(repo, "eval.sh"), evalScript));
    gitIn(repo, "commit", "-q", "-am", "base with another eval");
    const parent = gitIn(repo, "rev-parse", "HEAD");
    gitIn(repo, "cherry-pick", "main");
    // Mode eval gets its training output from elsewhere, as the strict template places it.
    if (mode === "eval") await writeFile(join(repo, "out.txt"), "1\n");
    const run = await runBundledAction({ repo, inputs: { experiment: "nm", seed: "5", parent, upload: "false", mode } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "no_metric", metric: null, exit_code: 0 });
    expect(result.mode).toBe(mode === "eval" ? "eval" : undefined);
    expect(result.tail).toContain("--- eval: exit 0");
    expect(result.reason).toContain("score");
    expect(run.outputs).toMatchObject({ status: "no_metric", metric: "" });
  });

  it("never reads a metric file that run wrote and eval did not (mode run)", async () => {
    const config = CONFIG()
      .replace("  goal: minimize\n", "  goal: minimize\n  file: metrics.json\n")
      .replace("outputs: [out.txt]", "outputs: [out.txt, metrics.json]");
    const repo = await repoWith(base("echo 1 > out.txt\n", config), { "train.sh": `echo 1 > out.txt\necho '{"score": 0.001}' > metrics.json\n` });
    const run = await runBundledAction({ repo, inputs: { experiment: "stale", seed: "1", upload: "false" } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "no_metric", metric: null, reason: 'metric file "metrics.json" was not written' });
  });

  it("gives crash with the shell's error in the tail for a command that does not exist", async () => {
    const config = CONFIG().replace("run: sh train.sh", "run: definitely-not-a-command-xyz --train");
    const repo = await repoWith(base("echo 1 > out.txt\n", config), { "train.sh": "echo 2 > out.txt\n" });
    const run = await runBundledAction({ repo, inputs: { experiment: "nf", seed: "6", upload: "false" } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "crash", metric: null, exit_code: 127 });
    expect(result.tail).toMatch(/definitely-not-a-command-xyz.*not found/);
  });

  it("fails the step naming the key path when the configuration is invalid, and runs nothing", async () => {
    const config = `${CONFIG().replace("experiment_timeout: 20s", "experiment_timeout: soon")}unknown_key: 1\n`;
    const repo = await repoWith(base("touch ran.marker\n", config), { "train.sh": "touch ran.marker\necho 1 > out.txt\n" });
    const run = await runBundledAction({ repo, inputs: { experiment: "cfg", seed: "7", upload: "false" } });
    expect(run.code).not.toBe(0);
    const errors = activeCommands(run.stdout).filter((c) => c.command === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toContain("budget.experiment_timeout");
    expect(errors[0]?.line).toContain("unknown_key");
    expect(existsSync(join(repo, "ran.marker"))).toBe(false);
    expect(run.outputs).toEqual({});
  });

  it("fails the step on an invalid input before anything runs", async () => {
    const repo = await repoWith(base("touch ran.marker\n"), {});
    const run = await runBundledAction({ repo, inputs: { experiment: "x/y", seed: "one", upload: "false", mode: "retrain" } });
    expect(run.code).not.toBe(0);
    const errors = activeCommands(run.stdout).filter((c) => c.command === "error");
    expect(errors[0]?.line).toMatch(/experiment: .*seed: expected an integer.*mode: expected run, eval or train/);
    expect(existsSync(join(repo, "ran.marker"))).toBe(false);
  });
});

/**
 * Mode eval, the strict template's evaluate job: the training outputs were made by another job and
 * placed, untracked, in the checkout of the experiment commit. eval.sh (locked) multiplies the
 * output by scale.txt, an editable file the experiment changes: the parent's scale must be used.
 */
describe("the bundled Action in mode eval", () => {
  const EVAL_CONFIG = `metric:
  name: score
  goal: maximize
run: sh train.sh
eval: sh eval.sh
editable: [train.sh, scale.txt, weights.txt]
budget:
  experiment_timeout: 20s
`;
  const evalBase = (config = EVAL_CONFIG) => ({
    ".github/autoresearch.yml": config,
    "train.sh": "touch trained.marker\necho 5 > out.txt\n",
    "scale.txt": "1\n",
    "weights.txt": "w\n",
    "eval.sh": 'echo evaluated\necho "score: $(( $(cat out.txt) * $(cat scale.txt) ))"\n',
  });
  /** A legitimate experiment: editable files only. */
  const legitimate = { "train.sh": "touch trained.marker\necho 1 > out.txt\n", "scale.txt": "100\n" };

  it("evaluates placed training outputs with the parent's files, and runs no training", async () => {
    const repo = await repoWith(evalBase(), legitimate);
    const commit = gitIn(repo, "rev-parse", "HEAD");
    const parent = gitIn(repo, "rev-parse", "HEAD^");
    await writeFile(join(repo, "out.txt"), "7\n");
    const run = await runBundledAction({ repo, inputs: { experiment: "strict-1", seed: "8", mode: "eval" }, resultsUrl: service.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { text, result } = await resultOf(run);
    // 7 * the parent's scale 1; the experiment's scale would give 700, its training 1 * 100.
    expect(result).toMatchObject({ status: "ok", metric: 7, exit_code: 0, reason: "", mode: "eval", commit, parent, seed: 8 });
    expect(result.tail).toMatch(/^--- eval: exit 0 after [\d.]+ s ---\nevaluated\nscore: 7$/);
    expect(result.tail).not.toContain("--- run");
    // The workspace is left as it was: eval ran in a tree of its own.
    expect(gitIn(repo, "rev-parse", "HEAD")).toBe(commit);
    expect(gitIn(repo, "status", "--porcelain")).toBe("?? out.txt");
    expect(run.outputs).toMatchObject({ status: "ok", metric: "7" });
    expect(run.summary).toContain("evaluation of training outputs, experiment strict-1, seed 8: ok");
    expect(run.summary).toContain("no training ran here");
    expect(foreignCommands(run)).toEqual([]);
    const artifact = service.artifacts.find((a) => a.name === "autoresearch-result-strict-1-8");
    expect(unzip(artifact!.blob).get("result.json")?.toString("utf8")).toBe(text);
  });

  it("rejects a commit that touches a locked file before anything runs", async () => {
    const repo = await repoWith(evalBase(), { ...legitimate, "eval.sh": 'echo evaluated\necho "score: 1000000"\n' });
    const commit = gitIn(repo, "rev-parse", "HEAD");
    await writeFile(join(repo, "out.txt"), "7\n");
    const run = await runBundledAction({ repo, inputs: { experiment: "strict-2", seed: "1", mode: "eval", upload: "false" } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "rejected", metric: null, exit_code: null, seconds: 0, tail: "", mode: "eval", commit });
    expect(result.reason).toContain("eval.sh");
    // Nothing was switched either.
    expect(gitIn(repo, "rev-parse", "HEAD")).toBe(commit);
    expect(await readFile(join(repo, "scale.txt"), "utf8")).toBe("100\n");
    expect(run.outputs.status).toBe("rejected");
  });

  it.each([
    // The experiment deleted weights.txt (editable); an output of that name must not stand in for the parent's.
    ["an untracked output the parent tracks", { "weights.txt": null }, "weights.txt", "9\n"],
    // eval.sh is the same in both commits: a changed copy in the workspace must not be evaluated.
    ["a changed tracked file", {}, "eval.sh", 'echo "score: 1000000"\n'],
  ])("evaluates the parent's files whatever the workspace holds: %s", async (_, exp, placed, content) => {
    const repo = await repoWith(evalBase(), { ...legitimate, ...exp });
    const commit = gitIn(repo, "rev-parse", "HEAD");
    await writeFile(join(repo, "out.txt"), "7\n");
    await writeFile(join(repo, placed), content);
    const run = await runBundledAction({ repo, inputs: { experiment: "strict-3", seed: "1", mode: "eval", upload: "false" } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "ok", metric: 7, mode: "eval" });
    expect(result.tail).toContain("evaluated");
    expect(gitIn(repo, "rev-parse", "HEAD")).toBe(commit);
  });

  it("does not read a metric.file that came with the training outputs", async () => {
    const config = EVAL_CONFIG.replace("  goal: maximize\n", "  goal: maximize\n  file: metrics.json\n");
    const repo = await repoWith({ ...evalBase(config), "eval.sh": "echo evaluated\n" }, legitimate);
    await writeFile(join(repo, "out.txt"), "7\n");
    await writeFile(join(repo, "metrics.json"), '{"score": 1000000}\n');
    const run = await runBundledAction({ repo, inputs: { experiment: "strict-4", seed: "1", mode: "eval", upload: "false" } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { result } = await resultOf(run);
    expect(result).toMatchObject({ status: "no_metric", metric: null, reason: 'metric file "metrics.json" was not written' });
    expect(result.tail).toContain("evaluated");
  });

  it("fails the step when the configuration has no eval command, and runs nothing", async () => {
    const repo = await repoWith(evalBase(EVAL_CONFIG.replace("eval: sh eval.sh\n", "")), legitimate);
    const commit = gitIn(repo, "rev-parse", "HEAD");
    const run = await runBundledAction({ repo, inputs: { experiment: "strict-5", seed: "1", mode: "eval", upload: "false" } });
    expect(run.code).not.toBe(0);
    const errors = activeCommands(run.stdout).filter((c) => c.command === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toContain("mode: eval needs an `eval` command in .github/autoresearch.yml");
    expect(gitIn(repo, "rev-parse", "HEAD")).toBe(commit);
    expect(run.outputs).toEqual({});
  });
});

/**
 * The strict template's two jobs with the bundled Action: mode train verifies the surface, runs
 * only `run` and collects the declared outputs; mode eval evaluates them from their own folder.
 */
describe("the bundled Action in mode train, then mode eval", () => {
  const STRICT = `metric:
  name: score
  goal: minimize
run: sh train.sh
eval: sh eval.sh
editable: [train.sh]
outputs: [out.txt]
budget:
  experiment_timeout: 20s
`;

  it("trains, collects only the declared outputs, and the evaluation reads them from that folder", async () => {
    const repo = await repoWith(base("echo 5 > out.txt\n", STRICT), { "train.sh": "echo 3 > out.txt\necho extra > other.txt\necho trained\n" });
    const train = await runBundledAction({ repo, inputs: { experiment: "s-1", seed: "2", mode: "train" } });
    expect(train.code, train.stdout + train.stderr).toBe(0);
    expect(train.outputs.status).toBe("ok");
    expect(train.outputs["result-path"]).toBeUndefined();
    const folder = train.outputs["training-outputs"] ?? "";
    expect(folder.startsWith(join(train.runnerTemp, "autoresearch-train-outputs-"))).toBe(true);
    expect(readdirSync(folder)).toEqual(["out.txt"]);
    expect(train.summary).toContain("training of experiment s-1, seed 2: ok");
    expect(foreignCommands(train)).toEqual([]);
    // The evaluate job: a fresh checkout, the outputs in a folder of their own.
    const fresh = await repoWith(base("echo 5 > out.txt\n", STRICT), { "train.sh": "echo 3 > out.txt\necho extra > other.txt\necho trained\n" });
    const ev = await runBundledAction({ repo: fresh, inputs: { experiment: "s-1", seed: "2", mode: "eval", upload: "false", "training-outputs": folder } });
    expect(ev.code, ev.stdout + ev.stderr).toBe(0);
    const { result } = await resultOf(ev);
    expect(result).toMatchObject({ status: "ok", metric: 3, mode: "eval" });
  });

  it("runs nothing for a commit outside the surface, and uploads nothing", async () => {
    const repo = await repoWith(base("echo 5 > out.txt\n", STRICT), { "train.sh": "echo 1 > out.txt\n", "eval.sh": 'echo "score: 0"\n' });
    const train = await runBundledAction({ repo, inputs: { experiment: "s-2", seed: "1", mode: "train" } });
    expect(train.code, train.stdout + train.stderr).toBe(0);
    expect(train.outputs).toMatchObject({ status: "rejected", "training-outputs": "" });
    expect(train.stdout).not.toContain("--- run");
  });

  it("refuses an output named like code, so evaluation never loads it", async () => {
    const config = STRICT.replace("outputs: [out.txt]", 'outputs: ["*"]');
    const repo = await repoWith(base("echo 5 > out.txt\n", config), { "train.sh": "echo 1 > out.txt\necho 'import os' > json.py\n" });
    const train = await runBundledAction({ repo, inputs: { experiment: "s-3", seed: "1", mode: "train" } });
    expect(train.code, train.stdout + train.stderr).toBe(0);
    expect(train.outputs).toMatchObject({ status: "crash", "training-outputs": "" });
    expect(train.stdout).toMatch(/json\.py.*code/);
  });
});
