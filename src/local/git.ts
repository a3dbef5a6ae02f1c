/**
 * The git CLI as a RepoHost for one machine. Commits are built with plumbing commands on a
 * temporary index, so the user's working tree, index and checked-out branch are never touched
 * while a campaign runs in their repository.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { boundDiff } from "../core/diff.js";
import { BranchConflict, EditError, GitError, RepoStateError, SurfaceViolation } from "../errors.js";
import type { CommitOptions, CommitResult, MergeResult, RepoHost } from "../ports.js";
import { STATE_DIR } from "./paths.js";

export { boundDiff, MAX_DIFF_CHARS } from "../core/diff.js";

/** Options of one git call. */
export interface GitOptions {
  /** Text written to git's stdin. */
  input?: string | Uint8Array;
  /** Extra environment variables (on top of the inherited ones). */
  env?: Record<string, string | undefined>;
}

/** Identity used for commits when the repository has none configured. */
export const FALLBACK_IDENTITY = { name: "autoresearch", email: "autoresearch@localhost" } as const;

/**
 * Variables that redirect git to another repository or index. Inherited ones (a git hook running
 * the CLI sets them) would make every command act on the wrong place, so they are dropped unless
 * a call passes them explicitly.
 */
const REDIRECTING_ENV = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX", "GIT_COMMON_DIR"];

async function gitRaw(repoDir: string, args: string[], opts: GitOptions = {}): Promise<{ stdout: Uint8Array; exitCode: number; stderr: string }> {
  const env: Record<string, string | undefined> = {};
  for (const k of REDIRECTING_ENV) env[k] = undefined;
  Object.assign(env, { GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" }, opts.env);
  const r = await execa("git", args, {
    cwd: repoDir,
    env,
    input: opts.input ?? "",
    encoding: "buffer",
    reject: false,
    stripFinalNewline: false,
  });
  if (r.exitCode === undefined) {
    // Spawning failed: git missing, or the directory does not exist.
    const reason = r.cause instanceof Error ? r.cause.message : r.shortMessage;
    throw new GitError(`could not run git ${args.join(" ")}: ${reason}`, args, "");
  }
  return { stdout: r.stdout, exitCode: r.exitCode, stderr: Buffer.from(r.stderr).toString("utf8") };
}

/**
 * Runs `git <args>` in `repoDir` and returns its stdout with one trailing newline removed.
 * Throws GitError (keeping the args and stderr) when git exits non-zero or cannot be started.
 */
export async function git(repoDir: string, args: string[], opts: GitOptions = {}): Promise<string> {
  return (await gitExact(repoDir, args, opts)).replace(/\n$/, "");
}

/** Like git(), but stdout as bytes (a blob that is not text). */
async function gitBytes(repoDir: string, args: string[]): Promise<Uint8Array> {
  const r = await gitRaw(repoDir, args);
  if (r.exitCode !== 0) throw failure(args, r.exitCode, r.stderr);
  return r.stdout;
}

/** Like git(), but stdout exactly as printed (a diff keeps its final newline). */
async function gitExact(repoDir: string, args: string[], opts: GitOptions = {}): Promise<string> {
  const r = await gitRaw(repoDir, args, opts);
  if (r.exitCode !== 0) throw failure(args, r.exitCode, r.stderr);
  return Buffer.from(r.stdout).toString("utf8");
}

function failure(args: string[], exitCode: number, stderr: string): GitError {
  const detail = stderr.trim().split("\n").slice(-3).join(" / ") || "no error output";
  return new GitError(`git ${args.join(" ")} failed (exit ${exitCode}): ${detail}`, args, stderr);
}

/** True when `dir` is inside the working tree of a git repository. */
export async function isGitRepo(dir: string): Promise<boolean> {
  try {
    return (await git(dir, ["rev-parse", "--is-inside-work-tree"])) === "true";
  } catch {
    return false;
  }
}

/** Top-level folder of the repository containing `dir`; RepoStateError when there is none. */
export async function repoRoot(dir: string): Promise<string> {
  try {
    return await git(dir, ["rev-parse", "--show-toplevel"]);
  } catch (err) {
    throw new RepoStateError(`not a git repository: ${dir}`, { cause: err });
  }
}

/** The commit HEAD points at; RepoStateError when the repository has no commit yet. */
export async function headCommit(dir: string): Promise<string> {
  try {
    return await git(dir, ["rev-parse", "--verify", "--end-of-options", "HEAD^{commit}"]);
  } catch (err) {
    throw new RepoStateError(`the repository in ${dir} has no commit yet; commit your files first`, { cause: err });
  }
}

/**
 * Paths (relative to the repository root) with uncommitted changes, untracked files included,
 * from `git status --porcelain`. `.autoresearch/` is left out: it is our own state, not the user's work.
 */
export async function dirtyFiles(dir: string): Promise<string[]> {
  const out = await git(dir, ["status", "--porcelain", "-z", "--untracked-files=normal"]);
  const fields = out.split("\0");
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i];
    if (!entry) continue;
    const xy = entry.slice(0, 2);
    paths.push(entry.slice(3));
    // Renames and copies are followed by their source path in a field of its own.
    if (xy.includes("R") || xy.includes("C")) i++;
  }
  return paths.filter((p) => p !== STATE_DIR && p !== `${STATE_DIR}/` && !p.startsWith(`${STATE_DIR}/`));
}

