import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfigInput, parseConfig } from "../../src/core/config.js";
import { GitError } from "../../src/errors.js";
import { LocalExecutor } from "../../src/local/executor.js";
import type { RunSpec } from "../../src/ports.js";

const NODE = JSON.stringify(process.execPath);
let repo: string;
let marks: string;
let base: string;

function git(...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", ...args], {
    cwd: repo,
    encoding: "utf8",
  }).trim();
}

/** Commits `files` (null deletes) on top of `parent` without moving any branch; returns the commit. */
async function commitOn(parent: string, files: Record<string, string | null>, renames: [string, string][] = []): Promise<string> {
  git("checkout", "-q", "--detach", parent);
  for (const [from, to] of renames) {
    await mkdir(dirname(join(repo, to)), { recursive: true });
    git("mv", from, to);
  }
  for (const [path, content] of Object.entries(files)) {
    if (content === null) git("rm", "-q", path);
    else {
      await mkdir(dirname(join(repo, path)), { recursive: true });
      await writeFile(join(repo, path), content);
      git("add", path);
    }
  }
  git("commit", "-q", "-m", "experiment");
  return git("rev-parse", "HEAD");
}

/** train.mjs: records where it ran, then writes its "prediction" for the evaluation. */
function train(value: number, extra = ""): string {
  return [
    'import { appendFileSync, existsSync, writeFileSync } from "node:fs";',
    'appendFileSync(process.env.MARK_DIR + "/ran.txt", process.cwd() + " seed=" + process.env.AUTORESEARCH_SEED + "\\n");',
    `const LR = ${value};`,
    'writeFileSync("pred.txt", String(LR));',
    extra,
  ].join("\n");
}

/** eval.mjs (locked): reads the prediction and the locked data file. */
const EVAL = [
  'import { readFileSync } from "node:fs";',
  'const pred = Number(readFileSync("pred.txt", "utf8"));',
  'const data = Number(readFileSync("data.txt", "utf8"));',
  'console.log("val_loss: " + (pred + data));',
].join("\n");

function config(overrides: Partial<ConfigInput> = {}) {
  return parseConfig({
    metric: { name: "val_loss", goal: "minimize" },
    run: `${NODE} train.mjs`,
    eval: `${NODE} eval.mjs`,
    editable: ["train.mjs", "src/**"],
    outputs: ["pred.txt"],
    budget: { experiment_timeout: 20 },
    ...overrides,
  });
}

/** These runs write to MARK_DIR outside their folder, which only a run at level process may. */
function executor(overrides: Partial<ConfigInput> = {}) {
  return new LocalExecutor({ repoDir: repo, config: config(overrides), env: { ...process.env, MARK_DIR: marks }, graceSeconds: 0.5, isolation: "process" });
}

function spec(commit: string, seed = 1, parent = base): RunSpec {
  return { campaign: "1", experiment: 1, commit, parent, seed };
}

async function ranIn(): Promise<string[]> {
  if (!existsSync(join(marks, "ran.txt"))) return [];
  return (await readFile(join(marks, "ran.txt"), "utf8")).trim().split("\n");
}

function worktrees(): string[] {
  return git("worktree", "list", "--porcelain")
    .split("\n")
    .filter((l) => l.startsWith("worktree "));
}

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "executor-repo-"));
  marks = await mkdtemp(join(tmpdir(), "executor-marks-"));
  git("init", "-q", "-b", "main");
  await writeFile(join(repo, "train.mjs"), train(0.5));
  await writeFile(join(repo, "eval.mjs"), EVAL);
  await writeFile(join(repo, "data.txt"), "1");
  await mkdir(join(repo, ".github"));
  await writeFile(join(repo, ".github/autoresearch.yml"), "# config\n");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  base = git("rev-parse", "HEAD");
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(marks, { recursive: true, force: true });
});

