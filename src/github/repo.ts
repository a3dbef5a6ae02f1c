/**
 * The RepoHost over GitHub's Git Data API: reads files through trees and blobs (cached: both are
 * named by their content), commits edits as one tree and one commit dated from the ledger, and
 * moves branches with a compare-and-swap. Diffs are computed here from the contents, which costs no
 * request.
 */
import { createTwoFilesPatch, diffLines } from "diff";
import { boundDiff } from "../core/diff.js";
import { BranchConflict, EditError, SurfaceViolation } from "../errors.js";
import type { CommitOptions, CommitResult, MergeResult, RepoHost } from "../ports.js";
import { APP_IDENTITY, apiError, call, type GitHubClient, type RepoRef, statusOf } from "./client.js";
import { isBinary, mergeText } from "./merge-text.js";

interface TreeEntry {
  path: string;
  mode: string;
  type: string;
  sha: string;
}

/** Entries kept in each cache before the oldest go (trees, blobs and commits are immutable). */
const CACHE_ENTRIES = 2_000;

/** A small insertion-ordered cache: immutable objects need no invalidation, only a bound. */
class Bounded<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  delete(k: K): void {
    this.map.delete(k);
  }
  set(k: K, v: V): V {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
    return v;
  }
}

export class OctokitRepoHost implements RepoHost {
  private readonly trees = new Bounded<string, Promise<Map<string, TreeEntry>>>(CACHE_ENTRIES);
  private readonly blobs = new Bounded<string, Promise<Buffer>>(CACHE_ENTRIES);
  private readonly commitTrees = new Bounded<string, Promise<string>>(CACHE_ENTRIES);
  /**
   * Branches known to exist, by name, and their commits: set by this process, or listed with
   * `knownUnder`. They let a creation skip a branch already made, and a driver find branches left to clean.
   */
  private readonly known = new Map<string, string>();

  constructor(
    private readonly gh: GitHubClient,
    private readonly where: RepoRef,
  ) {}

  async readFiles(commit: string, paths: string[]): Promise<Record<string, string | undefined>> {
    const tree = await this.treeOf(commit);
    const out: Record<string, string | undefined> = {};
    await Promise.all(
      paths.map(async (p) => {
        const e = tree.get(p);
        out[p] = e && e.type === "blob" ? await this.blob(e.sha) : undefined;
      }),
    );
    return out;
  }

  async listFiles(commit: string): Promise<string[]> {
    return [...(await this.treeOf(commit)).values()].filter((e) => e.type === "blob").map((e) => e.path);
  }

  async commit(parent: string, files: Record<string, string>, message: string, options: CommitOptions): Promise<CommitResult> {
    const bad = Object.keys(files).filter(
      (p) => p === "" || p.startsWith("/") || p.split("/").some((s) => s === "" || s === "." || s === ".." || s.toLowerCase() === ".git"),
    );
    if (bad.length > 0) throw new SurfaceViolation(`refusing to commit paths outside the repository or inside .git: ${bad.join(", ")}`, bad);
    const tree = await this.treeOf(parent);
    for (const p of Object.keys(files)) {
      const parts = p.split("/");
      const above = parts
        .slice(0, -1)
        .map((_, i) => parts.slice(0, i + 1).join("/"))
        .find((q) => tree.get(q)?.type === "blob");
      if (above !== undefined) throw new EditError(`cannot write ${p}: ${above} is a file at the parent commit`, p);
      if (tree.get(p)?.type === "tree") throw new EditError(`cannot write ${p}: it is a folder at the parent commit`, p);
    }
    const before = await this.readFiles(parent, Object.keys(files));
    const { owner, repo } = this.where;
    const baseTree = await this.treeShaOf(parent);
    const entries = Object.entries(files).map(([path, content]) => ({
      path,
      // An executable file stays executable; everything else (new files included) is 100644.
      mode: (tree.get(path)?.mode === "100755" ? "100755" : "100644") as "100755" | "100644",
      type: "blob" as const,
      content,
    }));
    const newTree = await call("create tree", () => this.gh.rest.git.createTree({ owner, repo, base_tree: baseTree, tree: entries }));
    const who = { ...APP_IDENTITY, date: options.at };
    const made = await call("create commit", () =>
      this.gh.rest.git.createCommit({ owner, repo, message, tree: newTree.data.sha, parents: [parent], author: who, committer: who }),
    );
    const sha = made.data.sha;
    this.commitTrees.set(sha, Promise.resolve(newTree.data.sha));
    let added = 0;
    let removed = 0;
    let diff = "";
    for (const [path, content] of Object.entries(files)) {
      const old = before[path];
      for (const part of diffLines(old ?? "", content)) {
        if (part.added) added += part.count ?? 0;
        else if (part.removed) removed += part.count ?? 0;
      }
      diff += createTwoFilesPatch(old === undefined ? "/dev/null" : `a/${path}`, `b/${path}`, old ?? "", content, "", "", { context: 3 })
        .split("\n")
        .slice(1)
        .join("\n");
    }
    return { commit: sha, diff: boundDiff(diff, parent, sha), linesAdded: added, linesRemoved: removed };
  }

