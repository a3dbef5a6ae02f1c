/**
 * The real bare git repository behind the fake's Git Data endpoints: objects are written and read
 * with git's plumbing, so a commit the App makes through the API is a real commit that a job can
 * fetch and check out, and its id is the one GitHub would compute for the same content.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";

/** git with no user or system configuration, so the machine's settings never change what the fake does. */
export const GIT_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  LANG: "C",
  LC_ALL: "C",
};

/** A git failure with its stderr; the fake maps it to GitHub's error for the endpoint. */
export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(message);
  }
}

/** Runs git; resolves with stdout as a Buffer, rejects with a GitError. */
export function gitRaw(cwd: string, args: string[], opts: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, env: { ...GIT_ENV, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitError(`git ${args.join(" ")} failed (${code}): ${stderr.trim()}`, stderr, code));
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

export async function git(cwd: string, args: string[], opts: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<string> {
  return (await gitRaw(cwd, args, opts)).toString("utf8").replace(/\n$/, "");
}

/** A person line of a commit as GitHub's API shows it. */
export interface GitPerson {
  name: string;
  email: string;
  /** ISO 8601 in UTC, e.g. `2024-01-01T00:00:00Z`. */
  date: string;
}

/** A commit object read back from the repository. */
export interface GitCommitObject {
  sha: string;
  tree: string;
  parents: string[];
  author: GitPerson;
  committer: GitPerson;
  message: string;
  signature: string | null;
}

/** One entry of a tree, as `git ls-tree -l` lists it. */
export interface GitTreeEntry {
  path: string;
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
  size?: number;
}

/** One entry of a tree to write (Git Data `POST git/trees`). */
export interface TreeEdit {
  path: string;
  mode: string;
  type: "blob" | "tree" | "commit";
  /** null deletes the path. */
  sha?: string | null;
  content?: string;
}

/** A 4xx condition of a Git Data request (the fake answers 422 with this message). */
export class GitInputError extends Error {}

const ZERO = "0000000000000000000000000000000000000000";

/** `2024-01-01T00:00:00Z` or with an offset -> git's `<epoch> <+hhmm>`. */
export function gitDate(iso: string): string {
  const ms = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(iso) || Number.isNaN(ms)) throw new GitInputError(`Invalid date: ${iso}`);
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(iso);
  const tz = m ? `${m[1]}${m[2]}${m[3]}` : "+0000";
  return `${Math.floor(ms / 1000)} ${tz}`;
}

/** GitHub shows dates in UTC without fractions. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function parsePerson(line: string): GitPerson {
  const m = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line);
  if (!m) throw new Error(`malformed person line: ${line}`);
  return { name: m[1] ?? "", email: m[2] ?? "", date: isoSeconds(Number(m[3]) * 1000) };
}

/** A mutex: ref updates (check, then move) run one at a time, as GitHub serializes pushes to a ref. */
class Lock {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.then(
      () => {},
      () => {},
    );
    return next;
  }
}

export class GitRepo {
  private readonly lock = new Lock();

  private constructor(
    /** The bare repository. */
    readonly dir: string,
    readonly defaultBranch: string,
  ) {}

  /** A new bare repository in `dir` (created) with `defaultBranch` as HEAD and nothing committed. */
  static async init(dir: string, defaultBranch: string): Promise<GitRepo> {
    await git(tmpdir(), ["init", "-q", "--bare", "-b", defaultBranch, dir]);
    // Jobs fetch the dispatched commit by id (actions/checkout fetches GITHUB_SHA).
    await git(dir, ["config", "uploadpack.allowAnySHA1InWant", "true"]);
    await git(dir, ["config", "gc.auto", "0"]);
    return new GitRepo(dir, defaultBranch);
  }

