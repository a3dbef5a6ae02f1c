import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BranchConflict, EditError, GitError, RepoStateError, SurfaceViolation } from "../../src/errors.js";
import { boundDiff, dirtyFiles, GitRepoHost, git, headCommit, isGitRepo, repoRoot } from "../../src/local/git.js";

// Hermetic git: no user or system config (identity, signing, hooks) leaks into these tests.
const saved = { ...process.env };
let base: string;
beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "ar-git-test-")));
  writeFileSync(join(base, "empty-gitconfig"), "");
  process.env.GIT_CONFIG_GLOBAL = join(base, "empty-gitconfig");
  process.env.GIT_CONFIG_NOSYSTEM = "1";
  process.env.GIT_CEILING_DIRECTORIES = base;
  for (const k of ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"]) delete process.env[k];
});
afterAll(() => {
  process.env = saved;
  rmSync(base, { recursive: true, force: true });
});

let n = 0;
function sh(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, encoding: "utf8" }).replace(/\n$/, "");
}

/** A repository with one commit: a.txt, run.sh (executable), sub/b.txt. */
function makeRepo(opts: { identity?: boolean } = {}): { dir: string; head: string } {
  const dir = join(base, `repo-${++n}`);
  mkdirSync(join(dir, "sub"), { recursive: true });
  sh(dir, "init", "-q", "-b", "main");
  if (opts.identity !== false) {
    sh(dir, "config", "user.email", "me@example.com");
    sh(dir, "config", "user.name", "Me");
  }
  writeFileSync(join(dir, "a.txt"), "1\n2\n3\n");
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  writeFileSync(join(dir, "sub/b.txt"), "b\n");
  sh(dir, "add", ".");
  // The first commit needs an identity even in the repository without one.
  execFileSync("git", ["-c", "user.email=setup@example.com", "-c", "user.name=Setup", "commit", "-q", "-m", "init"], { cwd: dir });
  return { dir, head: sh(dir, "rev-parse", "HEAD") };
}

function snapshot(dir: string) {
  return {
    status: sh(dir, "status", "--porcelain"),
    unstaged: sh(dir, "diff"),
    staged: sh(dir, "diff", "--cached"),
    index: readFileSync(join(dir, ".git/index")).toString("base64"),
    head: sh(dir, "rev-parse", "HEAD"),
    branch: sh(dir, "symbolic-ref", "HEAD"),
    a: readFileSync(join(dir, "a.txt"), "utf8"),
  };
}

