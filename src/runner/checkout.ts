/**
 * The editable surface, checked and enforced on the machine that runs an experiment: which files
 * the experiment commit changes against its parent, the rejection when one is locked, and putting
 * the locked files back before the evaluation. Shared by the local executor and the GitHub Action.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { isEditable, surfaceViolations } from "../core/surface.js";
import { GitError } from "../errors.js";

/** Runs `git <args>` (in `cwd` when given, else the repository) and returns its stdout. */
export type GitCall = (args: string[], opts?: { cwd?: string; input?: string }) => Promise<string>;

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
    // stdin so thousands of files fit. No hooks and no fsmonitor: the run may have written the
    // repository's config, and nothing it wrote may execute outside its time box.
    await git(
      [
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.fsmonitor=false",
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

/** Splits NUL-separated git output into its non-empty fields. */
export function splitNul(out: string): string[] {
  return out.split("\0").filter((p) => p !== "");
}
