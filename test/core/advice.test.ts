import { describe, expect, it } from "vitest";
import { type FailedRun, failureHint, formatTimeBox, suggestTimeBox } from "../../src/core/advice.js";

const ctx = { run: "python3 train.py", timeBox: 60, metric: "val_loss" };
const crash = (tail: string, reason = "the run command exited with code 1"): FailedRun => ({ status: "crash", reason, tail });

describe("failureHint", () => {
  it.each([
    [
      "a python FileNotFoundError for a data file",
      crash("FileNotFoundError: [Errno 2] No such file or directory: 'input.txt'"),
      /^missing input file: "input\.txt".*inputs: \[input\.txt\]/,
    ],
    [
      "a node ENOENT inside the run directory",
      crash("Error: ENOENT: no such file or directory, open '/tmp/x/autoresearch-run-AbC123/data/train.csv'"),
      /^missing input file: "data\/train\.csv".*inputs: \[data\/\]/,
    ],
    [
      "the script itself is not committed",
      crash("python3: can't open file '/tmp/autoresearch-run-q1/train.py': [Errno 2] No such file or directory", "the run command exited with code 2"),
      /^"train\.py" is not in the last commit/,
    ],
    [
      "sh cannot find the command",
      crash("/bin/sh: 1: python: not found", "the run command exited with code 127 (command not found)"),
      /^command not found: "python".*python3/,
    ],
    ["bash cannot find the command", crash("bash: nodex: command not found"), /^command not found: "nodex"/],
    ["exit 127 with no output", crash("", "the run command exited with code 127 (command not found)"), /^command not found: "python3"/],
    ["a missing python package", crash("ModuleNotFoundError: No module named 'torch'"), /^a package is missing: "torch"/],
    ["a timeout", { status: "timeout", reason: "run exceeded the time box of 60 s and was killed", tail: "step 10" }, /^time box too small: .*\(60s\)/],
    ["no metric", { status: "no_metric", reason: "no line", tail: "val loss 2.4" }, /metric\.pattern/],
  ] as const)("%s", (_what, run, hint) => {
    expect(failureHint(run, ctx)).toMatch(hint);
  });

  it("says nothing when it cannot tell", () => {
    expect(failureHint(crash("ValueError: shapes (3,) and (4,) not aligned"), ctx)).toBeUndefined();
    expect(failureHint({ status: "cancelled", reason: "", tail: "" }, ctx)).toBeUndefined();
  });
});

describe("time boxes", () => {
  it.each([
    [0, 10],
    [3.2, 10],
    [17.2, 35],
    [54, 110],
    [70, 180],
    [1000, 2040],
    [5000, 10080],
  ])("a run of %s s suggests %s s", (seconds, box) => {
    expect(suggestTimeBox(seconds)).toBe(box);
    expect(suggestTimeBox(seconds)).toBeGreaterThanOrEqual(2 * seconds);
  });

  it.each([
    [45, "45s"],
    [110, "110s"],
    [180, "3m"],
    [10080, "2.8h"],
  ])("formatTimeBox(%s) = %s", (s, text) => {
    expect(formatTimeBox(s)).toBe(text);
  });
});