describe("git()", () => {
  it("returns stdout without its final newline", async () => {
    const { dir, head } = makeRepo();
    expect(await git(dir, ["rev-parse", "HEAD"])).toBe(head);
  });

  it("throws GitError keeping the args and stderr", async () => {
    const { dir } = makeRepo();
    const err = await git(dir, ["rev-parse", "--verify", "no-such-rev"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect((err as GitError).args).toEqual(["rev-parse", "--verify", "no-such-rev"]);
    expect((err as GitError).stderr).toMatch(/Needed a single revision/);
    expect((err as GitError).message).toMatch(/git rev-parse --verify no-such-rev failed \(exit 128\)/);
  });

  it("passes input on stdin", async () => {
    const { dir } = makeRepo();
    const sha = await git(dir, ["hash-object", "--stdin"], { input: "hello\n" });
    // The well-known blob id of "hello\n".
    expect(sha).toBe("ce013625030ba8dba906f756967f9e9ca394464a");
  });
});

/** Commits are dated from the ledger. */
const AT = { at: "2026-01-02T03:04:05Z" };

describe("GitRepoHost.commit", () => {
  it("creates the commit without touching the working tree, the index or HEAD", async () => {
    const { dir, head } = makeRepo();
    // The user is in the middle of something: an unstaged edit and a staged one.
    writeFileSync(join(dir, "a.txt"), "user edit\n");
    writeFileSync(join(dir, "sub/b.txt"), "staged\n");
    sh(dir, "add", "sub/b.txt");
    const before = snapshot(dir);

    const r = await new GitRepoHost(dir).commit(head, { "a.txt": "one\ntwo\n", "new/c.txt": "c\n" }, "try a thing\n\nbecause", AT);

    expect(snapshot(dir)).toEqual(before);
    expect(() => readFileSync(join(dir, "new/c.txt"))).toThrow();
    expect(sh(dir, "rev-parse", `${r.commit}^`)).toBe(head);
    expect(sh(dir, "log", "-1", "--format=%B", r.commit)).toBe("try a thing\n\nbecause");
    expect(sh(dir, "ls-tree", "-r", "--name-only", r.commit).split("\n")).toEqual(["a.txt", "new/c.txt", "run.sh", "sub/b.txt"]);
    expect(sh(dir, "show", `${r.commit}:a.txt`)).toBe("one\ntwo");
    expect(sh(dir, "show", `${r.commit}:new/c.txt`)).toBe("c");
    // The staged change is the user's, not part of the campaign's commit.
    expect(sh(dir, "show", `${r.commit}:sub/b.txt`)).toBe("b");
  });

  it("keeps the executable bit of an edited executable file; new files are not executable", async () => {
    const { dir, head } = makeRepo();
    const r = await new GitRepoHost(dir).commit(head, { "run.sh": "#!/bin/sh\necho bye\n", "a.txt": "x\n", "tool.sh": "#!/bin/sh\n" }, "m", AT);
    const modes = Object.fromEntries(
      sh(dir, "ls-tree", "-r", r.commit)
        .split("\n")
        .map((l) => [l.split("\t")[1], l.split(" ")[0]]),
    );
    expect(modes).toEqual({ "run.sh": "100755", "a.txt": "100644", "tool.sh": "100644", "sub/b.txt": "100644" });
  });

  it("handles concurrent commits on the same parent, each with its own tree", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => host.commit(head, { [`f${i}.txt`]: `${i}\n`, "a.txt": `a${i}\n` }, `c${i}`, AT)));
    expect(new Set(results.map((r) => r.commit)).size).toBe(8);
    results.forEach((r, i) => {
      expect(sh(dir, "rev-parse", `${r.commit}^`)).toBe(head);
      expect(sh(dir, "ls-tree", "-r", "--name-only", r.commit).split("\n")).toEqual(["a.txt", `f${i}.txt`, "run.sh", "sub/b.txt"]);
      expect(sh(dir, "show", `${r.commit}:a.txt`)).toBe(`a${i}`);
    });
    expect(sh(dir, "status", "--porcelain")).toBe("");
  });

  it("returns the unified diff and line counts from numstat", async () => {
    const { dir, head } = makeRepo();
    const r = await new GitRepoHost(dir).commit(head, { "a.txt": "1\nX\n3\n4\n", "sub/d.txt": "d1\nd2\n" }, "m", AT);
    expect(r.linesAdded).toBe(4);
    expect(r.linesRemoved).toBe(1);
    expect(r.diff).toContain("diff --git a/a.txt b/a.txt");
    expect(r.diff).toContain("-2\n+X\n");
    expect(r.diff).toContain("+4\n");
    expect(r.diff).toContain("+++ b/sub/d.txt");
    expect(r.diff.endsWith("\n")).toBe(true);
  });

  it("bounds a large diff with a note while counting every line", async () => {
    const { dir, head } = makeRepo();
    const big = Array.from({ length: 3000 }, (_, i) => `line ${i} ${"x".repeat(20)}`).join("\n");
    const r = await new GitRepoHost(dir).commit(head, { "big.txt": `${big}\n` }, "m", AT);
    expect(r.linesAdded).toBe(3000);
    expect(r.diff.length).toBeLessThan(20_300);
    expect(r.diff).toMatch(/\[diff truncated: \d+ of \d+ characters shown; run `git diff [0-9a-f]{12} [0-9a-f]{12}`/);
    expect(r.diff).not.toContain("line 2999 ");
  });

  it("uses the fixed identity only when the repository has no user.email", async () => {
    const withId = makeRepo();
    const a = await new GitRepoHost(withId.dir).commit(withId.head, { "a.txt": "x\n" }, "m", AT);
    expect(sh(withId.dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", a.commit)).toBe("Me <me@example.com>|Me <me@example.com>");

    const without = makeRepo({ identity: false });
    const b = await new GitRepoHost(without.dir).commit(without.head, { "a.txt": "x\n" }, "m", AT);
    expect(sh(without.dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", b.commit)).toBe(
      "autoresearch <autoresearch@localhost>|autoresearch <autoresearch@localhost>",
    );
  });

  it("refuses paths outside the repository instead of writing them", async () => {
    const { dir, head } = makeRepo();
    for (const bad of ["../evil.txt", "/abs.txt", "sub/../../evil.txt", ".git/config", "sub/.GIT/x", "a//b", "./a.txt", "", "a\\b"]) {
      const err = await new GitRepoHost(dir).commit(head, { "ok.txt": "fine", [bad]: "x" }, "m", AT).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SurfaceViolation);
      expect((err as SurfaceViolation).paths).toEqual([bad]);
    }
  });

  it("refuses to replace a folder with a file or a file with a folder", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    await expect(host.commit(head, { sub: "x" }, "m", AT)).rejects.toThrow(
      new EditError("cannot write sub: sub/b.txt is inside a folder of that name at the parent commit", "sub"),
    );
    await expect(host.commit(head, { "a.txt/x": "x" }, "m", AT)).rejects.toThrow(/cannot write a\.txt\/x: a\.txt is a file at the parent commit/);
    await expect(host.commit(head, { "sub/deeper/x.txt": "x", "subway.txt": "y" }, "m", AT)).resolves.toMatchObject({ linesAdded: 2 });
  });

  it("rejects an unknown parent with GitError", async () => {
    const { dir } = makeRepo();
    await expect(new GitRepoHost(dir).commit("0".repeat(40), { "a.txt": "x" }, "m", AT)).rejects.toThrow(/no such commit/);
  });
});

describe("GitRepoHost.merge", () => {
  /** base -> ours (the new best) and base -> theirs (a stale candidate), each one commit on `head`. */
  async function forked(ours: Record<string, string>, theirs: Record<string, string>) {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const o = await host.commit(head, ours, "the new best", AT);
    const t = await host.commit(head, theirs, "the candidate", AT);
    return { dir, head, host, ours: o.commit, theirs: t.commit };
  }

  it("re-applies the candidate's change on the new best with a three-way merge of lines, without touching the working tree, index or HEAD", async () => {
    // a.txt is 1 2 3: the best changed line 1, the candidate line 3 (and added a file).
    const f = await forked({ "a.txt": "ONE\n2\n3\n" }, { "a.txt": "1\n2\nTHREE\n", "new.txt": "n\n" });
    writeFileSync(join(f.dir, "a.txt"), "user edit\n");
    const before = snapshot(f.dir);
    const r = await f.host.merge(f.head, f.ours, f.theirs, "the candidate, on the new best", AT);
    expect(snapshot(f.dir)).toEqual(before);
    if (!r.ok) throw new Error(`unexpected conflict: ${r.conflicts.join(", ")}`);
    // One parent, the new best: the campaign branch stays linear.
    expect(sh(f.dir, "rev-list", "--parents", "-n", "1", r.commit).split(" ")).toEqual([r.commit, f.ours]);
    expect(sh(f.dir, "show", `${r.commit}:a.txt`)).toBe("ONE\n2\nTHREE");
    expect(sh(f.dir, "show", `${r.commit}:new.txt`)).toBe("n");
    expect(sh(f.dir, "log", "-1", "--format=%B", r.commit)).toBe("the candidate, on the new best");
    // The diff is against the new best: only the candidate's change.
    expect(r.diff).toContain("+THREE");
    expect(r.diff).not.toContain("+ONE");
    expect({ added: r.linesAdded, removed: r.linesRemoved }).toEqual({ added: 2, removed: 1 });
    // Done twice, the same commit.
    const again = await f.host.merge(f.head, f.ours, f.theirs, "the candidate, on the new best", AT);
    expect(again.ok && again.commit).toBe(r.commit);
  });

  it("keeps the executable bit and takes the best's version of files the candidate did not change", async () => {
    const f = await forked({ "run.sh": "#!/bin/sh\necho best\n", "a.txt": "1\n2\n3\n4\n" }, { "a.txt": "0\n1\n2\n3\n" });
    const r = await f.host.merge(f.head, f.ours, f.theirs, "m", AT);
    if (!r.ok) throw new Error("unexpected conflict");
    expect(sh(f.dir, "ls-tree", r.commit, "run.sh").split(" ")[0]).toBe("100755");
    expect(sh(f.dir, "show", `${r.commit}:run.sh`)).toBe("#!/bin/sh\necho best");
    expect(sh(f.dir, "show", `${r.commit}:a.txt`)).toBe("0\n1\n2\n3\n4");
  });

  it("reports the conflicting paths and makes no commit when both changed the same lines", async () => {
    const f = await forked({ "a.txt": "1\nBEST\n3\n", "sub/b.txt": "best\n" }, { "a.txt": "1\nMINE\n3\n", "sub/b.txt": "best\n", "c.txt": "c\n" });
    const before = snapshot(f.dir);
    const r = await f.host.merge(f.head, f.ours, f.theirs, "m", AT);
    expect(r).toEqual({ ok: false, conflicts: ["a.txt"] });
    expect(snapshot(f.dir)).toEqual(before);
    expect(sh(f.dir, "for-each-ref", "--format=%(refname)")).toBe("refs/heads/main");
  });

  it("uses the merge base it is given, not one it computes: only the candidate's own change is carried", async () => {
    // The candidate was made on `mid` (a best that was later replaced as a whole by `other`, also
    // on head). Merging with base `mid` carries the candidate's change only, not mid's.
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const mid = (await host.commit(head, { "sub/b.txt": "mid\n" }, "mid", AT)).commit;
    const cand = (await host.commit(mid, { "a.txt": "1\n2\nCAND\n" }, "cand", AT)).commit;
    const other = (await host.commit(head, { "run.sh": "#!/bin/sh\necho other\n" }, "other", AT)).commit;
    const r = await host.merge(mid, other, cand, "m", AT);
    if (!r.ok) throw new Error("unexpected conflict");
    expect(sh(dir, "show", `${r.commit}:a.txt`)).toBe("1\n2\nCAND");
    expect(sh(dir, "show", `${r.commit}:sub/b.txt`)).toBe("b");
    expect(sh(dir, "show", `${r.commit}:run.sh`)).toBe("#!/bin/sh\necho other");
  });

  it("a file changed on one side and deleted on the other is a conflict", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const ours = (await host.commit(head, { "a.txt": "changed\n" }, "ours", AT)).commit;
    // theirs deletes a.txt (commit() only writes files): built with git itself.
    const idx = join(base, `idx-${n}`);
    execFileSync("git", ["read-tree", head], { cwd: dir, env: { ...process.env, GIT_INDEX_FILE: idx } });
    execFileSync("git", ["rm", "--cached", "-q", "a.txt"], { cwd: dir, env: { ...process.env, GIT_INDEX_FILE: idx } });
    const t = execFileSync("git", ["write-tree"], { cwd: dir, env: { ...process.env, GIT_INDEX_FILE: idx }, encoding: "utf8" }).trim();
    const theirs = execFileSync("git", ["-c", "user.email=x@y", "-c", "user.name=x", "commit-tree", t, "-p", head, "-m", "theirs"], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
    expect(await host.merge(head, ours, theirs, "m", AT)).toEqual({ ok: false, conflicts: ["a.txt"] });
  });
});

describe("GitRepoHost reading", () => {
  it("reads files at a commit, exactly, with undefined for missing paths and folders", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const c = await host.commit(head, { "nonl.txt": "no newline", "utf.txt": "héllo ✓\n", "a.txt": "" }, "m", AT);
    expect(await host.readFiles(c.commit, ["nonl.txt", "utf.txt", "a.txt", "missing.txt", "sub", "sub/b.txt"])).toEqual({
      "nonl.txt": "no newline",
      "utf.txt": "héllo ✓\n",
      "a.txt": "",
      "missing.txt": undefined,
      sub: undefined,
      "sub/b.txt": "b\n",
    });
    // The old commit still has the old content.
    expect((await host.readFiles(head, ["a.txt", "nonl.txt"])) as object).toEqual({ "a.txt": "1\n2\n3\n", "nonl.txt": undefined });
    expect(await host.readFiles(head, [])).toEqual({});
  });

  it("lists every tracked file at a commit, from any subfolder", async () => {
    const { dir, head } = makeRepo();
    expect(await new GitRepoHost(join(dir, "sub")).listFiles(head)).toEqual(["a.txt", "run.sh", "sub/b.txt"]);
  });

  it("rejects an unknown commit", async () => {
    const { dir } = makeRepo();
    await expect(new GitRepoHost(dir).readFiles("nope", ["a.txt"])).rejects.toBeInstanceOf(GitError);
  });
});

