/**
 * Applying a proposal's edits to the files at its parent, with the editable-surface rules.
 * Pure: takes file contents, returns new contents or every problem found.
 */
import type { Edit } from "./events.js";
import { surfaceProblem } from "./surface.js";

export type ApplyResult = { ok: true; files: Record<string, string> } | { ok: false; errors: string[]; surface: string[] };

function occurrences(haystack: string, needle: string): number {
  let count = 0;
  let from = 0;
  for (;;) {
    const i = haystack.indexOf(needle, from);
    if (i < 0) return count;
    count++;
    from = i + 1;
  }
}

/**
 * Applies edits in order to `files` (path -> content at the parent; absent = no such file).
 * Returns the changed files only. Surface violations are listed in `surface` as well as `errors`.
 */
export function applyEdits(files: Readonly<Record<string, string | undefined>>, edits: readonly Edit[], editable: readonly string[]): ApplyResult {
  const errors: string[] = [];
  const surface: string[] = [];
  const next: Record<string, string | undefined> = { ...files };
  const changed = new Set<string>();
  if (edits.length === 0) return { ok: false, errors: ["the proposal has no edits"], surface };
  edits.forEach((edit, i) => {
    const where = `edit ${i + 1} (${edit.path})`;
    const problem = surfaceProblem(edit.path, editable);
    if (problem) {
      errors.push(`${where}: ${problem}`);
      surface.push(edit.path);
      return;
    }
    const current = next[edit.path];
    if (edit.kind === "write") {
      next[edit.path] = edit.content;
      changed.add(edit.path);
      return;
    }
    if (current === undefined) {
      errors.push(`${where}: the file does not exist at the parent commit`);
      return;
    }
    const n = occurrences(current, edit.search);
    if (n !== 1) {
      errors.push(`${where}: the search text must occur exactly once, found ${n} times`);
      return;
    }
    const at = current.indexOf(edit.search);
    next[edit.path] = current.slice(0, at) + edit.replace + current.slice(at + edit.search.length);
    changed.add(edit.path);
  });
  if (errors.length > 0) return { ok: false, errors, surface };
  const out: Record<string, string> = {};
  for (const path of changed) {
    const content = next[path] as string;
    if (content !== files[path]) out[path] = content;
  }
  if (Object.keys(out).length === 0) return { ok: false, errors: ["the edits change nothing"], surface };
  return { ok: true, files: out };
}
