import { describe, expect, it } from "vitest";
import { codeLineChanges, codeLinesOf } from "../../src/core/lines.js";

describe("code lines (prefer_simpler)", () => {
  it("drops blank and comment-only lines", () => {
    expect(codeLinesOf("a = 1\n\n  # note\n// c\n/* x\n * y\n */\n-- sql\nb = 2  # trailing comment stays code\n")).toEqual([
      "a = 1",
      "b = 2  # trailing comment stays code",
    ]);
    expect(codeLinesOf(undefined)).toEqual([]);
  });

  it.each([
    ["deleting a comment is not simpler", "a = 1\n# why\nb = 2\n", "a = 1\nb = 2\n", { added: 0, removed: 0 }],
    ["deleting a blank line is not simpler", "a = 1\n\nb = 2\n", "a = 1\nb = 2\n", { added: 0, removed: 0 }],
    ["removing code is", "a = 1\nb = 2\nc = a + b\n", "a = 1\nc = a\n", { added: 1, removed: 2 }],
    ["re-indenting is not a change", "if x:\n  y()\n", "if x:\n    y()\n", { added: 0, removed: 0 }],
    ["a changed line is one removed and one added", "lr = 0.1\n", "lr = 0.2\n", { added: 1, removed: 1 }],
  ])("%s", (_name, before, after, want) => {
    expect(codeLineChanges({ "t.py": before }, { "t.py": after })).toEqual(want);
  });

  it("counts new and deleted files, and leaves unchanged ones out", () => {
    expect(codeLineChanges({ "a.py": "x = 1\n", "b.py": "y = 2\nz = 3\n" }, { "a.py": "x = 1\n", "c.py": "w = 4\n" })).toEqual({ added: 1, removed: 2 });
  });
});