/** A RepoHost over a repository on this machine, driven through the git CLI. */
export class GitRepoHost implements RepoHost {
  private identity?: Promise<Record<string, string>>;

  /** `repoDir`: any folder inside the repository's working tree (or a bare repository). */
  constructor(readonly repoDir: string) {}

  /** Contents at `commit`; undefined for paths that are missing or not files. */
  async readFiles(commit: string, paths: string[]): Promise<Record<string, string | undefined>> {
    const sha = await this.resolveCommit(commit);
    const result: Record<string, string | undefined> = {};
    if (paths.length === 0) return result;
    // One `cat-file --batch` process for every path; its protocol is line based, so a path with
    // a newline cannot be asked for (and cannot be a tracked path we would edit anyway).
    const asked = paths.filter((p) => !p.includes("\n"));
    for (const p of paths) result[p] = undefined;
    if (asked.length === 0) return result;
    const r = await gitRaw(this.repoDir, ["cat-file", "--batch"], { input: asked.map((p) => `${sha}:${p}\n`).join("") });
    if (r.exitCode !== 0) throw failure(["cat-file", "--batch"], r.exitCode, r.stderr);
    const out = Buffer.from(r.stdout);
    let pos = 0;
    for (const p of asked) {
      const eol = out.indexOf(0x0a, pos);
      if (eol < 0) throw new GitError(`git cat-file --batch: output ended early at ${p}`, ["cat-file", "--batch"], r.stderr);
      const header = out.subarray(pos, eol).toString("utf8");
      pos = eol + 1;
      // "<sha> <type> <size>" for an object; "<name> missing" / "<name> ambiguous" otherwise.
      const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
      if (!m) continue;
      const size = Number(m[2]);
      if (m[1] === "blob") result[p] = out.subarray(pos, pos + size).toString("utf8");
      pos += size + 1; // content, then a newline
    }
    return result;
  }

  /** Every tracked file at `commit`, repository-relative, "/"-separated. */
  async listFiles(commit: string): Promise<string[]> {
    const sha = await this.resolveCommit(commit);
    const out = await git(this.repoDir, ["ls-tree", "-r", "-z", "--name-only", "--full-tree", sha]);
    return out.split("\0").filter((p) => p !== "");
  }