  git(args: string[], opts: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<string> {
    return git(this.dir, args, opts);
  }

  /** The object's type, or null when it does not exist. */
  async typeOf(sha: string): Promise<string | null> {
    if (!/^[0-9a-f]{40}$/.test(sha)) return null;
    try {
      return await this.git(["cat-file", "-t", sha]);
    } catch {
      return null;
    }
  }

  async writeBlob(content: Buffer): Promise<string> {
    return this.git(["hash-object", "-w", "--stdin"], { input: content });
  }

  async readBlob(sha: string): Promise<Buffer | null> {
    if ((await this.typeOf(sha)) !== "blob") return null;
    return gitRaw(this.dir, ["cat-file", "blob", sha]);
  }

  /** The entries of a tree (recursive: every blob and subtree under it). */
  async lsTree(treeish: string, recursive: boolean): Promise<GitTreeEntry[]> {
    const out = await this.git(["ls-tree", "-l", "-z", ...(recursive ? ["-r", "-t"] : []), treeish]);
    return out
      .split("\0")
      .filter(Boolean)
      .map((line) => {
        const [meta = "", path = ""] = line.split("\t");
        const [mode = "", type = "", sha = "", size = "-"] = meta.split(/ +/);
        const e: GitTreeEntry = { path, mode, type: type as GitTreeEntry["type"], sha };
        if (type === "blob") e.size = Number(size);
        return e;
      });
  }

  /** A tree sha for a tree, commit or ref name; null when there is none. */
  async resolveTree(treeish: string): Promise<string | null> {
    try {
      return await this.git(["rev-parse", "--verify", "--quiet", `${treeish}^{tree}`]);
    } catch {
      return null;
    }
  }

  /** Writes a tree: `base` (or empty) with `edits` applied, as Git Data `POST git/trees` does. */
  async writeTree(base: string | null, edits: TreeEdit[]): Promise<string> {
    const tmp = await mkdtemp(join(tmpdir(), "fake-github-index-"));
    const env = { GIT_INDEX_FILE: join(tmp, "index") };
    try {
      if (base) await this.git(["read-tree", base], { env });
      else await this.git(["read-tree", "--empty"], { env });
      const current = async () =>
        (await this.git(["ls-files", "-z", "--stage"], { env }))
          .split("\0")
          .filter(Boolean)
          .map((l) => l.slice(l.indexOf("\t") + 1));
      for (const e of edits) {
        const path = e.path;
        if (!path || path.startsWith("/") || path.endsWith("/") || path.split("/").some((s) => s === "" || s === "." || s === ".." || s === ".git")) {
          throw new GitInputError(`tree.path contains a malformed path component: ${JSON.stringify(path)}`);
        }
        const expectedType = e.mode === "040000" ? "tree" : e.mode === "160000" ? "commit" : ["100644", "100755", "120000"].includes(e.mode) ? "blob" : null;
        if (!expectedType) throw new GitInputError(`tree.mode ${e.mode} is not a valid mode`);
        if (expectedType !== e.type) throw new GitInputError(`tree.type ${e.type} does not match mode ${e.mode}`);
        const under = (await current()).filter((p) => p === path || p.startsWith(`${path}/`));
        if (under.length > 0) await this.git(["update-index", "--index-info"], { env, input: under.map((p) => `0 ${ZERO}\t${p}\n`).join("") });
        if (e.sha === null) continue;
        let sha = e.sha;
        if (e.content !== undefined) {
          if (e.type !== "blob") throw new GitInputError("tree.content is only for blobs");
          sha = await this.writeBlob(Buffer.from(e.content, "utf8"));
        }
        if (!sha) throw new GitInputError(`tree entry ${path} needs a sha or content`);
        if (e.type === "commit") {
          await this.git(["update-index", "--add", "--cacheinfo", `160000,${sha},${path}`], { env });
          continue;
        }
        const actual = await this.typeOf(sha);
        if (actual !== e.type) throw new GitInputError(`tree.sha ${sha} is not a valid ${e.type}`);
        if (e.type === "blob") await this.git(["update-index", "--add", "--cacheinfo", `${e.mode},${sha},${path}`], { env });
        else {
          const entries = await this.lsTree(sha, true);
          const lines = entries.filter((x) => x.type !== "tree").map((x) => `${x.mode} ${x.sha}\t${path}/${x.path}\n`);
          if (lines.length > 0) await this.git(["update-index", "--add", "--index-info"], { env, input: lines.join("") });
        }
      }
      return await this.git(["write-tree"], { env });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Writes a commit object exactly as given (no signing, no message clean-up), like Git Data `POST git/commits`. */
  async writeCommit(c: {
    tree: string;
    parents: string[];
    author: GitPerson;
    committer: GitPerson;
    message: string;
    signature?: string | undefined;
  }): Promise<string> {
    const person = (p: GitPerson) => {
      if (/[<>\n]/.test(p.name) || /[<>\n]/.test(p.email)) throw new GitInputError("author and committer may not contain <, > or newlines");
      return `${p.name} <${p.email}> ${gitDate(p.date)}`;
    };
    const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${person(c.author)}`, `committer ${person(c.committer)}`];
    if (c.signature) lines.push(`gpgsig ${c.signature.replace(/\n/g, "\n ")}`);
    const text = `${lines.join("\n")}\n\n${c.message}`;
    return this.git(["hash-object", "-t", "commit", "-w", "--stdin"], { input: text });
  }

  async readCommit(sha: string): Promise<GitCommitObject | null> {
    if ((await this.typeOf(sha)) !== "commit") return null;
    const raw = (await gitRaw(this.dir, ["cat-file", "commit", sha])).toString("utf8");
    const split = raw.indexOf("\n\n");
    const header = raw.slice(0, split).split("\n");
    const message = raw.slice(split + 2);
    const c: GitCommitObject = {
      sha,
      tree: "",
      parents: [],
      author: { name: "", email: "", date: "" },
      committer: { name: "", email: "", date: "" },
      message,
      signature: null,
    };
    for (let i = 0; i < header.length; i++) {
      const line = header[i] ?? "";
      const sp = line.indexOf(" ");
      const key = line.slice(0, sp);
      const value = line.slice(sp + 1);
      if (key === "tree") c.tree = value;
      else if (key === "parent") c.parents.push(value);
      else if (key === "author") c.author = parsePerson(value);
      else if (key === "committer") c.committer = parsePerson(value);
      else if (key === "gpgsig") {
        const sig = [value];
        while ((header[i + 1] ?? "").startsWith(" ")) sig.push((header[++i] ?? "").slice(1));
        c.signature = sig.join("\n");
      }
    }
    return c;
  }

  /** Every ref under `prefix` (a full name prefix such as `refs/heads/`), with its object and type. */
  async refs(prefix = "refs/"): Promise<{ ref: string; sha: string; type: string }[]> {
    const out = await this.git([
      "for-each-ref",
      "--format=%(refname) %(objectname) %(objecttype)",
      prefix.endsWith("/") ? prefix : prefix.replace(/[^/]*$/, ""),
    ]);
    return out
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [ref = "", sha = "", type = ""] = l.split(" ");
        return { ref, sha, type };
      })
      .filter((r) => r.ref.startsWith(prefix));
  }

  /** The sha a full ref name points at, or null. */
  async refSha(ref: string): Promise<string | null> {
    try {
      return await this.git(["rev-parse", "--verify", "--quiet", `${ref}^{}`]).then((s) => s || null);
    } catch {
      return null;
    }
  }

  /** The commit a branch, tag, full ref or sha names, or null. */
  async resolveCommit(name: string): Promise<string | null> {
    const candidates = name.startsWith("refs/") ? [name] : /^[0-9a-f]{40}$/.test(name) ? [name] : [`refs/heads/${name}`, `refs/tags/${name}`];
    for (const c of candidates) {
      try {
        const sha = await this.git(["rev-parse", "--verify", "--quiet", `${c}^{commit}`]);
        if (sha) return sha;
      } catch {}
    }
    return null;
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    try {
      await this.git(["merge-base", "--is-ancestor", ancestor, descendant]);
      return true;
    } catch (err) {
      if (err instanceof GitError && err.code === 1) return false;
      throw err;
    }
  }

  /**
   * Creates, moves or deletes a ref under the repository's lock; `check` runs inside it with the
   * current value and may throw to refuse. Returns the previous value.
   */
  updateRef(ref: string, next: string | null, check: (current: string | null) => Promise<void>): Promise<string | null> {
    return this.lock.run(async () => {
      const current = await this.refSha(ref);
      await check(current);
      if (next === null) await this.git(["update-ref", "-d", ref, current ?? ""]);
      else await this.git(["update-ref", ref, next, current ?? ZERO]);
      return current;
    });
  }

  /** Commits `files` (path -> content) as the first commit of the default branch. */
  async seed(files: Map<string, { content: Buffer; executable: boolean }>, author: GitPerson, message: string): Promise<string> {
    const edits: TreeEdit[] = [];
    for (const [path, f] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      edits.push({ path, mode: f.executable ? "100755" : "100644", type: "blob", sha: await this.writeBlob(f.content) });
    }
    const tree = await this.writeTree(null, edits);
    const sha = await this.writeCommit({ tree, parents: [], author, committer: author, message });
    await this.updateRef(`refs/heads/${this.defaultBranch}`, sha, async () => {});
    return sha;
  }
}

/**
 * The files of a seed directory: what git tracks or would track there (ignored files left out)
 * when it is inside a work tree, else every file except `.git` and `node_modules`.
 */
export async function readSeedDir(dir: string): Promise<Map<string, { content: Buffer; executable: boolean }>> {
  let paths: string[];
  try {
    paths = (await git(dir, ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."])).split("\0").filter(Boolean);
  } catch {
    paths = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.name === ".git" || e.name === "node_modules") continue;
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) paths.push(relative(dir, p).split(sep).join("/"));
      }
    };
    await walk(dir);
  }
  const files = new Map<string, { content: Buffer; executable: boolean }>();
  for (const p of paths) {
    const full = join(dir, p);
    if (!existsSync(full)) continue; // deleted in the work tree
    const s = await stat(full);
    if (!s.isFile()) continue;
    files.set(p, { content: await readFile(full), executable: (s.mode & 0o111) !== 0 });
  }
  return files;
}
