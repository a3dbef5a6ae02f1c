/**
 * The directories of one run, all inside one fresh temporary folder that is removed afterwards:
 *
 *   <root>/tree   the experiment commit's files, written by the tool (no .git): `run` works here
 *   <root>/eval   made only once every process of `run` is gone: the parent commit's files plus
 *                 the declared `outputs` copied from the tree; `eval` works here
 *   <root>/home   HOME of a run that has another OS user
 *   <root>/tmp    TMPDIR of the run
 *
 * Nothing here is a worktree or a clone of the user's repository: no config, hooks, refs,
 * `info/`, replace objects or `.autoresearch/` of it is reachable through these folders.
 */
import { constants, type Dirent } from "node:fs";
import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import picomatch from "picomatch";
import { type Isolation, reachableByOthers } from "./isolation.js";
import { listTree, type TreeEntry, unsafeTreePath, writeTree } from "./tree.js";

/**
 * Names an interpreter resolves as code: an output by such a name could shadow a module that the
 * locked eval imports (an untracked `json.py` next to `eval.py`), so outputs may not have them.
 */
const MODULE_LIKE =
  /(^|\/)(node_modules|__pycache__|site-packages)(\/|$)|(^|\/)package\.json$|\.(py|pyc|pyo|pyd|pth|so|dylib|dll|js|mjs|cjs|ts|mts|cts|node|sh|pl|rb)$/i;

/** Why an output at `path` (relative) may not reach the evaluation, or undefined. */
export function outputProblem(path: string): string | undefined {
  const unsafe = unsafeTreePath(path);
  if (unsafe) return unsafe;
  if (MODULE_LIKE.test(path)) return "outputs are data, and this name is one an interpreter would load as code (it could shadow a module of eval)";
  return undefined;
}

/** The folders of one run; see the module comment. */
export class RunDir {
  private constructor(
    readonly root: string,
    private readonly isolation: Isolation,
  ) {}

  /** `run` works here. */
  get tree(): string {
    return join(this.root, "tree");
  }
  /** `eval` works here, once {@link prepareEval} made it. */
  get evalTree(): string {
    return join(this.root, "eval");
  }
  get home(): string {
    return join(this.root, "home");
  }
  get tmp(): string {
    return join(this.root, "tmp");
  }

  /**
   * A new run folder under `parent` (the system's temporary folder, or RUNNER_TEMP); under a
   * temporary folder every user can enter instead when the run has another user who could not
   * reach `parent`.
   */
  static async create(parent: string, isolation: Isolation): Promise<RunDir> {
    await mkdir(parent, { recursive: true });
    if (isolation.uid !== undefined && !reachableByOthers(join(parent, "x"))) {
      parent = [tmpdir(), "/tmp", "/var/tmp", "/dev/shm"].find((d) => reachableByOthers(join(d, "x"))) ?? parent;
    }
    const dir = new RunDir(await mkdtemp(join(parent, "autoresearch-run-")), isolation);
    for (const d of [dir.tree, dir.home, dir.tmp]) await mkdir(d, { mode: 0o700 });
    if (isolation.uid !== undefined) {
      // Another user runs here: it may pass through the root folder but list nothing in it.
      await chmod(dir.root, 0o711);
      for (const d of [dir.home, dir.tmp]) await chown(d, isolation.uid, isolation.gid ?? isolation.uid);
    }
    return dir;
  }

  /**
   * Writes `commit`'s files into the tree. (Issue 10's read-only `inputs:` belong right after
   * this call, and after the same call in {@link prepareEval}: provide them in `this.tree` and
   * `this.evalTree`.)
   */
  async writeCommit(repo: string, commit: string): Promise<TreeEntry[]> {
    const entries = await listTree(repo, commit);
    await writeTree(repo, entries, this.tree);
    await this.giveAway(this.tree);
    return entries;
  }

