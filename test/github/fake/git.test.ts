/**
 * Git Data through a real Octokit against the fake: what the API writes is real git in the bare
 * repository, and refs follow GitHub's rules (fast-forward unless forced, 422 on conflicts).
 */
import { execFileSync } from "node:child_process";
import type { Octokit } from "@octokit/rest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./index.js";
import { installationOctokit } from "./testing.js";

let gh: FakeGitHub;
let o: Octokit;
const where = { owner: "octo-org", repo: "tiny" };

beforeAll(async () => {
  gh = await startFakeGitHub({ seedFiles: { "train.mjs": "const LR = 0.1;\n", "data/a.txt": "a\n", "data/b.txt": "b\n" } });
  o = await installationOctokit(gh);
});
afterAll(async () => {
  await gh?.close();
});
afterEach(() => {
  expect(gh.problems.splice(0)).toEqual([]);
});

const git = (...args: string[]) => execFileSync("git", args, { cwd: gh.repoDir, encoding: "utf8" }).trim();
const status = async (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { status: number; response?: { data?: { message?: string } } }) => `${e.status} ${e.response?.data?.message ?? ""}`,
  );

async function mainSha(): Promise<string> {
  return (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
}

describe("blobs, trees and commits", () => {
  it("writes a blob (utf-8 and base64) and reads it back as GitHub's wrapped base64", async () => {
    const a = await o.rest.git.createBlob({ ...where, content: "hello\n" });
    const b = await o.rest.git.createBlob({ ...where, content: Buffer.from("hello\n").toString("base64"), encoding: "base64" });
    expect(a.status).toBe(201);
    expect(a.data.sha).toBe(b.data.sha);
    expect(a.data.sha).toBe(execFileSync("git", ["hash-object", "--stdin"], { input: "hello\n", encoding: "utf8" }).trim());
    const read = await o.rest.git.getBlob({ ...where, file_sha: a.data.sha });
    expect(read.data.encoding).toBe("base64");
    expect(Buffer.from(read.data.content, "base64").toString("utf8")).toBe("hello\n");
    expect(read.data.size).toBe(6);
    expect(await status(o.rest.git.getBlob({ ...where, file_sha: "0".repeat(40) }))).toMatch(/^404/);
  });

  it("builds a tree on a base: nested paths, deletions with sha null, content entries", async () => {
    const base = (await o.rest.git.getCommit({ ...where, commit_sha: await mainSha() })).data.tree.sha;
    const blob = (await o.rest.git.createBlob({ ...where, content: "const LR = 0.2;\n" })).data.sha;
    const t = await o.rest.git.createTree({
      ...where,
      base_tree: base,
      tree: [
        { path: "train.mjs", mode: "100644", type: "blob", sha: blob },
        { path: "data/a.txt", mode: "100644", type: "blob", sha: null },
        { path: "new/deep/file.txt", mode: "100644", type: "blob", content: "deep\n" },
      ],
    });
    expect(t.status).toBe(201);
    const files = git("ls-tree", "-r", "--name-only", t.data.sha).split("\n");
    expect(files).toEqual(expect.arrayContaining(["train.mjs", "data/b.txt", "new/deep/file.txt"]));
    expect(files).not.toContain("data/a.txt");
    expect(git("cat-file", "blob", `${t.data.sha}:train.mjs`)).toBe("const LR = 0.2;");
    // The answer lists the top level only; recursive=1 lists every entry with trees.
    expect(t.data.tree.map((e) => e.path)).not.toContain("new/deep/file.txt");
    const rec = await o.rest.git.getTree({ ...where, tree_sha: t.data.sha, recursive: "1" });
    expect(rec.data.truncated).toBe(false);
    expect(rec.data.tree.map((e) => `${e.type} ${e.path}`)).toEqual(
      expect.arrayContaining(["tree new", "tree new/deep", "blob new/deep/file.txt", "blob data/b.txt"]),
    );
    const flat = await o.rest.git.getTree({ ...where, tree_sha: t.data.sha });
    expect(flat.data.tree.map((e) => e.path)).not.toContain("new/deep/file.txt");
  });

  it("refuses malformed tree entries with 422", async () => {
    const base = (await o.rest.git.getCommit({ ...where, commit_sha: await mainSha() })).data.tree.sha;
    expect(await status(o.rest.git.createTree({ ...where, base_tree: base, tree: [{ path: "../x", mode: "100644", type: "blob", content: "x" }] }))).toMatch(
      /^422/,
    );
    expect(
      await status(o.rest.git.createTree({ ...where, base_tree: base, tree: [{ path: "x", mode: "100644", type: "blob", sha: "1".repeat(40) }] })),
    ).toMatch(/^422/);
    expect(
      await status(o.rest.git.createTree({ ...where, base_tree: "2".repeat(40), tree: [{ path: "x", mode: "100644", type: "blob", content: "x" }] })),
    ).toMatch(/^422/);
  });

  it("writes commits exactly as given: author, committer and dates, so the same request gives the same sha", async () => {
    const parent = await mainSha();
    const tree = (await o.rest.git.getCommit({ ...where, commit_sha: parent })).data.tree.sha;
    const who = { name: "autoresearch[bot]", email: "1+autoresearch[bot]@users.noreply.github.com", date: "2024-05-01T12:00:00Z" };
    const make = () =>
      o.rest.git.createCommit({
        ...where,
        message: "experiment 1\n\nwhy",
        tree,
        parents: [parent],
        author: who,
        committer: { ...who, date: "2024-05-01T12:00:05+02:00" },
      });
    const a = await make();
    const b = await make();
    expect(a.status).toBe(201);
    expect(a.data.sha).toBe(b.data.sha);
    expect(git("cat-file", "-p", a.data.sha)).toContain("author autoresearch[bot] <1+autoresearch[bot]@users.noreply.github.com> 1714564800 +0000");
    expect(git("cat-file", "-p", a.data.sha)).toContain("committer autoresearch[bot] <1+autoresearch[bot]@users.noreply.github.com> 1714557605 +0200");
    expect(a.data.author.date).toBe("2024-05-01T12:00:00Z");
    expect(a.data.committer.date).toBe("2024-05-01T10:00:05Z");
    expect(a.data.parents.map((p) => p.sha)).toEqual([parent]);
    expect(a.data.message).toBe("experiment 1\n\nwhy");
    expect(a.data.verification.verified).toBe(false);
    const read = await o.rest.git.getCommit({ ...where, commit_sha: a.data.sha });
    expect(read.data).toEqual(a.data);
  });

  it("refuses a commit on a missing tree or parent with 422, and reads a missing commit as 404", async () => {
    const parent = await mainSha();
    const tree = (await o.rest.git.getCommit({ ...where, commit_sha: parent })).data.tree.sha;
    expect(await status(o.rest.git.createCommit({ ...where, message: "m", tree: "3".repeat(40), parents: [parent] }))).toBe("422 Tree SHA does not exist");
    expect(await status(o.rest.git.createCommit({ ...where, message: "m", tree, parents: ["4".repeat(40)] }))).toBe(
      "422 Parent SHA does not exist or is not a commit object",
    );
    expect(await status(o.rest.git.getCommit({ ...where, commit_sha: "5".repeat(40) }))).toMatch(/^404/);
  });
});

describe("refs", () => {
  async function commitOn(parent: string, content: string): Promise<string> {
    const tree = (await o.rest.git.getCommit({ ...where, commit_sha: parent })).data.tree.sha;
    const t = await o.rest.git.createTree({ ...where, base_tree: tree, tree: [{ path: "train.mjs", mode: "100644", type: "blob", content }] });
    return (await o.rest.git.createCommit({ ...where, message: content, tree: t.data.sha, parents: [parent] })).data.sha;
  }

  it("creates, reads, lists, moves (fast-forward, forced) and deletes branches", async () => {
    const base = await mainSha();
    const c1 = await commitOn(base, "one");
    const created = await o.rest.git.createRef({ ...where, ref: "refs/heads/autoresearch/1/best", sha: c1 });
    expect(created.status).toBe(201);
    expect(created.data.ref).toBe("refs/heads/autoresearch/1/best");
    expect(git("rev-parse", "refs/heads/autoresearch/1/best")).toBe(c1);
    expect(await status(o.rest.git.createRef({ ...where, ref: "refs/heads/autoresearch/1/best", sha: c1 }))).toBe("422 Reference already exists");
    await o.rest.git.createRef({ ...where, ref: "refs/heads/autoresearch/1/2", sha: c1 });
    await o.rest.git.createRef({ ...where, ref: "refs/heads/autoresearch/10/1", sha: c1 });

    const got = await o.rest.git.getRef({ ...where, ref: "heads/autoresearch/1/best" });
    expect(got.data.object).toMatchObject({ sha: c1, type: "commit" });
    expect(await status(o.rest.git.getRef({ ...where, ref: "heads/autoresearch/1" }))).toMatch(/^404/);

    const under1 = await o.rest.git.listMatchingRefs({ ...where, ref: "heads/autoresearch/1/" });
    expect(under1.data.map((r) => r.ref).sort()).toEqual(["refs/heads/autoresearch/1/2", "refs/heads/autoresearch/1/best"]);
    // A prefix, not a folder: autoresearch/1 matches autoresearch/10 too, as on GitHub.
    const prefix = await o.rest.git.listMatchingRefs({ ...where, ref: "heads/autoresearch/1" });
    expect(prefix.data).toHaveLength(3);
    expect((await o.rest.git.listMatchingRefs({ ...where, ref: "heads/nothing-here" })).data).toEqual([]);

    const c2 = await commitOn(c1, "two");
    const moved = await o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/1/best", sha: c2, force: false });
    expect(moved.data.object.sha).toBe(c2);
    const sideways = await commitOn(c1, "sideways");
    expect(await status(o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/1/best", sha: sideways, force: false }))).toBe(
      "422 Update is not a fast forward",
    );
    expect(await status(o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/1/best", sha: sideways }))).toBe("422 Update is not a fast forward");
    expect(git("rev-parse", "refs/heads/autoresearch/1/best")).toBe(c2);
    await o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/1/best", sha: sideways, force: true });
    expect(git("rev-parse", "refs/heads/autoresearch/1/best")).toBe(sideways);
    expect(await status(o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/nope", sha: c2, force: true }))).toBe("422 Reference does not exist");

    const del = await o.rest.git.deleteRef({ ...where, ref: "heads/autoresearch/1/2" });
    expect(del.status).toBe(204);
    expect(await status(o.rest.git.deleteRef({ ...where, ref: "heads/autoresearch/1/2" }))).toBe("422 Reference does not exist");
    expect(git("for-each-ref", "--format=%(refname)", "refs/heads/autoresearch/1/")).toBe("refs/heads/autoresearch/1/best");
  });

  it("lets one of two concurrent fast-forward updates from the same base win (compare-and-swap)", async () => {
    const base = await mainSha();
    await o.rest.git.createRef({ ...where, ref: "refs/heads/autoresearch/ledger", sha: base });
    const [a, b] = await Promise.all([commitOn(base, "ledger a"), commitOn(base, "ledger b")]);
    const results = await Promise.all([a, b].map((sha) => status(o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/ledger", sha, force: false }))));
    expect(results.sort()).toEqual([200, "422 Update is not a fast forward"]);
    expect([a, b]).toContain(git("rev-parse", "refs/heads/autoresearch/ledger"));
  });

  it("refuses malformed ref names and missing objects", async () => {
    const base = await mainSha();
    expect(await status(o.rest.git.createRef({ ...where, ref: "heads/x", sha: base }))).toMatch(/^422/);
    expect(await status(o.rest.git.createRef({ ...where, ref: "refs/heads/x..y", sha: base }))).toMatch(/^422/);
    expect(await status(o.rest.git.createRef({ ...where, ref: "refs/heads/x", sha: "6".repeat(40) }))).toBe("422 Object does not exist");
    expect(await status(o.rest.git.deleteRef({ ...where, ref: "heads/main" }))).toMatch(/^422/);
  });

  it("compares two commits: ahead, behind, the commits and the changed files", async () => {
    const base = await mainSha();
    const c1 = await commitOn(base, "compare one");
    const c2 = await commitOn(c1, "compare two");
    await o.rest.git.createRef({ ...where, ref: "refs/heads/autoresearch/7/best", sha: c2 });
    const r = await o.rest.repos.compareCommitsWithBasehead({ ...where, basehead: "main...autoresearch/7/best" });
    expect(r.data).toMatchObject({ status: "ahead", ahead_by: 2, behind_by: 0, total_commits: 2 });
    expect(r.data.commits.map((c) => c.sha)).toEqual([c1, c2]);
    expect(r.data.merge_base_commit.sha).toBe(base);
    expect(r.data.files?.map((f) => [f.filename, f.status])).toEqual([["train.mjs", "modified"]]);
    const back = await o.rest.repos.compareCommitsWithBasehead({ ...where, basehead: `${c2}...main` });
    expect(back.data).toMatchObject({ status: "behind", ahead_by: 0, behind_by: 2 });
  });
});