describe("LocalExecutor", () => {
  it("runs a commit in a temporary folder of its own, with no .git, and removes it afterwards", async () => {
    const commit = await commitOn(base, {
      "train.mjs": train(0.25, 'appendFileSync(process.env.MARK_DIR + "/ran.txt", "git=" + existsSync(".git") + "\\n");'),
    });
    const r = await executor().run(spec(commit, 7), new AbortController().signal);
    expect(r).toMatchObject({ status: "ok", metric: 1.25, exitCode: 0, reason: "", isolation: "process" });
    const [line = "", gitLine] = await ranIn();
    const cwd = line.split(" ")[0] ?? "";
    expect(cwd).toMatch(/autoresearch-run-[^/]+\/tree$/);
    expect(line).toContain("seed=7");
    expect(gitLine).toBe("git=false");
    expect(existsSync(dirname(cwd))).toBe(false);
    expect(worktrees()).toEqual([`worktree ${repo}`]);
    // The user's checkout is untouched.
    expect(git("status", "--porcelain")).toBe("");
  });

  it("gives every run the inputs that git does not track, and leaves them in place afterwards", async () => {
    const parent = await commitOn(base, { ".gitignore": "weights.txt\n" });
    await writeFile(join(repo, "weights.txt"), "2");
    const reads = 'const w = Number((await import("node:fs")).readFileSync("weights.txt", "utf8"));\nwriteFileSync("pred.txt", String(LR + w));';
    const commit = await commitOn(parent, { "train.mjs": train(0.25, reads) });
    const without = await executor().run(spec(commit, 1, parent), new AbortController().signal);
    expect(without.status).toBe("crash");
    expect(without.tail).toContain("weights.txt");
    const r = await executor({ inputs: ["weights.txt"] }).run(spec(commit, 1, parent), new AbortController().signal);
    expect(r).toMatchObject({ status: "ok", metric: 3.25 });
    expect(await readFile(join(repo, "weights.txt"), "utf8")).toBe("2");
    expect(worktrees()).toEqual([`worktree ${repo}`]);
  });

  it.each([
    ["changes a locked file", { "eval.mjs": 'console.log("val_loss: 0")' }, [], /eval\.mjs \(not in the editable surface \(train\.mjs, src\/\*\*\)\)/],
    ["touches .github", { ".github/autoresearch.yml": "# changed\n" }, [], /\.github\/autoresearch\.yml \(\.github\/\*\* is never editable\)/],
    ["deletes a locked file", { "data.txt": null }, [], /data\.txt/],
    ["renames a locked file into the surface", {}, [["eval.mjs", "src/eval.mjs"]], /^the commit changes files outside the editable surface: eval\.mjs /],
  ] as const)("rejects a commit that %s and runs nothing", async (_name, files, renames, reason) => {
    const commit = await commitOn(base, { "train.mjs": train(0.1), ...files }, renames as unknown as [string, string][]);
    const r = await executor().run(spec(commit), new AbortController().signal);
    expect(r).toMatchObject({ status: "rejected", metric: null, exitCode: null, tail: "" });
    expect(r.reason).toMatch(reason);
    expect(await ranIn()).toEqual([]);
    expect(worktrees()).toHaveLength(1);
  });

  it("evaluates in a fresh tree of the parent's files plus the declared outputs, whatever the run did to its own", async () => {
    const tamper = [
      'import { rmSync } from "node:fs";',
      'writeFileSync("eval.mjs", "console.log(\\"val_loss: 0.0001\\")");',
      'rmSync("data.txt");',
      'writeFileSync("checkpoint.bin", "leftover");',
    ].join("\n");
    const commit = await commitOn(base, { "train.mjs": train(0.5, tamper) });
    const r = await executor().run(spec(commit), new AbortController().signal);
    expect(r).toMatchObject({ status: "ok", metric: 1.5 });
  });

  it("evaluates with the parent's files, editable ones included, and files whose names hold glob characters", async () => {
    // A locked file literally named "*.txt".
    await writeFile(join(repo, "*.txt"), "locked\n");
    await mkdir(join(repo, "src"));
    await writeFile(join(repo, "src/notes.txt"), "val_loss: 1\n");
    git("add", "-A");
    git("commit", "-q", "-m", "more files");
    const parent = git("rev-parse", "HEAD");
    const commit = await commitOn(parent, { "src/notes.txt": "val_loss: 0.5\n" });
    const ex = executor({
      run: "echo tampered > '*.txt'",
      eval: "cat src/notes.txt; test \"$(cat '*.txt')\" = locked || echo 'val_loss: 99'",
    });
    const r = await ex.run(spec(commit, 1, parent), new AbortController().signal);
    // The commit's own src/notes.txt said 0.5: eval reads the parent's.
    expect(r).toMatchObject({ status: "ok", metric: 1 });
  });

  it("runs two experiments at once", async () => {
    const a = await commitOn(base, { "train.mjs": train(0.25, "await new Promise((r) => setTimeout(r, 300));") });
    const b = await commitOn(base, { "train.mjs": train(0.75, "await new Promise((r) => setTimeout(r, 300));") });
    const ex = executor();
    const [ra, rb, ra2] = await Promise.all([
      ex.run(spec(a, 1), new AbortController().signal),
      ex.run(spec(b, 2), new AbortController().signal),
      ex.run(spec(a, 3), new AbortController().signal),
    ]);
    expect(ra).toMatchObject({ status: "ok", metric: 1.25 });
    expect(rb).toMatchObject({ status: "ok", metric: 1.75 });
    expect(ra2).toMatchObject({ status: "ok", metric: 1.25 });
    const dirs = (await ranIn()).map((l) => l.split(" ")[0]);
    expect(new Set(dirs).size).toBe(3);
    expect(worktrees()).toHaveLength(1);
    expect(await readdir(join(repo, ".git", "worktrees")).catch(() => [])).toEqual([]);
  });

  it("runs many at once and leaves no run folder", async () => {
    const commit = await commitOn(base, { "train.mjs": train(0.6, "") });
    const folders = join(marks, "runs");
    await mkdir(folders);
    const ex = new LocalExecutor({
      repoDir: repo,
      config: config(),
      env: { ...process.env, MARK_DIR: marks },
      graceSeconds: 0.5,
      isolation: "process",
      tempDir: folders,
    });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => ex.run(spec(commit, i + 1), new AbortController().signal)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill("ok"));
    expect(new Set((await ranIn()).map((l) => l.split(" ")[0])).size).toBe(8);
    expect(await readdir(folders)).toEqual([]);
  });

  it("removes the run folder when the run is cancelled", async () => {
    const commit = await commitOn(base, { "train.mjs": train(0.5, "await new Promise((r) => setTimeout(r, 30_000));") });
    const ac = new AbortController();
    const pending = executor().run(spec(commit), ac.signal);
    // Abort once the run is really running.
    // Up to 30 s: on a loaded machine (CI beside other work) the run may take a while to start.
    for (let i = 0; i < 1200 && (await ranIn()).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    ac.abort();
    const r = await pending;
    expect(r).toMatchObject({ status: "cancelled", metric: null });
    const cwd = (await ranIn())[0]?.split(" ")[0] ?? "";
    expect(cwd).toMatch(/autoresearch-run-/);
    expect(existsSync(dirname(cwd))).toBe(false);
  });

  it("reports a timeout and cleans up", async () => {
    const commit = await commitOn(base, { "train.mjs": train(0.5, "await new Promise((r) => setTimeout(r, 30_000));") });
    const r = await executor({ budget: { experiment_timeout: 1 } }).run(spec(commit), new AbortController().signal);
    expect(r).toMatchObject({ status: "timeout" });
    expect(worktrees()).toHaveLength(1);
  });

  it("throws GitError for a commit that does not exist, leaving nothing behind", async () => {
    await expect(executor().run(spec("0123456789abcdef0123456789abcdef01234567"), new AbortController().signal)).rejects.toBeInstanceOf(GitError);
    await expect(executor().run(spec("--output=/tmp/x"), new AbortController().signal)).rejects.toBeInstanceOf(GitError);
    expect(worktrees()).toHaveLength(1);
  });
});

