/**
 * Writes a commit's files into a directory by the tool itself: `git ls-tree` and
 * `git cat-file --batch` with replace objects off, each blob's hash checked, contents written
 * byte for byte. No checkout, so no filter, attribute, hook or config of the repository runs,
 * and the directory gets no `.git`: nothing in it leads back to the repository.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** One file of a commit, as `git ls-tree -r` lists it. */
export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  path: string;
}

/**
 * The environment of git calls that read objects: replace objects (`git replace`), grafts and
 * redirections off, and no prompts. Config-driven object rewriting does not apply to ls-tree and
 * cat-file --batch (no filters run without --filters / --textconv).
 */
export const OBJECT_READ_ENV: Record<string, string | undefined> = {
  GIT_NO_REPLACE_OBJECTS: "1",
  GIT_GRAFT_FILE: "/dev/null",
  GIT_DIR: undefined,
  GIT_WORK_TREE: undefined,
  GIT_INDEX_FILE: undefined,
  GIT_OBJECT_DIRECTORY: undefined,
  GIT_ALTERNATE_OBJECT_DIRECTORIES: undefined,
  GIT_COMMON_DIR: undefined,
  GIT_TERMINAL_PROMPT: "0",
  LC_ALL: "C",
};

/** Runs git in `repo` with the object-reading environment; resolves stdout as bytes, rejects with stderr. */
function gitBytes(repo: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const [k, v] of Object.entries(OBJECT_READ_ENV)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const child = spawn("git", ["--no-replace-objects", "-c", "core.fsmonitor=false", ...args], { cwd: repo, env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args.join(" ")} failed (exit ${code}): ${Buffer.concat(err).toString("utf8").trim().split("\n").slice(-3).join(" / ")}`));
    });
  });
}

/** Every file of `commit` (recursively), submodules included as entries of type commit. */
export async function listTree(repo: string, commit: string): Promise<TreeEntry[]> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`not a full commit id: ${JSON.stringify(commit)}`);
  const out = (await gitBytes(repo, ["ls-tree", "-r", "-z", "--full-tree", commit])).toString("utf8");
  const entries: TreeEntry[] = [];
  for (const rec of out.split("\0")) {
    if (rec === "") continue;
    const tab = rec.indexOf("\t");
    const [mode = "", type = "", oid = ""] = rec.slice(0, tab).split(" ");
    entries.push({ mode, type, oid, path: rec.slice(tab + 1) });
  }
  return entries;
}

/**
 * Why `path` may not be written under a tree root, or undefined: a crafted tree can hold names
 * that git itself would refuse to check out (`..`, `.git`, absolute paths).
 */
export function unsafeTreePath(path: string): string | undefined {
  if (path === "" || path.startsWith("/") || path.includes("\0") || path.includes("\\")) return "not a relative path";
  for (const part of path.split("/")) {
    if (part === "" || part === "." || part === "..") return "has an empty, . or .. component";
    // .git in any case, and the NTFS/HFS spellings git also refuses.
    if (/^\.git(\s|\.|$)/i.test(part) || /^git~\d+$/i.test(part)) return "names a .git directory";
  }
  return undefined;
}

/** What {@link writeTree} wrote. */
export interface WrittenTree {
  /** Paths of the files written (symlinks included), relative to the root. */
  files: string[];
}

/**
 * Writes the blobs of `entries` under `root` (which must exist and be empty): regular files with
 * their executable bit, symlinks as symlinks (never followed: nothing is written through one),
 * submodules as empty directories. Each blob's content is hashed and compared with its id; a
 * mismatch or an unsafe path throws.
 */
export async function writeTree(repo: string, entries: readonly TreeEntry[], root: string): Promise<WrittenTree> {
  const blobs = entries.filter((e) => e.type === "blob");
  const written = new Set<string>();
  const dirs = new Set<string>([""]);
  for (const e of entries) {
    const problem = unsafeTreePath(e.path);
    if (problem) throw new Error(`refusing to write ${JSON.stringify(e.path)} from the commit: ${problem}`);
  }
  const ensureDir = async (rel: string) => {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (dirs.has(d)) continue;
      // A file or link already stands where a directory is needed: a crafted tree.
      if (written.has(d)) throw new Error(`refusing to write under ${JSON.stringify(d)}, which the commit also has as a file`);
      await mkdir(join(root, d));
      dirs.add(d);
    }
  };
  for (const e of entries) {
    if (e.type === "commit") {
      await ensureDir(e.path);
    }
  }
  if (blobs.length === 0) return { files: [] };

  const data = await gitBytes(repo, ["cat-file", "--batch"], `${blobs.map((b) => b.oid).join("\n")}\n`);
  let pos = 0;
  for (const e of blobs) {
    const nl = data.indexOf(0x0a, pos);
    const header = data.subarray(pos, nl).toString("utf8");
    const [oid, type, sizeText] = header.split(" ");
    if (oid !== e.oid || type !== "blob") throw new Error(`git cat-file answered ${JSON.stringify(header)} for the blob ${e.oid} of ${JSON.stringify(e.path)}`);
    const size = Number(sizeText);
    const content = data.subarray(nl + 1, nl + 1 + size);
    pos = nl + 1 + size + 1;
    const algo = e.oid.length === 64 ? "sha256" : "sha1";
    const actual = createHash(algo).update(`blob ${size}\0`).update(content).digest("hex");
    if (actual !== e.oid)
      throw new Error(`the blob of ${JSON.stringify(e.path)} does not match its id ${e.oid} (hash ${actual}): the object store was tampered with`);
    const dir = dirname(e.path);
    if (dir !== ".") await ensureDir(dir);
    if (dirs.has(e.path) || written.has(e.path)) throw new Error(`refusing to write ${JSON.stringify(e.path)} twice`);
    const target = join(root, e.path);
    if (e.mode === "120000") {
      await symlink(content.toString("utf8"), target);
    } else {
      // "wx": never through something that appeared in the meantime.
      await writeFile(target, content, { flag: "wx", mode: 0o644 });
      if (e.mode === "100755") await chmod(target, 0o755);
    }
    written.add(e.path);
  }
  return { files: [...written] };
}