  /**
   * RepoHost.merge over the Git Data API. GitHub has no single-parent three-way merge (its merge
   * endpoints make two-parent commits on a branch), so it is done here as GitRepoHost.merge does
   * it with git: the three trees are read (one request each, cached); a path changed on one side
   * only takes that side, one changed alike on both sides stays (git's `read-tree -m
   * --aggressive`); a text file both sides changed is merged line by line (mergeText, as `git
   * merge-file`); anything else is a conflict (overlapping changes, binary content, changed and
   * deleted, added twice, a mode or a link changed on both sides, a file where the other side has
   * a folder). Blobs are read only for paths the merge changes. Nothing is written until the
   * merge is known to be clean; then one tree on ours' tree (and a blob for merged bytes that are
   * not UTF-8) and one commit. No branch moves.
   */
  async merge(base: string, ours: string, theirs: string, message: string, options: CommitOptions): Promise<MergeResult> {
    const [b, o, t] = await Promise.all([this.treeOf(base), this.treeOf(ours), this.treeOf(theirs)]);
    const files = (tree: Map<string, TreeEntry>) => new Map([...tree].filter(([, e]) => e.type !== "tree"));
    const [fb, fo, ft] = [files(b), files(o), files(t)];
    /** Path -> its entry in the merged tree (null: deleted), or merged bytes with their mode. */
    const changes = new Map<string, TreeEntry | null | { mode: string; bytes: Buffer }>();
    const conflicts: string[] = [];
    const contentMerges: Promise<void>[] = [];
    for (const path of new Set([...fb.keys(), ...fo.keys(), ...ft.keys()])) {
      const [x, y, z] = [fb.get(path), fo.get(path), ft.get(path)];
      if (sameEntry(y, z) || sameEntry(x, z)) continue;
      if (sameEntry(x, y)) changes.set(path, z ?? null);
      else if (x && y && z && x.type === "blob" && regularFile(y) && regularFile(z) && (y.mode === z.mode || y.mode === x.mode || z.mode === x.mode))
        contentMerges.push(
          (async () => {
            const [bb, ob, tb] = await Promise.all([this.blobBytes(x.sha), this.blobBytes(y.sha), this.blobBytes(z.sha)]);
            const r = mergeText(bb, ob, tb);
            // The mode one side changed wins, as in git (both changing it alike is no change of the other).
            if (r.ok) changes.set(path, { mode: y.mode === x.mode ? z.mode : y.mode, bytes: r.merged });
            else conflicts.push(path);
          })(),
        );
      else conflicts.push(path);
    }
    await Promise.all(contentMerges);
    // A file where the merged tree has a folder, or below a file: git's directory/file conflict.
    const merged = new Set(fo.keys());
    for (const [path, c] of changes) c ? merged.add(path) : merged.delete(path);
    for (const [path, c] of changes) {
      if (!c) continue;
      const parts = path.split("/");
      const above = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
      if (above.some((q) => merged.has(q)) || [...merged].some((q) => q.startsWith(`${path}/`))) conflicts.push(path);
    }
    if (conflicts.length > 0) return { ok: false, conflicts: [...new Set(conflicts)].sort() };

    const { owner, repo } = this.where;
    const oursTree = await this.treeShaOf(ours);
    let tree = oursTree;
    const paths = [...changes.keys()].sort();
    if (paths.length > 0) {
      const entries = await Promise.all(
        paths.map(async (path) => {
          const c = changes.get(path) ?? null;
          const was = fo.get(path) as TreeEntry;
          // null deletes the path.
          if (c === null) return { path, mode: was.mode as TreeMode, type: (was.type === "commit" ? "commit" : "blob") as "commit" | "blob", sha: null };
          if (!("bytes" in c)) return { path, mode: c.mode as TreeMode, type: (c.type === "commit" ? "commit" : "blob") as "commit" | "blob", sha: c.sha };
          const text = c.bytes.toString("utf8");
          if (Buffer.from(text, "utf8").equals(c.bytes)) return { path, mode: c.mode as TreeMode, type: "blob" as const, content: text };
          // Bytes that are not UTF-8 (a Latin-1 comment) cannot travel as tree content: a blob of their own.
          const blob = await call("create blob", () => this.gh.rest.git.createBlob({ owner, repo, content: c.bytes.toString("base64"), encoding: "base64" }));
          return { path, mode: c.mode as TreeMode, type: "blob" as const, sha: blob.data.sha };
        }),
      );
      tree = (await call("create tree", () => this.gh.rest.git.createTree({ owner, repo, base_tree: oursTree, tree: entries }))).data.sha;
    }
    const who = { ...APP_IDENTITY, date: options.at };
    const made = await call("create commit", () => this.gh.rest.git.createCommit({ owner, repo, message, tree, parents: [ours], author: who, committer: who }));
    const sha = made.data.sha;
    this.commitTrees.set(sha, Promise.resolve(tree));
    let added = 0;
    let removed = 0;
    let diff = "";
    for (const path of paths) {
      const c = changes.get(path) ?? null;
      const [before, after] = await Promise.all([this.entryBytes(fo.get(path)), c && "bytes" in c ? c.bytes : this.entryBytes(c ?? undefined)]);
      const [from, to] = [before === undefined ? "/dev/null" : `a/${path}`, after === undefined ? "/dev/null" : `b/${path}`];
      if ((before && isBinary(before)) || (after && isBinary(after))) {
        // As git shows them, with no lines counted.
        diff += `Binary files ${from} and ${to} differ\n`;
        continue;
      }
      const [old, now] = [before?.toString("utf8") ?? "", after?.toString("utf8") ?? ""];
      for (const part of diffLines(old, now)) {
        if (part.added) added += part.count ?? 0;
        else if (part.removed) removed += part.count ?? 0;
      }
      diff += createTwoFilesPatch(from, to, old, now, "", "", { context: 3 }).split("\n").slice(1).join("\n");
    }
    return { ok: true, commit: sha, diff: boundDiff(diff, ours, sha), linesAdded: added, linesRemoved: removed };
  }

