import { describe, expect, it } from "vitest";
import { applyEdits } from "../../src/core/edits.js";
import type { Edit } from "../../src/core/events.js";

const files = { "train.py": "LR = 0.1\nEPOCHS = 3\nLR2 = 0.1\n", "eval.py": "print(1)\n" };
const editable = ["train.py", "models/**"];

describe("applyEdits", () => {
  it("applies a search/replace that occurs once", () => {
    const r = applyEdits(files, [{ kind: "replace", path: "train.py", search: "EPOCHS = 3", replace: "EPOCHS = 5" }], editable);
    expect(r).toEqual({ ok: true, files: { "train.py": "LR = 0.1\nEPOCHS = 5\nLR2 = 0.1\n" } });
  });

  it("applies edits in order on the same file", () => {
    const r = applyEdits(
      files,
      [
        { kind: "replace", path: "train.py", search: "EPOCHS = 3", replace: "EPOCHS = 5" },
        { kind: "replace", path: "train.py", search: "EPOCHS = 5", replace: "EPOCHS = 7" },
      ],
      editable,
    );
    expect(r.ok && r.files["train.py"]).toContain("EPOCHS = 7");
  });

  it("creates a new file inside the surface", () => {
    const r = applyEdits(files, [{ kind: "write", path: "models/a.py", content: "x = 1\n" }], editable);
    expect(r).toEqual({ ok: true, files: { "models/a.py": "x = 1\n" } });
  });

  it.each<[string, Edit, string]>([
    ["ambiguous search", { kind: "replace", path: "train.py", search: "= 0.1", replace: "= 0.2" }, "found 2 times"],
    ["missing search", { kind: "replace", path: "train.py", search: "BATCH", replace: "x" }, "found 0 times"],
    ["missing file", { kind: "replace", path: "models/none.py", search: "a", replace: "b" }, "does not exist"],
    ["locked file", { kind: "write", path: "eval.py", content: "print(0)" }, "not in the editable surface"],
    [".github", { kind: "write", path: ".github/workflows/x.yml", content: "" }, ".github/** is never editable"],
    ["escape with ..", { kind: "write", path: "../outside.py", content: "" }, "'..'"],
    ["absolute path", { kind: "write", path: "/etc/passwd", content: "" }, "absolute"],
    ["dot segment", { kind: "write", path: "./train.py", content: "" }, "normalised"],
  ])("rejects %s", (_n, edit, message) => {
    const r = applyEdits(files, [edit], editable);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join("\n")).toContain(message);
  });

  it("lists surface violations separately", () => {
    const r = applyEdits(
      files,
      [
        { kind: "write", path: "eval.py", content: "x" },
        { kind: "write", path: "train.py", content: "y" },
      ],
      editable,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.surface).toEqual(["eval.py"]);
  });

  it("rejects edits that change nothing", () => {
    const r = applyEdits(files, [{ kind: "replace", path: "train.py", search: "EPOCHS = 3", replace: "EPOCHS = 3" }], editable);
    expect(r).toEqual({ ok: false, errors: ["the edits change nothing"], surface: [] });
  });

  it("rejects an empty proposal", () => {
    expect(applyEdits(files, [], editable).ok).toBe(false);
  });
});
