/**
 * OctokitRepoHost.merge through a real Octokit against the loopback fake GitHub (whose Git Data
 * API writes a real bare repository): the cases of GitRepoHost.merge's tests, and for each one
 * the same answer as GitRepoHost.merge (git read-tree -m and merge-file) on the same commits:
 * the same conflicting paths, or the same merged tree.
 */
import { execFileSync } from "node:child_process";
import type { Octokit } from "@octokit/rest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BranchConflict } from "../../src/errors.js";
import type { GitHubClient } from "../../src/github/client.js";
import { APP_IDENTITY } from "../../src/github/client.js";
import { OctokitRepoHost } from "../../src/github/repo.js";
import { GitRepoHost } from "../../src/local/git.js";
import type { MergeResult } from "../../src/ports.js";
import { type FakeGitHub, startFakeGitHub } from "./fake/index.js";
import { installationOctokit } from "./fake/testing.js";

const AT = { at: "2025-03-01T12:00:00Z" };
const where = { owner: "octo-org", repo: "tiny" };
const TRAIN = `import os

LR = 0.1
BATCH = 32

def train():
    for step in range(100):
        loss = step * LR

    return loss

if __name__ == "__main__":
    print(f"val_loss: {train()}")
`;

let gh: FakeGitHub;
let o: Octokit;
let head: string;
beforeAll(async () => {
  gh = await startFakeGitHub({ seedFiles: { "a.txt": "1\n2\n3\n4\n5\n", "sub/b.txt": "b\n", "train.py": TRAIN } });
  o = await installationOctokit(gh);
  head = (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
}, 60_000);
afterAll(async () => {
  await gh?.close();
});
afterEach(() => {
  expect(gh.problems.splice(0)).toEqual([]);
});

/** The App's host over the fake (it only uses `rest.git`, which a plain Octokit has alike). */
const host = () => new OctokitRepoHost(o as unknown as GitHubClient, where);
const git = (...args: string[]) => execFileSync("git", args, { cwd: gh.repoDir, encoding: "utf8" }).trim();
const show = (commit: string, path: string) => execFileSync("git", ["cat-file", "blob", `${commit}:${path}`], { cwd: gh.repoDir, encoding: "utf8" });

type Entry = { mode?: "100644" | "100755" | "120000"; content?: string; bytes?: Buffer } | null;

/** A commit on `parent` whose files differ by `files` (null deletes), made through the API. */
async function commitOn(parent: string, files: Record<string, Entry>, message = "c"): Promise<string> {
  const baseTree = (await o.rest.git.getCommit({ ...where, commit_sha: parent })).data.tree.sha;
  const tree = await Promise.all(
    Object.entries(files).map(async ([path, f]) => {
      if (f === null) return { path, mode: "100644" as const, type: "blob" as const, sha: null };
      const content = f.bytes ?? Buffer.from(f.content ?? "");
      const blob = await o.rest.git.createBlob({ ...where, content: content.toString("base64"), encoding: "base64" });
      return { path, mode: f.mode ?? ("100644" as const), type: "blob" as const, sha: blob.data.sha };
    }),
  );
  const t = await o.rest.git.createTree({ ...where, base_tree: baseTree, tree });
  const who = { name: "t", email: "t@example.com", date: AT.at };
  return (await o.rest.git.createCommit({ ...where, message, tree: t.data.sha, parents: [parent], author: who, committer: who })).data.sha;
}

const text = (content: string): Entry => ({ content });

/** Refs and what changed the repository: neither moves nor is written when a merge conflicts. */
const refs = () => git("for-each-ref", "--format=%(refname) %(objectname)");

/** Merges through the App's host and through git on the same commits; they must agree. */
async function merged(base: string, ours: string, theirs: string, message = "the candidate, on the new best"): Promise<MergeResult> {
  const r = await host().merge(base, ours, theirs, message, AT);
  const byGit = await new GitRepoHost(gh.repoDir).merge(base, ours, theirs, message, AT);
  if (r.ok && byGit.ok) expect(git("rev-parse", `${r.commit}^{tree}`)).toBe(git("rev-parse", `${byGit.commit}^{tree}`));
  else expect(r).toEqual(byGit);
  return r;
}

describe("OctokitRepoHost.merge", () => {
  it("re-applies the candidate's change on the new best: one commit, one parent, dated as asked, no branch moved", async () => {
    const ours = await commitOn(head, { "a.txt": text("ONE\n2\n3\n4\n5\n") });
    const theirs = await commitOn(head, { "sub/b.txt": text("B\n"), "new.txt": text("n\n") });
    const before = refs();
    const r = await merged(head, ours, theirs);
    if (!r.ok) throw new Error(`unexpected conflict: ${r.conflicts.join(", ")}`);
    expect(refs()).toBe(before);
    expect(git("rev-list", "--parents", "-n", "1", r.commit).split(" ")).toEqual([r.commit, ours]);
    expect(git("log", "-1", "--format=%B", r.commit)).toBe("the candidate, on the new best");
    expect(git("log", "-1", "--format=%an <%ae> %aI|%cn <%ce> %cI", r.commit)).toBe(
      `${APP_IDENTITY.name} <${APP_IDENTITY.email}> 2025-03-01T12:00:00+00:00|${APP_IDENTITY.name} <${APP_IDENTITY.email}> 2025-03-01T12:00:00+00:00`,
    );
    expect(show(r.commit, "a.txt")).toBe("ONE\n2\n3\n4\n5\n");
    expect(show(r.commit, "sub/b.txt")).toBe("B\n");
    expect(show(r.commit, "new.txt")).toBe("n\n");
    // The diff is against the new best: the candidate's change only.
    expect(r.diff).toContain("+B");
    expect(r.diff).toContain("+++ b/new.txt");
    expect(r.diff).not.toContain("ONE");
    expect({ added: r.linesAdded, removed: r.linesRemoved }).toEqual({ added: 2, removed: 1 });
    // Done twice, the same commit.
    const again = await host().merge(head, ours, theirs, "the candidate, on the new best", AT);
    expect(again.ok && again.commit).toBe(r.commit);
  });

  it("merges the lines of a file both sides changed apart, as git merge-file does", async () => {
    const ours = await commitOn(head, { "a.txt": text("ONE\n2\n3\n4\n5\n"), "train.py": text(TRAIN.replace("LR = 0.1", "LR = 0.05")) });
    const theirs = await commitOn(head, { "a.txt": text("1\n2\n3\n4\nFIVE\n"), "train.py": text(TRAIN.replace("range(100)", "range(200)")) });
    const r = await merged(head, ours, theirs);
    if (!r.ok) throw new Error(`unexpected conflict: ${r.conflicts.join(", ")}`);
    expect(show(r.commit, "a.txt")).toBe("ONE\n2\n3\n4\nFIVE\n");
    expect(show(r.commit, "train.py")).toBe(TRAIN.replace("LR = 0.1", "LR = 0.05").replace("range(100)", "range(200)"));
    expect(r.diff).toContain("-    for step in range(100):\n+    for step in range(200):");
    expect({ added: r.linesAdded, removed: r.linesRemoved }).toEqual({ added: 2, removed: 2 });
  });

  it("reports the conflicting paths of overlapping changes, and writes nothing", async () => {
    const ours = await commitOn(head, { "a.txt": text("1\nBEST\n3\n4\n5\n"), "train.py": text(TRAIN.replace("LR = 0.1", "LR = 0.05")) });
    const theirs = await commitOn(head, { "a.txt": text("1\nMINE\n3\n4\n5\n"), "train.py": text(TRAIN.replace("LR = 0.1", "LR = 0.2")), "c.txt": text("c\n") });
    const before = refs();
    const from = gh.calls.length;
    const r = await host().merge(head, ours, theirs, "m", AT);
    expect(r).toEqual({ ok: false, conflicts: ["a.txt", "train.py"] });
    expect(gh.calls.slice(from).filter((c) => c.method !== "GET")).toEqual([]);
    expect(refs()).toBe(before);
    await merged(head, ours, theirs);
  });

  it.each([
    ["changed on one side, deleted on the other", { "a.txt": text("changed\n") }, { "a.txt": null }],
    ["deleted on one side, changed on the other", { "a.txt": null }, { "a.txt": text("1\n2\n3\n4\nchanged\n") }],
    ["added on both sides with different contents", { "add.txt": text("ours\n") }, { "add.txt": text("theirs\n") }],
    ["a binary file changed on both sides", { "bin.dat": { bytes: Buffer.from([0, 1, 9]) } }, { "bin.dat": { bytes: Buffer.from([0, 1, 2, 7]) } }],
    ["a link changed on both sides", { link: { mode: "120000", content: "ours" } }, { link: { mode: "120000", content: "theirs" } }],
  ] as [string, Record<string, Entry>, Record<string, Entry>][])("a conflict: %s", async (_name, mine, other) => {
    const start = await commitOn(head, { "bin.dat": { bytes: Buffer.from([0, 1, 2]) }, link: { mode: "120000", content: "a.txt" } });
    const ours = await commitOn(start, mine);
    const theirs = await commitOn(start, other);
    const r = await merged(start, ours, theirs);
    expect(r).toEqual({ ok: false, conflicts: [Object.keys(mine)[0]] });
  });

  it("a file where the other side has a folder is a conflict", async () => {
    const ours = await commitOn(head, { "sub/b.txt": null, sub: text("now a file\n") });
    const theirs = await commitOn(head, { "sub/c.txt": text("c\n") });
    expect(await host().merge(head, ours, theirs, "m", AT)).toEqual({ ok: false, conflicts: ["sub/c.txt"] });
  });

  it("takes a change made on one side whole: deletions, binary files, links, modes", async () => {
    const start = await commitOn(head, {
      "bin.dat": { bytes: Buffer.from([0, 1, 2]) },
      link: { mode: "120000", content: "a.txt" },
      "run.sh": { mode: "100755", content: "#!/bin/sh\necho base\n" },
    });
    const ours = await commitOn(start, { "run.sh": { mode: "100755", content: "#!/bin/sh\necho best\n" }, "a.txt": text("1\n2\n3\n4\nbest\n") });
    const theirs = await commitOn(start, {
      "sub/b.txt": null,
      "bin.dat": { bytes: Buffer.from([0, 1, 2, 3]) },
      link: { mode: "120000", content: "train.py" },
      // The candidate made a.txt executable and changed its first line: both kept, with the best's last line.
      "a.txt": { mode: "100755", content: "ONE\n2\n3\n4\n5\n" },
    });
    const r = await merged(start, ours, theirs);
    if (!r.ok) throw new Error(`unexpected conflict: ${r.conflicts.join(", ")}`);
    expect(git("ls-tree", "-r", "--format=%(objectmode) %(path)", r.commit).split("\n")).toEqual(
      expect.arrayContaining(["100755 a.txt", "100755 run.sh", "120000 link", "100644 bin.dat"]),
    );
    expect(git("ls-tree", "-r", "--name-only", r.commit).split("\n")).not.toContain("sub/b.txt");
    expect(show(r.commit, "a.txt")).toBe("ONE\n2\n3\n4\nbest\n");
    expect(show(r.commit, "run.sh")).toBe("#!/bin/sh\necho best\n");
    expect(r.diff).toContain("Binary files a/bin.dat and b/bin.dat differ");
    expect(r.diff).toContain("+++ /dev/null");
  });

  it("keeps bytes that are not UTF-8 as they are", async () => {
    const start = await commitOn(head, { "latin1.txt": { bytes: Buffer.from("caf\xe9\n2\n3\n4\n", "latin1") } });
    const ours = await commitOn(start, { "latin1.txt": { bytes: Buffer.from("CAF\xc9\n2\n3\n4\n", "latin1") } });
    const theirs = await commitOn(start, { "latin1.txt": { bytes: Buffer.from("caf\xe9\n2\n3\nna\xefve\n", "latin1") } });
    const r = await merged(start, ours, theirs);
    if (!r.ok) throw new Error("unexpected conflict");
    expect(execFileSync("git", ["cat-file", "blob", `${r.commit}:latin1.txt`], { cwd: gh.repoDir })).toEqual(
      Buffer.from("CAF\xc9\n2\n3\nna\xefve\n", "latin1"),
    );
  });

  it("makes a commit of the best's tree when the candidate's change is already there (a no-op)", async () => {
    const ours = await commitOn(head, { "a.txt": text("1\n2\nSAME\n4\n5\n") });
    const theirs = await commitOn(head, { "a.txt": text("1\n2\nSAME\n4\n5\n") });
    const r = await merged(head, ours, theirs);
    if (!r.ok) throw new Error("unexpected conflict");
    expect(git("rev-parse", `${r.commit}^{tree}`)).toBe(git("rev-parse", `${ours}^{tree}`));
    expect(git("rev-list", "--parents", "-n", "1", r.commit).split(" ")).toEqual([r.commit, ours]);
    expect({ diff: r.diff, added: r.linesAdded, removed: r.linesRemoved }).toEqual({ diff: "", added: 0, removed: 0 });
  });

  it("uses the merge base it is given, not one it computes: only the candidate's own change is carried", async () => {
    // The candidate was made on `mid` (a best later replaced as a whole by `other`, also on head).
    const mid = await commitOn(head, { "sub/b.txt": text("mid\n") });
    const cand = await commitOn(mid, { "a.txt": text("1\n2\nCAND\n4\n5\n") });
    const other = await commitOn(head, { "run.sh": { mode: "100755", content: "#!/bin/sh\necho other\n" } });
    const r = await merged(mid, other, cand);
    if (!r.ok) throw new Error("unexpected conflict");
    expect(show(r.commit, "a.txt")).toBe("1\n2\nCAND\n4\n5\n");
    expect(show(r.commit, "sub/b.txt")).toBe("b\n");
    expect(show(r.commit, "run.sh")).toBe("#!/bin/sh\necho other\n");
  });

  it("reads the three trees and only the blobs of the paths it merges or changes", async () => {
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`many/f${i}.txt`, text(`${i}\n`)]));
    const start = await commitOn(head, many);
    const ours = await commitOn(start, { "a.txt": text("ONE\n2\n3\n4\n5\n"), "many/f1.txt": text("best\n") });
    const theirs = await commitOn(start, { "a.txt": text("1\n2\n3\n4\nFIVE\n"), "many/f2.txt": text("cand\n") });
    const from = gh.calls.length;
    const r = await host().merge(start, ours, theirs, "m", AT);
    expect(r.ok).toBe(true);
    const calls = gh.calls.slice(from).map((c) => `${c.method} ${c.template ?? c.path}`);
    const count = (what: string) => calls.filter((c) => c.endsWith(what)).length;
    expect(count("/git/commits/{commit_sha}")).toBe(3);
    expect(count("/git/trees/{tree_sha}")).toBe(3);
    // a.txt: base, ours and theirs; many/f2.txt: ours (= base) and theirs, for the diff.
    expect(count("/git/blobs/{file_sha}")).toBe(5);
    expect(calls.filter((c) => c.startsWith("POST"))).toEqual(["POST /repos/{owner}/{repo}/git/trees", "POST /repos/{owner}/{repo}/git/commits"]);
  });
});

describe("OctokitRepoHost.setBranch", () => {
  it("moves a branch to a commit that is not a descendant (a superseding keep), and only from the commit expected", async () => {
    const a = await commitOn(head, { "a.txt": text("a\n") }, "best so far");
    const b = await commitOn(head, { "a.txt": text("b\n") }, "a candidate made on the old best, which supersedes it");
    const h = host();
    await h.setBranch("autoresearch/9/best", a, null);
    // Not a fast-forward from a: moved all the same, because it is where the ledger says.
    await h.setBranch("autoresearch/9/best", b, a);
    expect(git("rev-parse", "refs/heads/autoresearch/9/best")).toBe(b);
    // From a commit it is not at (someone moved it; this process's cache is stale too): refused, nothing moves.
    const fresh = host();
    await expect(fresh.setBranch("autoresearch/9/best", a, head)).rejects.toBeInstanceOf(BranchConflict);
    await expect(h.setBranch("autoresearch/9/best", a, a)).rejects.toBeInstanceOf(BranchConflict);
    expect(git("rev-parse", "refs/heads/autoresearch/9/best")).toBe(b);
  });
});
