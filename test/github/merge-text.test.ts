/** The App's line merge of one file, checked against `git merge-file` on the same inputs. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { isBinary, mergeText } from "../../src/github/merge-text.js";

const dir = mkdtempSync(join(tmpdir(), "merge-text-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What `git merge-file` makes of the same three files: the merged bytes, or "conflict". */
function gitMergeFile(base: Buffer, ours: Buffer, theirs: Buffer): Buffer | "conflict" {
  const [b, o, t] = ["base", "ours", "theirs"].map((n) => join(dir, n)) as [string, string, string];
  writeFileSync(b, base);
  writeFileSync(o, ours);
  writeFileSync(t, theirs);
  const r = spawnSync("git", ["merge-file", "-q", "-p", o, b, t]);
  if (r.error) throw r.error;
  return r.status === 0 ? r.stdout : "conflict";
}

function ours(base: string, o: string, t: string): string {
  const r = mergeText(Buffer.from(base), Buffer.from(o), Buffer.from(t));
  return r.ok ? r.merged.toString("utf8") : r.reason;
}

const train = `import os

LR = 0.1
BATCH = 32

def train():
    for step in range(100):
        loss = step * LR

    return loss

if __name__ == "__main__":
    print(f"val_loss: {train()}")
`;

describe("mergeText", () => {
  it.each([
    ["changes far apart in one file", "1\n2\n3\n4\n5\n", "ONE\n2\n3\n4\n5\n", "1\n2\n3\n4\nFIVE\n", "ONE\n2\n3\n4\nFIVE\n"],
    ["a change and an insertion one line apart", "1\n2\n3\n", "ONE\n2\n3\n", "1\n2\n3\n4\n", "ONE\n2\n3\n4\n"],
    ["changes to adjacent lines (git conflicts)", "1\n2\n3\n", "ONE\n2\n3\n", "1\nTWO\n3\n", "conflict"],
    ["both changed the same line differently", "1\n2\n3\n", "1\nA\n3\n", "1\nB\n3\n", "conflict"],
    ["both made the same change", "1\n2\n3\n", "1\nSAME\n3\n", "1\nSAME\n3\n", "1\nSAME\n3\n"],
    ["the same change, and another apart", "1\n2\n3\n4\n5\n", "1\nSAME\n3\n4\n5\n", "1\nSAME\n3\n4\nFIVE\n", "1\nSAME\n3\n4\nFIVE\n"],
    ["different insertions at one place", "1\n2\n", "1\nA\n2\n", "1\nB\n2\n", "conflict"],
    ["one side deletes the line above the other's change (adjacent)", "1\n2\n3\n4\n", "1\n2\n4\n", "1\n2\n3\nFOUR\n", "conflict"],
    ["one side deletes a line, the other changes the next but one", "1\n2\n3\n4\n", "1\n3\n4\n", "1\n2\n3\nFOUR\n", "1\n3\nFOUR\n"],
    ["one side deletes, the other changes far away", "1\n2\n3\n4\n5\n", "1\n3\n4\n5\n", "1\n2\n3\n4\nFIVE\n", "1\n3\n4\nFIVE\n"],
    ["a last line without newline, changed on one side", "1\n2\n3", "ONE\n2\n3", "1\n2\nTHREE", "ONE\n2\nTHREE"],
    ["a newline added at the end by one side", "1\n2\n3", "ONE\n2\n3", "1\n2\n3\n", "ONE\n2\n3\n"],
    ["an empty base, both sides adding", "", "a\n", "b\n", "conflict"],
    ["nothing changed on one side", "1\n2\n", "1\n2\n", "1\nX\n", "1\nX\n"],
    [
      "two hyperparameters of a training script",
      train,
      train.replace("LR = 0.1", "LR = 0.05"),
      train.replace('    print(f"val_loss', '    # report\n    print(f"val_loss'),
      train.replace("LR = 0.1", "LR = 0.05").replace('    print(f"val_loss', '    # report\n    print(f"val_loss'),
    ],
    ["one hyperparameter, two values", train, train.replace("LR = 0.1", "LR = 0.05"), train.replace("LR = 0.1", "LR = 0.2"), "conflict"],
    [
      "a removed blank line and a change on the line below it",
      train,
      train.replace("        loss = step * LR\n\n", "        loss = step * LR\n"),
      train.replace("    return loss", "    return loss / 2"),
      "conflict",
    ],
    [
      "a removed blank line and a change two lines away",
      train,
      train.replace("    return loss\n\n", "    return loss\n"),
      train.replace("BATCH = 32", "BATCH = 64"),
      train.replace("    return loss\n\n", "    return loss\n").replace("BATCH = 32", "BATCH = 64"),
    ],
  ])("%s", (_name, base, o, t, expected) => {
    expect(ours(base, o, t)).toBe(expected);
    const git = gitMergeFile(Buffer.from(base), Buffer.from(o), Buffer.from(t));
    expect(git === "conflict" ? git : git.toString("utf8")).toBe(expected);
  });

  it("keeps bytes as they are: CRLF endings and invalid UTF-8", () => {
    const base = Buffer.from("a\r\nb\xff\r\nc\r\n", "latin1");
    const o = Buffer.from("A\r\nb\xff\r\nc\r\n", "latin1");
    const t = Buffer.from("a\r\nb\xff\r\nC\xfe\r\n", "latin1");
    const r = mergeText(base, o, t);
    expect(r).toEqual({ ok: true, merged: Buffer.from("A\r\nb\xff\r\nC\xfe\r\n", "latin1") });
    expect(r.ok && r.merged).toEqual(gitMergeFile(base, o, t));
  });

  it("does not merge binary content (a NUL in the first 8000 bytes), as git does not", () => {
    const bin = Buffer.from([1, 0, 2, 10]);
    expect(isBinary(bin)).toBe(true);
    expect(isBinary(Buffer.concat([Buffer.alloc(8000, 65), Buffer.from([0])]))).toBe(false);
    expect(mergeText(bin, Buffer.from([1, 0, 3, 10]), Buffer.from([1, 0, 2, 10, 4]))).toEqual({ ok: false, reason: "binary" });
    expect(gitMergeFile(bin, Buffer.from([1, 0, 3, 10]), Buffer.from([1, 0, 2, 10, 4]))).toBe("conflict");
  });

  it("gives up on a side with more line edits than it may diff: a conflict, not a long wait", () => {
    const base = Buffer.from(Array.from({ length: 50 }, (_, i) => `${i}\n`).join(""));
    const rewritten = Buffer.from(Array.from({ length: 50 }, (_, i) => `x${i}\n`).join(""));
    expect(mergeText(base, rewritten, base, 20)).toEqual({ ok: false, reason: "too many changes" });
    expect(mergeText(base, rewritten, base).ok).toBe(true);
  });

  it("merges a long file with many repeated lines quickly", () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => (i % 3 === 0 ? "\n" : `x = ${i}\n`));
    const base = lines.join("");
    const o = lines.map((l, i) => (i === 10 ? "changed\n" : l)).join("");
    const t = lines.map((l, i) => (i === 19_990 ? "other\n" : l)).join("");
    const started = performance.now();
    const r = mergeText(Buffer.from(base), Buffer.from(o), Buffer.from(t));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(r.ok && r.merged.toString()).toBe(lines.map((l, i) => (i === 10 ? "changed\n" : i === 19_990 ? "other\n" : l)).join(""));
  });

  it("agrees with git merge-file on random edits of files whose lines are distinct", () => {
    // Distinct lines make each side's diff unambiguous, so git's diff and this one must align
    // every change alike: the merges must be identical, conflicts included.
    const edit = fc.oneof(
      fc.record({ op: fc.constant("insert" as const), at: fc.nat(), id: fc.nat(1_000_000) }),
      fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
      fc.record({ op: fc.constant("replace" as const), at: fc.nat(), id: fc.nat(1_000_000) }),
      // Both sides may make this same change.
      fc.record({ op: fc.constant("same" as const), at: fc.nat() }),
    );
    const apply = (lines: string[], edits: { op: string; at: number; id?: number }[], side: string) => {
      const out = [...lines];
      for (const e of edits) {
        const at = e.at % (out.length + 1);
        if (e.op === "insert") out.splice(at, 0, `${side} ${e.id}\n`);
        else if (at < out.length && e.op === "delete") out.splice(at, 1);
        else if (at < out.length && e.op === "replace") out[at] = `${side} ${e.id}\n`;
        else if (at < out.length && e.op === "same") out[at] = `same ${at}\n`;
      }
      return out.join("");
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.boolean(),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (n, lastNewline, mine, theirs) => {
          const lines = Array.from({ length: n }, (_, i) => `line ${i}\n`);
          let base = lines.join("");
          if (!lastNewline && base.endsWith("\n")) base = base.slice(0, -1);
          const split = base.match(/[^\n]*\n|[^\n]+$/g) ?? [];
          const [b, o, t] = [base, apply(split, mine, "ours"), apply(split, theirs, "theirs")].map((x) => Buffer.from(x)) as [Buffer, Buffer, Buffer];
          const r = mergeText(b, o, t);
          const git = gitMergeFile(b, o, t);
          expect(r.ok ? r.merged.toString() : "conflict").toBe(git === "conflict" ? git : git.toString());
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });
});