  /**
   * Makes the evaluation tree: `parent`'s files, then the files under `from` that match `outputs`
   * and are not files of the repository (`tracked`), except `metricFile`, which only eval may
   * write. Throws with the reason when an output may not be used (see {@link outputProblem}).
   * Call only once every process of the run is gone.
   */
  async prepareEval(opts: {
    repo: string;
    parent: string;
    outputs: readonly string[];
    from: string;
    tracked: ReadonlySet<string>;
    metricFile?: string | undefined;
  }): Promise<string> {
    const dest = this.evalTree;
    await mkdir(dest, { mode: 0o700 });
    const entries = await listTree(opts.repo, opts.parent);
    await writeTree(opts.repo, entries, dest);
    const atParent = new Set(entries.map((e) => e.path));
    const metric = opts.metricFile === undefined ? undefined : relative(".", opts.metricFile).split(sep).join("/");
    if (metric !== undefined && atParent.has(metric)) {
      // A committed metric file must not stand in for what eval did not write.
      await rm(join(dest, metric), { force: true, recursive: true });
    }
    await copyOutputs({ from: opts.from, dest, outputs: opts.outputs, skip: new Set([...opts.tracked, ...atParent]), metricFile: metric });
    await this.giveAway(dest);
    return dest;
  }

  /**
   * The environment of a command of this run: TMPDIR of its own, and for a run of another user a
   * HOME of its own and a PATH without the folders it cannot enter (a shell would report a
   * missing command as "Permission denied" because of one).
   */
  env(base: Record<string, string>): Record<string, string> {
    if (this.isolation.uid === undefined) return { ...base, TMPDIR: this.tmp };
    const path = (base.PATH ?? "")
      .split(":")
      .filter((p) => p !== "" && reachableByOthers(join(p, "x")))
      .join(":");
    return { ...base, TMPDIR: this.tmp, HOME: this.home, PATH: path };
  }

  /** The folders a command working in `cwd` may write. */
  writable(cwd: string): string[] {
    return [cwd, this.tmp, ...(this.isolation.uid !== undefined ? [this.home] : [])];
  }

  /** Removes everything; never throws. */
  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  }

  /** Hands a tree to the run's user, when it has another one. */
  private async giveAway(dir: string): Promise<void> {
    const { uid, gid } = this.isolation;
    if (uid === undefined) return;
    await chown(dir, uid, gid ?? uid);
    for (const path of await walkAll(dir)) await chown(join(dir, path), uid, gid ?? uid).catch(() => {});
  }
}

/**
 * Copies the files under `from` that match `outputs` into `dest` (same relative paths), except
 * those in `skip` (files of the repository) and `metricFile`; returns how many it copied. Throws
 * with the reason for an output that may not be used (see {@link outputProblem}) or that is not a
 * regular file.
 */
export async function copyOutputs(opts: {
  from: string;
  dest: string;
  outputs: readonly string[];
  skip: ReadonlySet<string>;
  metricFile?: string | undefined;
}): Promise<number> {
  if (opts.outputs.length === 0) return 0;
  const metric = opts.metricFile === undefined ? undefined : relative(".", opts.metricFile).split(sep).join("/");
  const match = picomatch(opts.outputs as string[], { dot: true });
  let copied = 0;
  for (const path of await walkFiles(opts.from)) {
    if (!match(path) || opts.skip.has(path) || path === metric) continue;
    const problem = outputProblem(path);
    if (problem) throw new Error(`the output ${JSON.stringify(path)} is not passed on: ${problem}`);
    const st = await lstat(join(opts.from, path));
    if (!st.isFile()) throw new Error(`the output ${JSON.stringify(path)} is not passed on: outputs must be regular files, not links or special files`);
    await mkdir(join(opts.dest, dirname(path)), { recursive: true });
    // A copy, not a link: eval may write where it reads. Reflinked where the filesystem can (cheap for large weights).
    await copyFile(join(opts.from, path), join(opts.dest, path), constants.COPYFILE_FICLONE);
    copied++;
  }
  return copied;
}

/** Every regular file and link under `dir`, relative, `.git` folders skipped; links are not followed. */
export async function walkFiles(dir: string): Promise<string[]> {
  return (await walk(dir, false)).filter((p) => !p.endsWith("/"));
}

/** Every entry under `dir` (folders too), relative. */
async function walkAll(dir: string): Promise<string[]> {
  return (await walk(dir, true)).map((p) => p.replace(/\/$/, ""));
}

async function walk(dir: string, withDirs: boolean): Promise<string[]> {
  const out: string[] = [];
  const queue = [""];
  while (queue.length > 0) {
    const rel = queue.pop() as string;
    let entries: Dirent[];
    try {
      entries = await readdir(join(dir, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name === ".git") continue;
        if (withDirs) out.push(`${path}/`);
        queue.push(path);
      } else out.push(path);
    }
  }
  return out;
}
