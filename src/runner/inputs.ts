/**
 * `inputs:`: files that git does not track and every run needs (a data file, a downloaded data
 * set). A run's directory is made from a commit, so they would be missing there: this module
 * checks that they exist under the repository root before a campaign starts, and puts them into
 * each run's directory (small files as read-only copies, directories and large files as links to
 * the originals).
 */
import { chmod, copyFile, link, lstat, mkdir, readdir, stat, symlink } from "node:fs/promises";
import { dirname, join, posix, relative, sep } from "node:path";
import picomatch from "picomatch";

/** Files up to this size are copied (mode 0444); larger files and directories are linked. */
export const COPY_MAX_BYTES = 1024 * 1024;
/** Entries visited when a glob is expanded: a bound for globs such as "**". */
const WALK_MAX_ENTRIES = 100_000;
/** Folders a glob never descends into. */
const SKIP_DIRS = new Set([".git", ".autoresearch", "node_modules"]);

/** What one `inputs` entry matched under the repository root. */
export interface ResolvedInput {
  /** The entry as written in the configuration. */
  entry: string;
  /** Repository-relative paths (POSIX separators) of what it matched: files or directories. */
  paths: string[];
}

const toPosix = (p: string) => p.split(sep).join("/");
/** "data/" and "./data" name the same path as "data". */
const normalize = (entry: string) => posix.normalize(entry.trim()).replace(/\/+$/, "") || ".";

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Every path under `dir` (relative to `root`), files and directories, breadth first, bounded. */
async function walk(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const queue = [dir];
  while (queue.length > 0 && out.length < WALK_MAX_ENTRIES) {
    const current = queue.shift() as string;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(join(root, current), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (SKIP_DIRS.has(e.name)) continue;
      const rel = current === "." ? e.name : `${current}/${e.name}`;
      out.push(rel);
      if (e.isDirectory()) queue.push(rel);
    }
  }
  return out;
}

/** What each entry matches under `root`; an entry that matches nothing has no paths. */
export async function resolveInputs(root: string, entries: readonly string[]): Promise<ResolvedInput[]> {
  const resolved: ResolvedInput[] = [];
  for (const entry of entries) {
    const scan = picomatch.scan(entry.trim());
    if (!scan.isGlob) {
      const path = normalize(entry);
      resolved.push({ entry, paths: (await exists(join(root, path))) ? [path] : [] });
      continue;
    }
    const base = scan.base ? normalize(scan.base) : ".";
    const isMatch = picomatch(normalize(entry), { dot: true });
    const candidates = (await exists(join(root, base))) ? await walk(root, base) : [];
    const matched = candidates.filter((p) => isMatch(p));
    // A match inside a matched directory comes with the directory.
    const top = matched.filter((p) => !matched.some((q) => q !== p && p.startsWith(`${q}/`)));
    resolved.push({ entry, paths: top.sort() });
  }
  return resolved;
}

/** The entries of `inputs` that match nothing under `root`, in configuration order. */
export async function missingInputs(root: string, entries: readonly string[]): Promise<string[]> {
  return (await resolveInputs(root, entries)).filter((r) => r.paths.length === 0).map((r) => r.entry);
}

/** The message for missing inputs, naming each one and what to do. */
export function missingInputsMessage(missing: readonly string[], root: string): string {
  const list = missing.map((m) => JSON.stringify(m)).join(", ");
  return `inputs: ${list} ${missing.length === 1 ? "is" : "are"} not in ${root}; every run needs ${missing.length === 1 ? "it" : "them"}: create or download ${missing.length === 1 ? "it" : "them"} there (see docs/troubleshooting.md#missing-inputs), or remove ${missing.length === 1 ? "the entry" : "the entries"} from inputs in the configuration`;
}

/** What {@link provideInputs} did. */
export interface ProvidedInputs {
  copied: string[];
  linked: string[];
  /** Already in the run directory (tracked at the commit): left as checked out. */
  present: string[];
  /** Entries that matched nothing (the campaign's start check names them first). */
  missing: string[];
}

/**
 * Puts the inputs into a run directory made from a commit: each matched path that the directory
 * does not already have is copied read-only when it is a file of at most COPY_MAX_BYTES, and
 * otherwise linked (a symbolic link to the original, which the run must treat as read-only: the
 * link does not stop a write). Removing the run directory removes the links, never the originals.
 */
export async function provideInputs(
  root: string,
  runDir: string,
  entries: readonly string[] | undefined,
  opts: {
    /**
     * True for an input the run could not follow a link to (the run is another OS user and a
     * folder above the input is closed to others): it is put in the run directory instead, file
     * by file, hard-linked where the filesystem allows (no copy of the data) and copied otherwise.
     */
    mustMaterialize?: (source: string) => boolean;
  } = {},
): Promise<ProvidedInputs> {
  const done: ProvidedInputs = { copied: [], linked: [], present: [], missing: [] };
  if (!entries || entries.length === 0) return done;
  for (const { entry, paths } of await resolveInputs(root, entries)) {
    if (paths.length === 0) done.missing.push(entry);
    for (const path of paths) {
      const source = join(root, path);
      const target = join(runDir, path);
      if (relative(runDir, target).startsWith("..")) continue;
      if (await exists(target)) {
        done.present.push(path);
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      const info = await stat(source);
      if (info.isFile() && info.size <= COPY_MAX_BYTES) {
        await copyFile(source, target);
        await chmod(target, 0o444);
        done.copied.push(toPosix(path));
      } else if (opts.mustMaterialize?.(source)) {
        await materialize(source, target);
        done.copied.push(toPosix(path));
      } else {
        await symlink(source, target, info.isDirectory() ? "dir" : "file");
        done.linked.push(toPosix(path));
      }
    }
  }
  return done;
}

/**
 * Puts `source` (a file or a folder, links not followed) at `target`: folders made, files
 * hard-linked (same filesystem: no data copied, the owner and mode stay the original's) or copied
 * read-only where a link cannot be made.
 */
async function materialize(source: string, target: string): Promise<void> {
  const info = await lstat(source);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    await mkdir(target, { recursive: true, mode: 0o755 });
    for (const name of await readdir(source)) await materialize(join(source, name), join(target, name));
    return;
  }
  if (!info.isFile()) return;
  try {
    await link(source, target);
  } catch {
    await copyFile(source, target);
    await chmod(target, 0o444);
  }
}
