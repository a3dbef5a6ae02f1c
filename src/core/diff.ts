/** Bounds on the diffs the ledger records and prompts show. Pure. */

/** Largest diff kept in a CommitResult (characters); the ledger and prompts stay bounded. */
export const MAX_DIFF_CHARS = 20_000;

/** Cuts a diff at a line boundary below MAX_DIFF_CHARS and says how to see the rest. */
export function boundDiff(diff: string, parent: string, commit: string, max = MAX_DIFF_CHARS): string {
  if (diff.length <= max) return diff;
  const cut = diff.lastIndexOf("\n", max);
  const kept = diff.slice(0, cut > 0 ? cut : max);
  return `${kept}\n[diff truncated: ${kept.length} of ${diff.length} characters shown; run \`git diff ${parent.slice(0, 12)} ${commit.slice(0, 12)}\` for all of it]\n`;
}
