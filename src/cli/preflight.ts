/**
 * Checks before a campaign starts, each a small function the campaign code calls once: the
 * working tree (only changes to tracked files stop a campaign), and the inputs every run needs.
 */

import picomatch from "picomatch";
import type { Config } from "../core/config.js";
import { RepoStateError } from "../errors.js";
import { git } from "../local/git.js";
import { STATE_DIR } from "../local/paths.js";
import type { Logger } from "../ports.js";
import { missingInputs, missingInputsMessage } from "../runner/inputs.js";

/** The working tree's uncommitted state: changed tracked files, and files git does not track (ignored ones not included). */
export interface TreeState {
  tracked: string[];
  untracked: string[];
}

/** Reads `git status` of the repository at `root`, leaving out autoresearch's own state folder. */
export async function treeState(root: string): Promise<TreeState> {
  const out = await git(root, ["status", "--porcelain", "-z", "--untracked-files=normal"]);
  const fields = out.split("\0");
  const state: TreeState = { tracked: [], untracked: [] };
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i];
    if (!entry) continue;
    const xy = entry.slice(0, 2);
    const path = entry.slice(3);
    // Renames and copies are followed by their source path in a field of its own.
    if (xy.includes("R") || xy.includes("C")) i++;
    if (path === STATE_DIR || path.startsWith(`${STATE_DIR}/`)) continue;
    (xy === "??" ? state.untracked : state.tracked).push(path);
  }
  return state;
}

function listed(paths: readonly string[], max = 5): string {
  return `${paths.slice(0, max).join(", ")}${paths.length > max ? `, and ${paths.length - max} more` : ""}`;
}

/** True when `path` (a file or a folder with a trailing "/") is, or is inside, one of the inputs. */
function coveredByInputs(path: string, inputs: readonly string[]): boolean {
  const p = path.replace(/\/+$/, "");
  return inputs.some((entry) => {
    const e = entry.trim().replace(/^\.\//, "").replace(/\/+$/, "");
    if (p === e || p.startsWith(`${e}/`)) return true;
    return picomatch.scan(e).isGlob && picomatch(e, { dot: true })(p);
  });
}

/**
 * Refuses a campaign when tracked files have uncommitted changes (the experiments start from the
 * last commit, so the user would measure something other than what they see); warns, naming
 * them, about untracked files, which never reach the experiments unless they are inputs.
 */
export async function checkWorkingTree(root: string, config: Config, log: Logger): Promise<void> {
  const { tracked, untracked } = await treeState(root);
  if (tracked.length > 0) {
    throw new RepoStateError(
      `tracked files have uncommitted changes (${listed(tracked)}); experiments start from the last commit, so commit or stash them first (untracked files do not stop a campaign)`,
    );
  }
  const unseen = untracked.filter((p) => !coveredByInputs(p, config.inputs ?? []));
  if (unseen.length > 0)
    log.warn(
      `untracked files will not reach the experiments, which start from the last commit: ${listed(unseen)}. Commit what the runs need, or list it under inputs`,
    );
}

/** Refuses a campaign when an entry of `inputs` matches nothing under the repository root. */
export async function checkInputs(root: string, config: Config): Promise<void> {
  const missing = await missingInputs(root, config.inputs ?? []);
  if (missing.length > 0) throw new RepoStateError(missingInputsMessage(missing, root));
}