  /**
   * Creates a commit on `parent` with `files` (path -> full new content) replaced or added.
   * Works on a temporary index of its own, so it never touches the working tree, the user's
   * index or any branch, and several calls may run at once.
   */
  async commit(parent: string, files: Record<string, string>, message: string, options: CommitOptions): Promise<CommitResult> {
    // The core checks the editable surface already; this guards the repository itself, because
    // `update-index --index-info` silently skips such paths and would commit without them.
    const bad = Object.keys(files).filter((p) => !isPlainRepoPath(p));
    if (bad.length > 0) throw new SurfaceViolation(`refusing to commit paths outside the repository or inside .git: ${bad.join(", ")}`, bad);
    const parentSha = await this.resolveCommit(parent);
    const tmp = await mkdtemp(join(tmpdir(), "autoresearch-index-"));
    try {
      const env = { GIT_INDEX_FILE: join(tmp, "index") };
      await git(this.repoDir, ["read-tree", parentSha], { env });
      const paths = Object.keys(files);
      // Ask for the folders above each path too, to catch a file written where a folder is
      // (or below a file): update-index would silently replace the one with the other.
      const prefixes = paths.flatMap((p) =>
        p
          .split("/")
          .slice(0, -1)
          .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
      );
      const modes = await this.modesAt([...new Set([...paths, ...prefixes])], env);
      for (const p of paths) {
        const clash = [...modes.keys()].find((q) => q.startsWith(`${p}/`)) ?? prefixes.find((q) => p.startsWith(`${q}/`) && modes.has(q));
        if (clash !== undefined)
          throw new EditError(
            `cannot write ${p}: ${clash} is ${clash.startsWith(`${p}/`) ? "inside a folder of that name" : "a file"} at the parent commit`,
            p,
          );
      }
      const shas = await Promise.all(paths.map((p) => git(this.repoDir, ["hash-object", "-w", "--stdin"], { input: files[p] ?? "" })));
      if (paths.length > 0) {
        // "-z --index-info" takes every path in one process, with no quoting to get wrong.
        // An executable file stays executable; everything else (new files included) is 100644.
        const info = paths.map((p, i) => `${modes.get(p) === "100755" ? "100755" : "100644"} ${shas[i]}\t${p}\0`).join("");
        await git(this.repoDir, ["update-index", "--add", "-z", "--index-info"], { env, input: info });
        const staged = await this.modesAt(paths, env);
        const skipped = paths.filter((p) => !staged.has(p));
        if (skipped.length > 0) throw new GitError(`git did not stage ${skipped.join(", ")}`, ["update-index", "--index-info"], "");
      }
      const tree = await git(this.repoDir, ["write-tree"], { env });
      // Dated from the ledger: the same step done twice makes the same commit.
      const commit = await git(this.repoDir, ["commit-tree", tree, "-p", parentSha, "-F", "-"], {
        input: message,
        env: { ...(await this.commitIdentity()), GIT_AUTHOR_DATE: options.at, GIT_COMMITTER_DATE: options.at },
      });
      const [diff, numstat] = await Promise.all([
        gitExact(this.repoDir, ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", parentSha, commit]),
        git(this.repoDir, ["diff", "--numstat", "-z", "--no-renames", parentSha, commit]),
      ]);
      const { added, removed } = sumNumstat(numstat);
      return { commit, diff: boundDiff(diff, parentSha, commit), linesAdded: added, linesRemoved: removed };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Git's three-way merge of `base..theirs` onto `ours` (see RepoHost.merge), with plumbing on a
   * temporary index: `read-tree -m` merges what is trivial, `merge-file` (the content merge the
   * merge strategies use) each file changed on both sides, in a temporary folder. The user's
   * working tree, index and HEAD are never touched. Renames are not detected.
   */
  async merge(base: string, ours: string, theirs: string, message: string, options: CommitOptions): Promise<MergeResult> {
    const [baseSha, oursSha, theirsSha] = await Promise.all([this.resolveCommit(base), this.resolveCommit(ours), this.resolveCommit(theirs)]);
    const tmp = await mkdtemp(join(tmpdir(), "autoresearch-merge-"));
    try {
      const env = { GIT_INDEX_FILE: join(tmp, "index") };
      await git(this.repoDir, ["read-tree", "-m", "-i", "--aggressive", baseSha, oursSha, theirsSha], { env });
      // Unmerged entries: "<mode> <sha> <stage>\t<path>", stage 1 base, 2 ours, 3 theirs.
      const stages = new Map<string, Map<number, { mode: string; sha: string }>>();
      for (const entry of (await git(this.repoDir, ["ls-files", "-u", "-z"], { env })).split("\0")) {
        const m = /^(\d+) ([0-9a-f]+) ([123])\t(.*)$/s.exec(entry);
        if (!m?.[4]) continue;
        const byStage = stages.get(m[4]) ?? new Map<number, { mode: string; sha: string }>();
        byStage.set(Number(m[3]), { mode: m[1] as string, sha: m[2] as string });
        stages.set(m[4], byStage);
      }
      const conflicts: string[] = [];
      const resolved: string[] = [];
      let i = 0;
      for (const [path, byStage] of stages) {
        const b = byStage.get(1);
        const o = byStage.get(2);
        const t = byStage.get(3);
        // Both sides changed a regular file that the base had, with one mode: merge its lines.
        // Anything else (added on both sides, changed and deleted, modes or links) is a conflict.
        const regular = (x?: { mode: string }) => x?.mode === "100644" || x?.mode === "100755";
        if (!b || !o || !t || !regular(o) || !regular(t) || (o.mode !== t.mode && o.mode !== b.mode && t.mode !== b.mode)) {
          conflicts.push(path);
          continue;
        }
        const files = [b, o, t].map((_, k) => join(tmp, `${i}.${k}`));
        i++;
        await Promise.all([b, o, t].map(async (x, k) => writeFile(files[k] as string, await gitBytes(this.repoDir, ["cat-file", "blob", x.sha]))));
        // merge-file writes the result into its first file; exit 0 is clean, > 0 counts conflicts.
        const r = await gitRaw(this.repoDir, ["merge-file", "-q", files[1] as string, files[0] as string, files[2] as string]);
        if (r.exitCode !== 0) {
          conflicts.push(path);
          continue;
        }
        const sha = await git(this.repoDir, ["hash-object", "-w", "--no-filters", "--", files[1] as string]);
        const mode = o.mode === b.mode ? t.mode : o.mode;
        // A mode-0 line drops the path's stages; the next adds the merged file at stage 0.
        resolved.push(`0 ${"0".repeat(sha.length)}\t${path}\0${mode} ${sha} 0\t${path}\0`);
      }
      if (conflicts.length > 0) return { ok: false, conflicts: conflicts.sort() };
      if (resolved.length > 0) await git(this.repoDir, ["update-index", "-z", "--index-info"], { env, input: resolved.join("") });
      const tree = await git(this.repoDir, ["write-tree"], { env });
      const commit = await git(this.repoDir, ["commit-tree", tree, "-p", oursSha, "-F", "-"], {
        input: message,
        env: { ...(await this.commitIdentity()), GIT_AUTHOR_DATE: options.at, GIT_COMMITTER_DATE: options.at },
      });
      const [diff, numstat] = await Promise.all([
        gitExact(this.repoDir, ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", oursSha, commit]),
        git(this.repoDir, ["diff", "--numstat", "-z", "--no-renames", oursSha, commit]),
      ]);
      const { added, removed } = sumNumstat(numstat);
      return { ok: true, commit, diff: boundDiff(diff, oursSha, commit), linesAdded: added, linesRemoved: removed };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Moves `refs/heads/<name>` to `commit` if it is at `expected` (null: absent), atomically:
   * `git update-ref <ref> <new> <old>` checks the old value under the ref's lock. BranchConflict
   * when the branch is elsewhere; nothing when it is already at `commit`.
   */
  async setBranch(name: string, commit: string, expected: string | null): Promise<void> {
    const sha = await this.resolveCommit(commit);
    // All zeros (as long as the repository's ids: SHA-1 or SHA-256) means "the ref must not exist".
    const old = expected === null ? "0".repeat(sha.length) : await this.resolveCommit(expected);
    const ref = `refs/heads/${name}`;
    try {
      await git(this.repoDir, ["update-ref", "-m", "autoresearch: set branch", ref, sha, old]);
    } catch (err) {
      const actual = await this.branchCommit(name);
      if (actual === sha) return;
      // The branch is where it was expected: update-ref failed for another reason (a lock, a broken repository).
      if ((actual ?? null) === (expected === null ? null : old)) throw err;
      throw new BranchConflict(
        `branch ${name} is at ${actual?.slice(0, 12) ?? "(absent)"}, not at ${expected?.slice(0, 12) ?? "(absent)"} as this campaign expects: another process moved it; nothing was changed`,
        name,
        expected,
        actual ?? null,
      );
    }
  }

  /** Deletes `refs/heads/<name>` if it is at `expected`; nothing when it is already gone; BranchConflict otherwise. */
  async deleteBranch(name: string, expected: string): Promise<void> {
    const actual = await this.branchCommit(name);
    if (actual === undefined) return;
    const want = await this.resolveCommit(expected);
    try {
      await git(this.repoDir, ["update-ref", "-d", `refs/heads/${name}`, want]);
    } catch {
      const now = await this.branchCommit(name);
      if (now === undefined) return;
      throw new BranchConflict(
        `branch ${name} is at ${now.slice(0, 12)}, not at ${want.slice(0, 12)} as this campaign expects; it was left in place`,
        name,
        want,
        now,
      );
    }
  }

  /** The commit a branch points at, or undefined when it does not exist. */
  async branchCommit(name: string): Promise<string | undefined> {
    const r = await gitRaw(this.repoDir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `refs/heads/${name}`]);
    return r.exitCode === 0 ? Buffer.from(r.stdout).toString("utf8").trim() : undefined;
  }

  /** Names of the branches under `prefix` (e.g. "autoresearch/3/"). */
  async branchesUnder(prefix: string): Promise<string[]> {
    const out = await git(this.repoDir, ["for-each-ref", "--format=%(refname)", `refs/heads/${prefix}`]);
    return out
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.slice("refs/heads/".length));
  }

  /** Full sha of a commit-ish; GitError naming the revision when there is no such commit. */
  private async resolveCommit(rev: string): Promise<string> {
    return git(this.repoDir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`]).catch((err: unknown) => {
      const args = err instanceof GitError ? err.args : [];
      throw new GitError(`no such commit: ${rev}`, args, err instanceof GitError ? err.stderr : String(err));
    });
  }

  /** Index entries (path -> mode) matching `paths` (a folder matches the files inside it). */
  private async modesAt(paths: string[], env: Record<string, string>): Promise<Map<string, string>> {
    const modes = new Map<string, string>();
    if (paths.length === 0) return modes;
    // Literal pathspecs: a path like "a[1].txt" must not be read as a glob.
    const out = await git(this.repoDir, ["--literal-pathspecs", "ls-files", "-s", "-z", "--", ...paths], { env });
    for (const entry of out.split("\0")) {
      const m = /^(\d+) [0-9a-f]+ \d+\t(.*)$/s.exec(entry);
      if (m?.[1] && m[2] !== undefined) modes.set(m[2], m[1]);
    }
    return modes;
  }

  /**
   * Environment for commit-tree: the repository's own identity when it has one, otherwise a fixed
   * one, so a fresh clone or a CI box without `user.email` can still run a campaign.
   */
  private commitIdentity(): Promise<Record<string, string>> {
    this.identity ??= (async (): Promise<Record<string, string>> => {
      if (process.env.GIT_AUTHOR_EMAIL && process.env.GIT_COMMITTER_EMAIL) return {};
      const r = await gitRaw(this.repoDir, ["config", "--get", "user.email"]);
      if (r.exitCode === 0 && Buffer.from(r.stdout).toString("utf8").trim() !== "") return {};
      return {
        GIT_AUTHOR_NAME: FALLBACK_IDENTITY.name,
        GIT_AUTHOR_EMAIL: FALLBACK_IDENTITY.email,
        GIT_COMMITTER_NAME: FALLBACK_IDENTITY.name,
        GIT_COMMITTER_EMAIL: FALLBACK_IDENTITY.email,
      };
    })();
    return this.identity;
  }
}

/** A relative, normalized, "/"-separated path that stays inside the working tree and out of .git. */
function isPlainRepoPath(p: string): boolean {
  if (p === "" || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((part) => part !== "" && part !== "." && part !== ".." && part.toLowerCase() !== ".git");
}

function sumNumstat(out: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  // "-z" records are "<added>\t<removed>\t<path>\0"; binary files show "-" and count as 0.
  for (const rec of out.split("\0")) {
    const m = /^(\d+|-)\t(\d+|-)\t/.exec(rec);
    if (!m) continue;
    if (m[1] !== "-") added += Number(m[1]);
    if (m[2] !== "-") removed += Number(m[2]);
  }
  return { added, removed };
}