describe("GitRepoHost branches", () => {
  it("sets, moves and deletes a branch with compare-and-swap, without touching HEAD", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const c = await host.commit(head, { "a.txt": "x\n" }, "m", AT);
    await host.setBranch("autoresearch/1/best", head, null);
    expect(sh(dir, "rev-parse", "refs/heads/autoresearch/1/best")).toBe(head);
    await host.setBranch("autoresearch/1/best", c.commit, head);
    expect(sh(dir, "rev-parse", "refs/heads/autoresearch/1/best")).toBe(c.commit);
    expect(sh(dir, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect(sh(dir, "rev-parse", "HEAD")).toBe(head);
    expect(await host.branchesUnder("autoresearch/1/")).toEqual(["autoresearch/1/best"]);
    await host.deleteBranch("autoresearch/1/best", c.commit);
    expect(sh(dir, "branch", "--list", "autoresearch/*")).toBe("");
    await expect(host.deleteBranch("autoresearch/1/best", c.commit)).resolves.toBeUndefined();
  });

  it("refuses to move or delete a branch that is not where it is expected, changing nothing", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const mine = await host.commit(head, { "a.txt": "mine\n" }, "m", AT);
    const theirs = await host.commit(head, { "a.txt": "theirs\n" }, "m", AT);
    // Another campaign (a linked worktree, a removed .autoresearch/) already uses the name.
    sh(dir, "branch", "autoresearch/1/best", theirs.commit);
    const err = await host.setBranch("autoresearch/1/best", mine.commit, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BranchConflict);
    expect(err).toMatchObject({ branch: "autoresearch/1/best", expected: null, actual: theirs.commit });
    await expect(host.setBranch("autoresearch/1/best", mine.commit, head)).rejects.toBeInstanceOf(BranchConflict);
    await expect(host.deleteBranch("autoresearch/1/best", head)).rejects.toBeInstanceOf(BranchConflict);
    expect(sh(dir, "rev-parse", "refs/heads/autoresearch/1/best")).toBe(theirs.commit);
    // A move that already happened (a step done twice) is not a conflict.
    await expect(host.setBranch("autoresearch/1/best", theirs.commit, head)).resolves.toBeUndefined();
  });

  it("makes the same commit when the same step is done twice (dated from the ledger)", async () => {
    const { dir, head } = makeRepo();
    const host = new GitRepoHost(dir);
    const a = await host.commit(head, { "a.txt": "x\n" }, "same message", AT);
    await new Promise((r) => setTimeout(r, 1100));
    const b = await host.commit(head, { "a.txt": "x\n" }, "same message", AT);
    expect(b.commit).toBe(a.commit);
    expect(sh(dir, "log", "-1", "--format=%aI|%cI", a.commit)).toBe("2026-01-02T03:04:05Z|2026-01-02T03:04:05Z".replace(/Z/g, "+00:00"));
  });
});

