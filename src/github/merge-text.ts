/**
 * A three-way merge of one file's lines, as `git merge-file` makes it, for the App (which cannot
 * run git): each side's changes to the base are found with a line diff (Myers' algorithm, from
 * jsdiff); a stretch of the base only one side changed takes that side's lines; where both sides
 * changed overlapping or adjacent stretches the merge conflicts, unless they made the same change
 * there. Bytes are kept exactly: lines end at "\n" only ("\r" and invalid UTF-8 stay as they are),
 * and a last line without "\n" is a line of its own. Pure.
 *
 * Where the base repeats lines (blank lines, closing braces), two diffs can align a change
 * differently, and git's diff (with its own heuristics) may then merge or conflict where this one
 * does the opposite; both results are merges of the two changes, and a merged candidate is
 * measured again before it is kept.
 */
import { diffArrays } from "diff";

/** Bytes git looks at to call a file binary (a NUL among them), as its `buffer_is_binary` does. */
const BINARY_PROBE_BYTES = 8000;

/**
 * Line edits per side beyond which the diff gives up and the merge counts as a conflict: it
 * bounds the time (the diff costs about lines x edits), and a change that large rewrote the file.
 */
export const MAX_EDITS_PER_SIDE = 4000;

/** The merged bytes, or why there are none. */
export type TextMerge = { ok: true; merged: Buffer } | { ok: false; reason: "conflict" | "binary" | "too many changes" };

/** True for content git treats as binary: a NUL byte in its first 8000 bytes. */
export function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_PROBE_BYTES).includes(0);
}

/** One stretch of the base that a side replaced: base lines [start, end) became `lines`. */
interface Hunk {
  side: "ours" | "theirs";
  start: number;
  end: number;
  lines: string[];
}

/** Lines with their "\n" (the last may have none). Latin-1 maps each byte to one character, so nothing is lost. */
function splitLines(bytes: Uint8Array): string[] {
  return (
    Buffer.from(bytes)
      .toString("latin1")
      .match(/[^\n]*\n|[^\n]+$/g) ?? []
  );
}

/** The stretches of `base` that `side` changed, in order; undefined when they exceed MAX_EDITS_PER_SIDE. */
function hunks(base: string[], side: string[], name: Hunk["side"], maxEdits: number): Hunk[] | undefined {
  const changes = diffArrays(base, side, { maxEditLength: maxEdits });
  if (!changes) return undefined;
  const out: Hunk[] = [];
  let at = 0;
  let open: Hunk | undefined;
  for (const c of changes) {
    if (!c.added && !c.removed) {
      if (open) out.push(open);
      open = undefined;
      at += c.count;
      continue;
    }
    open ??= { side: name, start: at, end: at, lines: [] };
    if (c.removed) {
      at += c.count;
      open.end = at;
    } else for (const l of c.value) open.lines.push(l);
  }
  if (open) out.push(open);
  return out;
}

/** What one side made of base[start, end), given its hunks inside that stretch. */
function sideText(base: string[], start: number, end: number, hs: Hunk[]): string[] {
  const out: string[] = [];
  let at = start;
  for (const h of hs) {
    for (let i = at; i < h.start; i++) out.push(base[i] as string);
    for (const l of h.lines) out.push(l);
    at = h.end;
  }
  for (let i = at; i < end; i++) out.push(base[i] as string);
  return out;
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Merges the changes `base -> ours` and `base -> theirs` (git merge-file's rules, see above).
 * Binary content (on any side) is not merged: git refuses it too.
 */
export function mergeText(base: Uint8Array, ours: Uint8Array, theirs: Uint8Array, maxEdits = MAX_EDITS_PER_SIDE): TextMerge {
  if (isBinary(base) || isBinary(ours) || isBinary(theirs)) return { ok: false, reason: "binary" };
  const b = splitLines(base);
  const mine = hunks(b, splitLines(ours), "ours", maxEdits);
  const other = hunks(b, splitLines(theirs), "theirs", maxEdits);
  if (!mine || !other) return { ok: false, reason: "too many changes" };
  const all = [...mine, ...other].sort((x, y) => x.start - y.start || x.end - y.end);
  const out: string[] = [];
  let at = 0;
  for (let k = 0; k < all.length; ) {
    const first = all[k] as Hunk;
    const group = [first];
    let end = first.end;
    k++;
    // Hunks that overlap or touch form one stretch: git merges changes to adjacent lines only
    // when one side made them all.
    while (k < all.length && (all[k] as Hunk).start <= end) {
      end = Math.max(end, (all[k] as Hunk).end);
      group.push(all[k] as Hunk);
      k++;
    }
    for (let i = at; i < first.start; i++) out.push(b[i] as string);
    if (group.every((h) => h.side === first.side)) for (const l of sideText(b, first.start, end, group)) out.push(l);
    else {
      const a = sideText(
        b,
        first.start,
        end,
        group.filter((h) => h.side === "ours"),
      );
      const t = sideText(
        b,
        first.start,
        end,
        group.filter((h) => h.side === "theirs"),
      );
      if (!sameLines(a, t)) return { ok: false, reason: "conflict" };
      for (const l of a) out.push(l);
    }
    at = end;
  }
  for (let i = at; i < b.length; i++) out.push(b[i] as string);
  return { ok: true, merged: Buffer.from(out.join(""), "latin1") };
}
