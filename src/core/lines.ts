/**
 * Lines of code a change adds and removes, for `prefer_simpler`: blank lines and comment-only lines
 * do not count, so deleting a comment or a blank line is not "simpler". Pure.
 */
import { diffArrays } from "diff";
import type { CodeLines } from "./events.js";

/** Starts of comment-only lines in the languages experiments are written in (# // /* * -- ; %). */
const COMMENT_ONLY = /^(#|\/\/|\/\*|\*|--|;|%|<!--)/;

/** The lines of `text` that hold code: trimmed, without blank and comment-only lines. */
export function codeLinesOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !COMMENT_ONLY.test(l));
}

/** Code lines added and removed from `before` to `after` (path -> content; absent = no such file). */
export function codeLineChanges(before: Readonly<Record<string, string | undefined>>, after: Readonly<Record<string, string | undefined>>): CodeLines {
  let added = 0;
  let removed = 0;
  for (const path of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[path] === after[path]) continue;
    for (const part of diffArrays(codeLinesOf(before[path]), codeLinesOf(after[path]))) {
      if (part.added) added += part.count ?? part.value.length;
      else if (part.removed) removed += part.count ?? part.value.length;
    }
  }
  return { added, removed };
}