  /** What a diff shows of a tree entry: a file's bytes, a submodule's commit as git prints it. */
  private async entryBytes(e: TreeEntry | undefined): Promise<Buffer | undefined> {
    if (!e) return undefined;
    return e.type === "commit" ? Buffer.from(`Subproject commit ${e.sha}\n`) : await this.blobBytes(e.sha);
  }

  async setBranch(name: string, commit: string, expected: string | null): Promise<void> {
    const { owner, repo } = this.where;
    const ref = `heads/${name}`;
    if (expected === null) {
      if (this.known.get(name) === commit) return;
      try {
        await this.gh.rest.git.createRef({ owner, repo, ref: `refs/${ref}`, sha: commit });
        this.known.set(name, commit);
        return;
      } catch (err) {
        if (statusOf(err) !== 422) throw this.wrap("create branch", name, err);
        const actual = await this.branchCommit(name);
        if (actual === commit) return;
        throw conflict(name, expected, actual ?? null);
      }
    }
    // GitHub has no compare-and-swap on a ref. A fast-forward (a keep: the candidate was made on
    // the best) is tried first, in one request: GitHub refuses it when someone else's commit is on
    // the branch. Otherwise (refused, or a rebased experiment, which needs force): read it,
    // compare, then move it; the window between read and write is one request, and a second App
    // replica moving the same branch in it is the race left.
    if (this.known.get(name) === expected) {
      try {
        await this.gh.rest.git.updateRef({ owner, repo, ref, sha: commit, force: false });
        this.known.set(name, commit);
        return;
      } catch (err) {
        if (statusOf(err) !== 422) throw this.wrap("move branch", name, err);
      }
    }
    const actual = await this.branchCommit(name);
    if (actual === commit) return;
    if (actual !== expected) throw conflict(name, expected, actual ?? null);
    try {
      await this.gh.rest.git.updateRef({ owner, repo, ref, sha: commit, force: false });
    } catch (err) {
      if (statusOf(err) !== 422) throw this.wrap("move branch", name, err);
      await call("move branch", () => this.gh.rest.git.updateRef({ owner, repo, ref, sha: commit, force: true }));
    }
    this.known.set(name, commit);
  }

  async deleteBranch(name: string, expected: string): Promise<void> {
    const { owner, repo } = this.where;
    // GitHub has no compare-and-swap on a ref: read it, compare, then delete it. Even a branch this
    // process set is read first: someone may have pushed to it since (its commit is theirs to keep).
    const actual = await this.branchCommit(name);
    this.known.delete(name);
    if (actual === undefined) return;
    if (actual !== expected) throw conflict(name, expected, actual);
    try {
      await this.gh.rest.git.deleteRef({ owner, repo, ref: `heads/${name}` });
    } catch (err) {
      // Already gone (a second handler was quicker): what was asked for holds.
      if (statusOf(err) !== 422 && statusOf(err) !== 404) throw this.wrap("delete branch", name, err);
    }
  }

