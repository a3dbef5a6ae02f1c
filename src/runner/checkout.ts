/**
 * The editable surface, checked and enforced on the machine that runs an experiment: which files
 * the experiment commit changes against its parent, the rejection when one is locked, and putting
 * the locked files back before the evaluation. Shared by the local executor and the GitHub Action.
 */
import { rm } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { isEditable, surfaceViolations } from "../core/surface.js";
import { GitError } from "../errors.js";

/** Runs `git <args>` (in `cwd` when given, else the repository) and returns its stdout. */
export type GitCall = (args: string[], opts?: { cwd?: string; input?: string }) => Promise<string>;

/**
 * Options for git commands on a checkout an experiment could have written (its config included):
 * no hooks and no fsmonitor, so nothing it wrote executes outside its time box.
 */
export const SAFE_GIT = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"];

/** The absolute git directory of a checkout: take it before a run, which could rewrite `.git`. */
export async function gitDirOf(git: GitCall, worktree: string): Promise<string> {
  return (await git(["rev-parse", "--absolute-git-dir"], { cwd: worktree })).trim();
}

/** A revision that starts with "-" would be read as an option by git. */
export function assertRevision(rev: string): void {
  if (rev === "" || rev.startsWith("-") || /[\s\0]/.test(rev)) throw new GitError(`not a valid revision: ${JSON.stringify(rev)}`, [rev], "");
}

/** Paths that differ between two commits (no rename detection: both sides of a rename count). */
export async function changedFiles(git: GitCall, parent: string, commit: string): Promise<string[]> {
  assertRevision(parent);
  assertRevision(commit);
  return splitNul(await git(["diff", "--name-only", "--no-renames", "-z", parent, commit, "--"]));
}

/**
 * Why a commit that changes `changed` may not run, listing every path outside the surface with its
 * reason; undefined when every change is editable.
 */
export function surfaceRejection(changed: readonly string[], editable: readonly string[]): { reason: string; paths: string[] } | undefined {
  const violations = surfaceViolations(changed, editable);
  if (violations.length === 0) return undefined;
  const list = violations.map((v) => `${v.path} (${v.reason})`).join("; ");
  return { reason: `the commit changes files outside the editable surface: ${list}`, paths: violations.map((v) => v.path) };
}

/** Where and what to restore. */
export interface RestoreSpec {
  parent: string;
  commit: string;
  /** The checkout the experiment ran in. */
  worktree: string;
  /** Its git directory, resolved before the run (the run could rewrite a worktree's `.git` file). */
  gitDir: string;
  editable: readonly string[];
}

/**
 * Puts every tracked locked file of `worktree` back to its content at the parent, and deletes
 * locked files the commit tracks that the parent does not have. Untracked files the run wrote stay.
 */
export async function restoreLockedFiles(git: GitCall, spec: RestoreSpec): Promise<void> {
  const atParent = splitNul(await git(["ls-tree", "-r", "-z", "--name-only", spec.parent]));
  const atCommit = splitNul(await git(["ls-tree", "-r", "-z", "--name-only", spec.commit]));
  const lockedAtParent = atParent.filter((p) => !isEditable(p, spec.editable));
  const parentSet = new Set(atParent);
  const extra = atCommit.filter((p) => !parentSet.has(p) && !isEditable(p, spec.editable));
  if (lockedAtParent.length > 0) {
    // Explicit git dir and work tree; literal pathspecs so "*" in a name is a name; paths through
    // stdin so thousands of files fit; SAFE_GIT, since the run may have written the config.
    await git(
      [
        ...SAFE_GIT,
        "--literal-pathspecs",
        `--git-dir=${spec.gitDir}`,
        `--work-tree=${spec.worktree}`,
        "checkout",
        spec.parent,
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
      ],
      { cwd: spec.worktree, input: `${lockedAtParent.join("\0")}\0` },
    );
  }
  for (const path of extra) await rm(join(spec.worktree, path), { force: true, recursive: true });
}

/**
 * Mode eval: makes the working tree the parent commit's (`git checkout --detach`), so `eval` and
 * everything it reads from the repository are the parent's, editable files included; untracked
 * files, the training outputs the workflow placed, stay. Refuses rather than mixes: a changed
 * tracked file would survive the checkout, and git refuses to overwrite an untracked file that the
 * parent tracks. Then deletes `metric.file`: only `eval` may write the metric, not training.
 */
export async function checkoutParent(gitCall: GitCall, spec: { parent: string; worktree: string; metricFile: string | undefined }): Promise<void> {
  const short = spec.parent.slice(0, 12);
  const changed = splitNul(await gitCall([...SAFE_GIT, "diff", "--name-only", "--no-renames", "-z", "HEAD", "--"]));
  if (changed.length > 0) {
    const list = changed.slice(0, 10).join(", ") + (changed.length > 10 ? `, and ${changed.length - 10} more` : "");
    throw new Error(
      `the workspace changes files of the experiment commit (${list}), which would be evaluated instead of the parent's: place only untracked training outputs (TRAIN_OUTPUTS in the workflow)`,
    );
  }
  try {
    await gitCall([...SAFE_GIT, "checkout", "--quiet", "--detach", spec.parent]);
  } catch (err) {
    const stderr = err instanceof GitError ? err.stderr : String(err);
    const detail =
      stderr
        .trim()
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .slice(0, 12)
        .join(" / ") || "no error output";
    throw new Error(
      `switching the working tree to the parent ${short} failed (${detail}): the training outputs must not replace files the parent tracks (TRAIN_OUTPUTS in the workflow)`,
    );
  }
  if (spec.metricFile !== undefined) {
    const path = resolve(spec.worktree, spec.metricFile);
    const rel = relative(spec.worktree, path);
    // Outside the checkout (or the checkout itself) the metric cannot be read anyway.
    if (rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)) await rm(path, { force: true });
  }
}

/** Splits NUL-separated git output into its non-empty fields. */
export function splitNul(out: string): string[] {
  return out.split("\0").filter((p) => p !== "");
}