describe("repository helpers", () => {
  it("dirtyFiles lists changed, staged, renamed and untracked paths but not .autoresearch/", async () => {
    const { dir } = makeRepo();
    expect(await dirtyFiles(dir)).toEqual([]);
    // No .gitignore inside: git itself would report the folder, so the exclusion is ours.
    mkdirSync(join(dir, ".autoresearch/campaigns/1"), { recursive: true });
    writeFileSync(join(dir, ".autoresearch/lock"), "{}");
    writeFileSync(join(dir, ".autoresearch/campaigns/1/events.jsonl"), "");
    expect(sh(dir, "status", "--porcelain")).toContain(".autoresearch/");
    expect(await dirtyFiles(dir)).toEqual([]);

    writeFileSync(join(dir, "a.txt"), "changed\n");
    writeFileSync(join(dir, "untracked.txt"), "u\n");
    sh(dir, "mv", "sub/b.txt", "sub/renamed.txt");
    expect((await dirtyFiles(join(dir, "sub"))).sort()).toEqual(["a.txt", "sub/renamed.txt", "untracked.txt"]);
  });

  it("repoRoot finds the top level from a subfolder and rejects a folder outside any repository", async () => {
    const { dir } = makeRepo();
    expect(await repoRoot(join(dir, "sub"))).toBe(dir);
    const outside = mkdtempSync(join(base, "plain-"));
    const err = await repoRoot(outside).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoStateError);
    expect((err as Error).message).toBe(`not a git repository: ${outside}`);
    expect(await isGitRepo(dir)).toBe(true);
    expect(await isGitRepo(outside)).toBe(false);
    expect(await isGitRepo(join(base, "does-not-exist"))).toBe(false);
  });

  it("headCommit returns HEAD, and RepoStateError in a repository without commits", async () => {
    const { dir, head } = makeRepo();
    expect(await headCommit(dir)).toBe(head);
    const empty = join(base, `empty-${++n}`);
    mkdirSync(empty);
    sh(empty, "init", "-q");
    await expect(headCommit(empty)).rejects.toBeInstanceOf(RepoStateError);
  });
});

describe("boundDiff", () => {
  it("keeps a short diff as is and cuts a long one at a line boundary", () => {
    expect(boundDiff("a\nb\n", "p", "c", 10)).toBe("a\nb\n");
    const cut = boundDiff("aaaa\nbbbb\ncccc\n", "parentsha", "commitsha", 12);
    expect(cut.startsWith("aaaa\nbbbb\n[diff truncated: 9 of 15 characters shown;")).toBe(true);
  });
});
