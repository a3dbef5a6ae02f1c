import { describe, expect, it } from "vitest";
import { improvementOf, type JudgeInput, judge, oneSidedP } from "../../src/core/judge.js";

const base: JudgeInput = {
  goal: "minimize",
  baseline: [1.0, 1.0, 1.0],
  candidate: [],
  repeats: 3,
  minImprovement: 0,
  confidence: 0.99,
  noise: { variance: 0.01 * 0.01, df: 20 },
  preferSimpler: true,
  simplerMargin: 0,
  linesAdded: 1,
  linesRemoved: 1,
};

describe("improvementOf", () => {
  it.each([
    ["minimize", 1.0, 0.9, 0.1],
    ["minimize", 1.0, 1.1, -0.1],
    ["maximize", 0.5, 0.7, 0.2],
    ["maximize", 0.5, 0.4, -0.1],
  ] as const)("%s baseline %d candidate %d -> %d", (goal, b, c, want) => {
    expect(improvementOf(goal, b, c)).toBeCloseTo(want, 12);
  });
});

describe("judge", () => {
  it.each<[string, Partial<JudgeInput>, string]>([
    ["first run worse: discard", { candidate: [1.05] }, "discard"],
    ["first run tie: discard", { candidate: [1.0] }, "discard"],
    ["first run clearly better: more runs", { candidate: [0.9] }, "more_runs"],
    ["first run better by less than the screening margin: discard", { candidate: [0.999] }, "discard"],
    ["confirmed far beyond noise: keep", { candidate: [0.9, 0.91, 0.89] }, "keep"],
    ["better on average but within noise: discard", { candidate: [0.995, 0.999, 1.0] }, "discard"],
    ["maximize, confirmed: keep", { goal: "maximize", baseline: [0.5, 0.5, 0.5], candidate: [0.6, 0.61, 0.6] }, "keep"],
    ["maximize, lower: discard", { goal: "maximize", baseline: [0.5, 0.5, 0.5], candidate: [0.4] }, "discard"],
    ["min_improvement not reached: discard", { candidate: [0.95, 0.95, 0.95], minImprovement: 0.1 }, "discard"],
    ["min_improvement exceeded: keep", { candidate: [0.8, 0.8, 0.8], minImprovement: 0.1 }, "keep"],
    ["zero noise, any improvement is real", { noise: { variance: 0, df: 4 }, candidate: [0.9999, 0.9999, 0.9999] }, "keep"],
    ["zero noise, tie is not an improvement", { noise: { variance: 0, df: 4 }, candidate: [1, 1, 1] }, "discard"],
    ["zero noise, first run better by a hair: more runs", { noise: { variance: 0, df: 4 }, candidate: [0.9999] }, "more_runs"],
    ["no noise estimate yet (df 0): screen by sign", { noise: { variance: 0, df: 0 }, candidate: [0.99] }, "more_runs"],
    ["greedy repeats 1: better keeps", { repeats: 1, candidate: [0.999] }, "keep"],
    ["greedy repeats 1: worse discards", { repeats: 1, candidate: [1.001] }, "discard"],
    ["greedy repeats 1: tie discards", { repeats: 1, candidate: [1.0] }, "discard"],
    ["simpler, first run within the noise: more runs", { candidate: [1.001], linesRemoved: 5, linesAdded: 1 }, "more_runs"],
    ["simpler and shown no worse than a wide margin: keep", { candidate: [1.001, 1.0, 1.0], linesRemoved: 5, linesAdded: 1, simplerMargin: 0.03 }, "keep"],
    [
      "simpler, inside the margin but not shown to be (3 runs): discard",
      { candidate: [1.005, 1.005, 1.005], linesRemoved: 5, linesAdded: 1, simplerMargin: 0.01 },
      "discard",
    ],
    ["simpler with a zero margin: a tie is not enough", { candidate: [1.0, 1.0, 1.0], linesRemoved: 5, linesAdded: 1, simplerMargin: 0 }, "discard"],
    [
      "simpler, zero noise, worse by less than the margin: keep",
      { noise: { variance: 0, df: 4 }, candidate: [1.004, 1.004, 1.004], linesRemoved: 5, linesAdded: 1, simplerMargin: 0.005 },
      "keep",
    ],
    [
      "simpler, zero noise, worse by more than the margin: discard",
      { noise: { variance: 0, df: 4 }, candidate: [1.006, 1.006, 1.006], linesRemoved: 5, linesAdded: 1, simplerMargin: 0.005 },
      "discard",
    ],
    ["as many lines removed as added is not simpler", { candidate: [1.0, 1.0, 1.0], linesRemoved: 3, linesAdded: 3, simplerMargin: 0.03 }, "discard"],
    ["simpler but clearly worse: discard", { candidate: [1.2, 1.2, 1.2], linesRemoved: 5, linesAdded: 1 }, "discard"],
    ["simpler but prefer_simpler off: discard", { candidate: [1.0, 1.0, 1.0], linesRemoved: 5, linesAdded: 1, preferSimpler: false }, "discard"],
    ["no successful candidate run: discard", { candidate: [] }, "discard"],
    ["NaN candidate: discard", { candidate: [Number.NaN] }, "discard"],
    ["no baseline: discard", { baseline: [], candidate: [0.5] }, "discard"],
    ["one baseline sample with noise known", { baseline: [1.0], candidate: [0.9, 0.9, 0.9] }, "keep"],
    ["rebased candidate is never screened", { candidate: [0.9], fullOnly: true }, "more_runs"],
  ])("%s", (_name, over, want) => {
    expect(judge({ ...base, ...over }).decision).toBe(want);
  });

  it("reports the improvement and a p-value on keep", () => {
    const j = judge({ ...base, candidate: [0.9, 0.9, 0.9] });
    expect(j.decision).toBe("keep");
    if (j.decision === "more_runs") throw new Error("unreachable");
    expect(j.improvement).toBeCloseTo(0.1, 12);
    expect(j.pValue).toBeLessThan(0.01);
  });
});

describe("oneSidedP", () => {
  it.each([
    [1, 0, 10, 0],
    [0, 0, 10, 1],
    [-1, 0, 10, 1],
    [0, 1, 10, 0.5],
    [Number.NaN, 1, 10, 1],
  ])("d=%d se=%d df=%d -> %d", (d, se, df, want) => {
    expect(oneSidedP(d, se, df)).toBeCloseTo(want, 6);
  });
  it("uses the t distribution: fewer degrees of freedom, larger p", () => {
    expect(oneSidedP(2, 1, 2)).toBeGreaterThan(oneSidedP(2, 1, 30));
  });
});