  /**
   * The branches under `prefix` (e.g. "autoresearch/7/") and their commits: listed from GitHub
   * the first time (one request), then as this process moves them.
   */
  async knownUnder(prefix: string): Promise<Map<string, string>> {
    if (!this.listed.has(prefix)) {
      const { owner, repo } = this.where;
      const refs = await call(`list the branches under ${prefix}`, () => this.gh.rest.git.listMatchingRefs({ owner, repo, ref: `heads/${prefix}` }));
      for (const r of refs.data) this.known.set(r.ref.replace(/^refs\/heads\//, ""), r.object.sha);
      this.listed.add(prefix);
    }
    return new Map([...this.known].filter(([name]) => name.startsWith(prefix)));
  }

  /** Prefixes already listed by knownUnder. */
  private readonly listed = new Set<string>();

  /** The commit a branch points at, or undefined when it does not exist. */
  async branchCommit(name: string): Promise<string | undefined> {
    const { owner, repo } = this.where;
    try {
      const r = await this.gh.rest.git.getRef({ owner, repo, ref: `heads/${name}` });
      return r.data.object.sha;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.wrap("read branch", name, err);
    }
  }

  private wrap(what: string, name: string, err: unknown) {
    return apiError(`${what} ${name}`, err);
  }

  /** Every entry of a commit's tree, by path (one recursive request per tree, cached). */
  private treeOf(commit: string): Promise<Map<string, TreeEntry>> {
    const cached = this.trees.get(commit);
    if (cached) return cached;
    const load = (async () => {
      const { owner, repo } = this.where;
      const treeSha = await this.treeShaOf(commit);
      const r = await call(`read the tree of ${commit.slice(0, 12)}`, () => this.gh.rest.git.getTree({ owner, repo, tree_sha: treeSha, recursive: "1" }));
      if (r.data.truncated) throw new EditError(`the tree of ${commit.slice(0, 12)} is too large for GitHub to list in one request`, "");
      return new Map(r.data.tree.filter((e) => e.path && e.sha).map((e) => [e.path as string, e as TreeEntry]));
    })();
    // A failed read is not remembered: the next call tries again.
    load.catch(() => this.trees.delete(commit));
    return this.trees.set(commit, load);
  }

  private treeShaOf(commit: string): Promise<string> {
    const cached = this.commitTrees.get(commit);
    if (cached) return cached;
    const { owner, repo } = this.where;
    const load = call(`read commit ${commit.slice(0, 12)}`, () => this.gh.rest.git.getCommit({ owner, repo, commit_sha: commit })).then((r) => r.data.tree.sha);
    load.catch(() => this.commitTrees.delete(commit));
    return this.commitTrees.set(commit, load);
  }

  private async blob(sha: string): Promise<string> {
    return (await this.blobBytes(sha)).toString("utf8");
  }

  /** A blob's bytes (one request per blob, cached: a blob is named by its content). */
  private blobBytes(sha: string): Promise<Buffer> {
    const cached = this.blobs.get(sha);
    if (cached) return cached;
    const { owner, repo } = this.where;
    const load = call(`read blob ${sha.slice(0, 12)}`, () => this.gh.rest.git.getBlob({ owner, repo, file_sha: sha })).then((r) =>
      Buffer.from(r.data.content, r.data.encoding === "base64" ? "base64" : "utf8"),
    );
    load.catch(() => this.blobs.delete(sha));
    return this.blobs.set(sha, load);
  }
}

/** The modes the Git Data API takes for a tree entry. */
type TreeMode = "100644" | "100755" | "040000" | "160000" | "120000";

/** A regular file (not a link, not a submodule): what a line merge may merge. */
function regularFile(e: TreeEntry): boolean {
  return e.type === "blob" && (e.mode === "100644" || e.mode === "100755");
}

/** Same mode and object (or both absent): the path did not change between the two trees. */
function sameEntry(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.mode === b.mode && a.sha === b.sha;
}

function conflict(name: string, expected: string | null, actual: string | null): BranchConflict {
  return new BranchConflict(
    `branch ${name} is at ${actual?.slice(0, 12) ?? "(absent)"}, not at ${expected?.slice(0, 12) ?? "(absent)"} as this campaign expects: another process moved it; nothing was changed`,
    name,
    expected,
    actual,
  );
}