describe("LocalExecutor with metric.file", () => {
  it.each([
    ["written by run and declared as an output", {}],
    ["committed at the parent", { "metrics.json": '{"val_loss": 0.001}\n' }],
  ])("never reads a metric file that eval did not write: %s", async (_name, extra) => {
    const parent = Object.keys(extra).length > 0 ? await commitOn(base, extra) : base;
    const commit = await commitOn(parent, { "train.mjs": train(0.5, 'writeFileSync("metrics.json", JSON.stringify({ val_loss: 0.001 }));') });
    const ex = executor({
      eval: `${NODE} -e "console.log('evaluated, wrote nothing')"`,
      outputs: ["pred.txt", "metrics.json"],
      metric: { name: "val_loss", goal: "minimize", file: "metrics.json" },
    });
    const r = await ex.run(spec(commit, 1, parent), new AbortController().signal);
    expect(r).toMatchObject({ status: "no_metric", metric: null, reason: 'metric file "metrics.json" was not written' });
  });

  it("reads the metric file eval wrote", async () => {
    const commit = await commitOn(base, { "train.mjs": train(0.5, 'writeFileSync("metrics.json", JSON.stringify({ val_loss: 0.001 }));') });
    const ex = executor({
      eval: `${NODE} -e "require('fs').writeFileSync('metrics.json', JSON.stringify({ val_loss: 0.5 }))"`,
      metric: { name: "val_loss", goal: "minimize", file: "metrics.json" },
    });
    expect(await ex.run(spec(commit), new AbortController().signal)).toMatchObject({ status: "ok", metric: 0.5 });
  });
});
