import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listTree, unsafeTreePath, writeTree } from "../../src/runner/tree.js";

let repo: string;
let out: string;

function git(...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", ...args], { cwd: repo, encoding: "utf8" }).trim();
}

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "tree-repo-"));
  out = await mkdtemp(join(tmpdir(), "tree-out-"));
  git("init", "-q", "-b", "main");
  await writeFile(join(repo, "eval.py"), 'print("val_loss: 1")\n');
  await mkdir(join(repo, "bin"));
  await writeFile(join(repo, "bin", "run.sh"), "#!/bin/sh\necho hi\n");
  await chmod(join(repo, "bin", "run.sh"), 0o755);
  execFileSync("ln", ["-s", "eval.py", join(repo, "link.py")]);
  git("add", "-A");
  git("commit", "-q", "-m", "base");
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

describe("writeTree", () => {
  it("writes a commit's files byte for byte with their modes and links, and no .git", async () => {
    await writeTree(repo, await listTree(repo, git("rev-parse", "HEAD")), out);
    expect(await readFile(join(out, "eval.py"), "utf8")).toBe('print("val_loss: 1")\n');
    expect(lstatSync(join(out, "bin", "run.sh")).mode & 0o111).not.toBe(0);
    expect(lstatSync(join(out, "eval.py")).mode & 0o111).toBe(0);
    expect(readlinkSync(join(out, "link.py"))).toBe("eval.py");
    expect(existsSync(join(out, ".git"))).toBe(false);
  });

  it("ignores replace objects, filters and attributes the repository holds", async () => {
    const head = git("rev-parse", "HEAD");
    const forged = execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: repo, input: 'print("val_loss: 0")\n', encoding: "utf8" }).trim();
    git("replace", "-f", git("rev-parse", "HEAD:eval.py"), forged);
    git("config", "filter.x.smudge", "sed s/1/0/");
    await writeFile(join(repo, ".git", "info", "attributes"), "* filter=x\n");
    // git itself now shows the forged file...
    expect(git("show", "HEAD:eval.py")).toBe('print("val_loss: 0")');
    await writeTree(repo, await listTree(repo, head), out);
    // ...the tree written by the tool does not.
    expect(await readFile(join(out, "eval.py"), "utf8")).toBe('print("val_loss: 1")\n');
  });

  it("refuses a blob whose content does not match its id (a tampered object store)", async () => {
    const oid = git("rev-parse", "HEAD:eval.py");
    const content = Buffer.from('print("val_loss: 0.0")\n');
    const loose = join(repo, ".git", "objects", oid.slice(0, 2), oid.slice(2));
    await chmod(loose, 0o644);
    await writeFile(loose, deflateSync(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content])));
    await expect(writeTree(repo, await listTree(repo, git("rev-parse", "HEAD")), out)).rejects.toThrow(/does not match its id/);
  });

  it("refuses a tree entry that would write through a link or outside the folder", async () => {
    const blob = git("rev-parse", "HEAD:eval.py");
    await expect(writeTree(repo, [{ mode: "100644", type: "blob", oid: blob, path: "../escape.py" }], out)).rejects.toThrow(/refusing/);
    await expect(
      writeTree(
        repo,
        [
          { mode: "120000", type: "blob", oid: blob, path: "dir" },
          { mode: "100644", type: "blob", oid: blob, path: "dir/x" },
        ],
        out,
      ),
    ).rejects.toThrow(/refusing/);
  });
});

describe("unsafeTreePath", () => {
  it.each([
    ["a/b.py", undefined],
    [".github/x.yml", undefined],
    ["../x", "has an empty, . or .. component"],
    ["/etc/passwd", "not a relative path"],
    ["a//b", "has an empty, . or .. component"],
    [".git/config", "names a .git directory"],
    ["sub/.GIT/hooks/x", "names a .git directory"],
    ["git~1/config", "names a .git directory"],
  ])("%s: %s", (path, expected) => {
    expect(unsafeTreePath(path)).toBe(expected);
  });
});
