import { describe, expect, it } from "vitest";
import { editableFiles, isEditable, pathShapeProblem, surfaceProblem, surfaceViolations } from "../../src/core/surface.js";

describe("pathShapeProblem", () => {
  it.each([
    ["train.py", undefined],
    ["src/models/a.py", undefined],
    ["", "empty path"],
    ["/etc/passwd", "absolute paths are not allowed"],
    ["C:\\x", "absolute paths are not allowed"],
    ["a\\b", "backslashes are not allowed in paths"],
    ["../x", "paths may not contain '..'"],
    ["a/../../x", "paths may not contain '..'"],
    ["a//b", "paths must be normalised (no empty or '.' segments)"],
    ["./a", "paths must be normalised (no empty or '.' segments)"],
    ["a/", "paths must be normalised (no empty or '.' segments)"],
  ])("%j -> %s", (path, want) => {
    expect(pathShapeProblem(path)).toBe(want);
  });
});

describe("surfaceProblem", () => {
  const editable = ["train.py", "src/**/*.py", ".github/x.yml", ".hidden/*"];
  it.each([
    ["train.py", undefined],
    ["src/a/b.py", undefined],
    ["src/a/b.txt", "not in the editable surface (train.py, src/**/*.py, .github/x.yml, .hidden/*)"],
    ["eval.py", "not in the editable surface (train.py, src/**/*.py, .github/x.yml, .hidden/*)"],
    // A glob that names .github still never reaches it; .git never either.
    [".github/x.yml", ".github/** is never editable"],
    [".git/config", ".git/** is never editable"],
    // Dotfiles match globs like any other file.
    [".hidden/a", undefined],
    ["../train.py", "paths may not contain '..'"],
  ])("%j -> %s", (path, want) => {
    expect(surfaceProblem(path, editable)).toBe(want);
  });

  it("lists every violation with its reason, and filters tracked files to the surface", () => {
    expect(surfaceViolations(["train.py", "eval.py", ".github/workflows/w.yml"], ["train.py"])).toEqual([
      { path: "eval.py", reason: "not in the editable surface (train.py)" },
      { path: ".github/workflows/w.yml", reason: ".github/** is never editable" },
    ]);
    expect(editableFiles(["train.py", "eval.py", "src/m.py", ".github/autoresearch.yml"], ["*.py", "src/**", ".github/**"])).toEqual([
      "train.py",
      "eval.py",
      "src/m.py",
    ]);
    expect(isEditable("train.py", [])).toBe(false);
  });
});
