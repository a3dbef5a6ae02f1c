/** `autoresearch init`, `validate`, `--help` and option errors, run as a user would. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt, git, makeRepo, tempRoot } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("commands");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

const TRAIN_PY = `import random
lr = 0.01
val_loss = (lr - 0.003) ** 2 + random.random() * 1e-6
print(f"val_loss: {val_loss:.6f}")
`;

describe("autoresearch init", { timeout: 60_000 }, () => {
  it("guesses the command, metric and editable file of a train.py; validate accepts it once committed; a second init is refused", async () => {
    const repo = await makeRepo(root.dir, "init", { "train.py": TRAIN_PY, "README.md": "# model\n" });
    const r = await cli(root.dir, repo, ["init"]);
    expect(r.code, r.all).toBe(0);
    const path = join(repo, ".github", "autoresearch.yml");
    expect(r.stdout).toContain(`Wrote ${path}`);
    expect(r.stdout).toContain("Next: autoresearch validate && git add .github/autoresearch.yml");
    const text = await readFile(path, "utf8");
    expect(text).toMatch(/^ {2}name: val_loss$/m);
    expect(text).toMatch(/^ {2}goal: minimize\b/m);
    expect(text).toMatch(/^run: python3 train\.py$/m);
    expect(text).toMatch(/^ {2}- train\.py$/m);
    expect(text).not.toMatch(/^[^#\n]*\bTODO\b/m);

    await git(repo, ["add", "-A"]);
    await git(repo, ["commit", "-q", "-m", "autoresearch config"]);
    const v = await cli(root.dir, repo, ["validate"]);
    expect(v.code, v.all).toBe(0);
    expect(v.stdout.trim()).toBe(`${path}: ok`);

    const again = await cli(root.dir, repo, ["init"]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe("autoresearch: .github/autoresearch.yml already exists; use --force to overwrite it");
    expect(await readFile(path, "utf8")).toBe(text);
    const forced = await cli(root.dir, repo, ["init", "--force"]);
    expect(forced.code, forced.all).toBe(0);
  });

  it("marks what it cannot guess as TODO, and validate reports it", async () => {
    const repo = await makeRepo(root.dir, "init-todo", { "README.md": "# nothing to train here\n" });
    const r = await cli(root.dir, repo, ["init"]);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("Fill in the lines marked TODO");
    expect(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8")).toMatch(/^run: TODO/m);
    const v = await cli(root.dir, repo, ["validate"]);
    expect(v.code).toBe(2);
    expect(v.stdout).toContain("the file still has TODO placeholders from `autoresearch init`");
  });
});

describe("--help and option errors", { timeout: 60_000 }, () => {
  it.each([
    ["run", ["--resume", "--campaign <id>", "--config <file>", "--json", "--max-experiments <n>", "--parallel <n>", "--timeout <duration>"]],
    ["demo", ["--example <dir>", "--json", "--no-progress"]],
    ["init", ["--force"]],
    ["validate", ["[file]"]],
    ["report", ["--campaign <id>", "--out <file>", "--json"]],
  ])("%s --help lists its options", async (command, options) => {
    const r = await cli(root.dir, root.dir, [command, "--help"]);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain(`Usage: autoresearch ${command} [options]`);
    for (const o of [...options, "--help"]) expect(r.stdout).toContain(o);
  });

  it("top-level --help lists every command", async () => {
    const r = await cli(root.dir, root.dir, ["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["run", "demo", "init", "validate", "report"]) expect(r.stdout).toMatch(new RegExp(`^ {2}${c}\\b`, "m"));
  });

  it.each([
    [["run", "--bogus"], "error: unknown option '--bogus'"],
    [["frobnicate"], "error: unknown command 'frobnicate'"],
    [["run", "--parallel", "0"], "expected a positive integer"],
  ])("autoresearch %j exits 2", async (args, message) => {
    const r = await cli(root.dir, root.dir, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("(run with --help for usage)");
  });
});
