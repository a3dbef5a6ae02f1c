import { describe, expect, it } from "vitest";
import {
  checkGuards,
  confirmChange,
  type GuardInput,
  improvementOf,
  type JudgeInput,
  judge,
  MIN_NOISE_DF,
  oneSidedP,
  type Pair,
  pairsNeeded,
  scaledThreshold,
} from "../../src/core/judge.js";

/** Pairs from the best's and the candidate's values on seeds 1, 2, 3, ... */
const paired = (best: readonly number[], candidate: readonly number[]): Pair[] =>
  candidate.map((c, i) => ({ seed: i + 1, best: best[i] ?? Number.NaN, candidate: c }));

const base: JudgeInput = {
  goal: "minimize",
  pairs: [],
  repeats: 3,
  minImprovement: 0,
  confidence: 0.99,
  scale: "linear",
  // Noise of one paired difference: sd 0.01.
  noise: { variance: 0.01 * 0.01, df: 20 },
  preferSimpler: true,
  simplerMargin: 0,
  linesAdded: 1,
  linesRemoved: 1,
};
const flat = [1.0, 1.0, 1.0];

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

describe("judge (paired)", () => {
  it.each<[string, Partial<JudgeInput>, string]>([
    ["first seed worse: discard", { pairs: paired(flat, [1.05]) }, "discard"],
    ["first seed tie: discard", { pairs: paired(flat, [1.0]) }, "discard"],
    ["first seed clearly better: more runs", { pairs: paired(flat, [0.9]) }, "more_runs"],
    ["first seed better by less than the screening margin: discard", { pairs: paired(flat, [0.998]) }, "discard"],
    ["confirmed far beyond noise: keep", { pairs: paired(flat, [0.9, 0.91, 0.89]) }, "keep"],
    ["better on average but within noise: discard", { pairs: paired(flat, [0.995, 0.999, 1.0]) }, "discard"],
    ["maximize, confirmed: keep", { goal: "maximize", pairs: paired([0.5, 0.5, 0.5], [0.6, 0.61, 0.6]) }, "keep"],
    ["maximize, lower: discard", { goal: "maximize", pairs: paired([0.5, 0.5, 0.5], [0.4]) }, "discard"],
    ["min_improvement not reached: discard", { pairs: paired(flat, [0.95, 0.95, 0.95]), minImprovement: 0.1 }, "discard"],
    ["min_improvement exceeded: keep", { pairs: paired(flat, [0.8, 0.8, 0.8]), minImprovement: 0.1 }, "keep"],
    ["zero noise, any improvement is real", { noise: { variance: 0, df: 4 }, pairs: paired(flat, [0.9999, 0.9999, 0.9999]) }, "keep"],
    ["zero noise, tie is not an improvement", { noise: { variance: 0, df: 4 }, pairs: paired(flat, [1, 1, 1]) }, "discard"],
    ["zero noise, first seed better by a hair: more runs", { noise: { variance: 0, df: 4 }, pairs: paired(flat, [0.9999]) }, "more_runs"],
    ["no noise estimate yet (df 0): screen by sign", { noise: { variance: 0, df: 0 }, pairs: paired(flat, [0.99]) }, "more_runs"],
    ["greedy (one pair needed): better keeps", { repeats: 1, pairs: paired(flat, [0.999]) }, "keep"],
    ["greedy: worse discards", { repeats: 1, pairs: paired(flat, [1.001]) }, "discard"],
    ["greedy: tie discards", { repeats: 1, pairs: paired(flat, [1.0]) }, "discard"],
    [
      "greedy, simpler and worse within the margin: discard (one noisy run)",
      { repeats: 1, pairs: paired(flat, [1.001]), linesRemoved: 5, simplerMargin: 0.005 },
      "discard",
    ],
    [
      "deterministic, simpler and worse within the margin: keep",
      { repeats: 1, deterministic: true, pairs: paired(flat, [1.004]), linesRemoved: 5, simplerMargin: 0.005 },
      "keep",
    ],
    [
      "deterministic, simpler and worse beyond the margin: discard",
      { repeats: 1, deterministic: true, pairs: paired(flat, [1.006]), linesRemoved: 5, simplerMargin: 0.005 },
      "discard",
    ],
    ["simpler, first seed within the noise: more runs", { pairs: paired(flat, [1.001]), linesRemoved: 5, linesAdded: 1 }, "more_runs"],
    [
      "simpler and shown no worse than a wide margin: keep",
      { pairs: paired(flat, [1.001, 1.0, 1.0]), linesRemoved: 5, linesAdded: 1, simplerMargin: 0.03 },
      "keep",
    ],
    [
      "simpler, inside the margin but not shown to be (3 seeds): discard",
      { pairs: paired(flat, [1.005, 1.005, 1.005]), linesRemoved: 5, linesAdded: 1, simplerMargin: 0.01 },
      "discard",
    ],
    ["simpler with a zero margin: a tie is not enough", { pairs: paired(flat, [1, 1, 1]), linesRemoved: 5, linesAdded: 1, simplerMargin: 0 }, "discard"],
    [
      "simpler, zero noise, worse by less than the margin: keep",
      { noise: { variance: 0, df: 4 }, pairs: paired(flat, [1.004, 1.004, 1.004]), linesRemoved: 5, linesAdded: 1, simplerMargin: 0.005 },
      "keep",
    ],
    [
      "simpler, zero noise, worse by more than the margin: discard",
      { noise: { variance: 0, df: 4 }, pairs: paired(flat, [1.006, 1.006, 1.006]), linesRemoved: 5, linesAdded: 1, simplerMargin: 0.005 },
      "discard",
    ],
    ["as many lines removed as added is not simpler", { pairs: paired(flat, [1, 1, 1]), linesRemoved: 3, linesAdded: 3, simplerMargin: 0.03 }, "discard"],
    ["simpler but clearly worse: discard", { pairs: paired(flat, [1.2, 1.2, 1.2]), linesRemoved: 5, linesAdded: 1 }, "discard"],
    ["simpler but prefer_simpler off: discard", { pairs: paired(flat, [1, 1, 1]), linesRemoved: 5, linesAdded: 1, preferSimpler: false }, "discard"],
    ["no pair: discard", { pairs: [] }, "discard"],
    ["NaN candidate: discard", { pairs: paired(flat, [Number.NaN]) }, "discard"],
    ["rebased candidate is never screened", { pairs: paired(flat, [0.9]), fullOnly: true }, "more_runs"],
    ["two pairs are enough when the noise is pooled from the campaign", { repeats: 2, pairs: paired(flat, [0.95, 0.96]) }, "keep"],
  ])("%s", (_name, over, want) => {
    expect(judge({ ...base, ...over }).decision).toBe(want);
  });

  it("reports the improvement, the means over the paired seeds and a p-value on keep", () => {
    const j = judge({ ...base, pairs: paired([1, 1.2, 0.8], [0.9, 1.1, 0.7]) });
    expect(j.decision).toBe("keep");
    if (j.decision === "more_runs") throw new Error("unreachable");
    expect(j.improvement).toBeCloseTo(0.1, 12);
    expect(j.baselineMean).toBeCloseTo(1.0, 12);
    expect(j.candidateMean).toBeCloseTo(0.9, 12);
    expect(j.pairs).toBe(3);
    expect(j.pValue).toBeLessThan(0.01);
  });

  // Seed effects: seeds 1..3 are hard to different degrees for every configuration. The candidate
  // is better by 0.05 on each seed; unpaired, the seed-to-seed spread (0.3) hides it.
  const hard = [1.0, 1.3, 0.7];
  const better = hard.map((b) => b - 0.05);
  it("sees an improvement on each seed through a large seed-to-seed spread", () => {
    expect(judge({ ...base, pairs: paired(hard, better), noise: { variance: 0.01 * 0.01, df: 20 } }).decision).toBe("keep");
  });

  it("fails without the pairing: the same numbers shuffled across seeds are within the noise", () => {
    // The pairing is what makes the verdict: pair each candidate run with another seed's best and
    // the paired differences carry the seed-to-seed spread, whose pooled variance is then large.
    const shuffled = paired(hard, [better[1], better[2], better[0]] as number[]);
    const diffs = shuffled.map((p) => p.best - p.candidate);
    const m = diffs.reduce((a, b) => a + b, 0) / 3;
    const v = diffs.reduce((a, d) => a + (d - m) ** 2, 0) / 2;
    expect(judge({ ...base, pairs: shuffled, noise: { variance: v, df: 2 } }).decision).toBe("discard");
  });

  describe("a seed that crashes for one side only", () => {
    // The planner pairs only seeds where both sides have a result: a seed the best crashed on is
    // left out, and the candidate needs another seed.
    it("a best's crash on a seed leaves that seed unpaired: more runs", () => {
      const pairs = paired(flat, [0.9, 0.9, 0.9]).filter((p) => p.seed !== 2);
      expect(judge({ ...base, pairs })).toMatchObject({ decision: "more_runs", runs: 1 });
    });
    it("with its replacement seed, the verdict stands on the pairs there are", () => {
      const pairs = [...paired(flat, [0.9, 0.9, 0.9]).filter((p) => p.seed !== 2), { seed: 4, best: 1.0, candidate: 0.9 }];
      expect(judge({ ...base, pairs })).toMatchObject({ decision: "keep", pairs: 3 });
    });
  });

  describe("log scale", () => {
    // A metric that fell by orders of magnitude: noise pooled from early experiments (linear, 3e-8)
    // is far larger than a best at 1e-12; on the log scale the noise is a ratio (10%).
    const best = [1e-12, 1.1e-12, 0.9e-12];
    const half = best.map((b) => b / 2);
    it("keeps a candidate twice as good, on ratios", () => {
      expect(judge({ ...base, pairs: paired(best, half), scale: "log", noise: { variance: 0.02, df: 30 } }).decision).toBe("keep");
    });
    it("the same candidate on the linear scale, with the noise of the early experiments: discard", () => {
      expect(judge({ ...base, pairs: paired(best, half), scale: "linear", noise: { variance: 3e-8 ** 2, df: 30 } }).decision).toBe("discard");
    });
    it("falls back to the linear scale when a value is not positive", () => {
      const j = judge({ ...base, pairs: paired([1, 1, 1], [-1, -1, -1]), scale: "log", noise: { variance: 0, df: 4 } });
      expect(j.decision).toBe("keep");
    });
    it("min_improvement stays in metric units: 10% of the best is a log-ratio of about 0.105", () => {
      expect(scaledThreshold("minimize", "log", 0.1, 1)).toBeCloseTo(-Math.log(0.9), 12);
      expect(scaledThreshold("maximize", "log", 0.1, 1)).toBeCloseTo(Math.log(1.1), 12);
      expect(scaledThreshold("minimize", "log", 2, 1)).toBe(Number.POSITIVE_INFINITY);
      expect(scaledThreshold("minimize", "linear", 0.1, 1)).toBe(0.1);
    });
  });
});

describe("guards", () => {
  const guard = (over: Partial<GuardInput>): GuardInput => ({
    name: "accuracy",
    goal: "maximize",
    pairs: [0.9, 0.9, 0.9].map((b) => ({ best: b, candidate: b })),
    tolerance: 0.01,
    noise: { variance: 0, df: 10 },
    ...over,
  });
  const at = (worse: number) => [0.9, 0.9, 0.9].map((b) => ({ best: b, candidate: b - worse }));

  it.each<[string, Partial<GuardInput>, boolean]>([
    ["unchanged: ok", {}, true],
    ["better: ok", { pairs: at(-0.05) }, true],
    ["zero noise, worse by exactly the tolerance: ok (the edge)", { pairs: at(0.01) }, true],
    ["zero noise, worse by a hair beyond the tolerance: fails", { pairs: at(0.0101) }, false],
    ["noisy, worse just beyond the tolerance but not shown to be: ok", { pairs: at(0.012), noise: { variance: 0.01 ** 2, df: 10 } }, true],
    ["noisy, clearly worse beyond the tolerance: fails", { pairs: at(0.05), noise: { variance: 0.01 ** 2, df: 10 } }, false],
    [
      "minimize (training time), slower beyond 5 s: fails",
      { goal: "minimize", tolerance: 5, pairs: [10, 10, 10].map((b) => ({ best: b, candidate: b + 6 })) },
      false,
    ],
    ["minimize, slower within 5 s: ok", { goal: "minimize", tolerance: 5, pairs: [10, 10, 10].map((b) => ({ best: b, candidate: b + 4 })) }, true],
  ])("%s", (_name, over, ok) => {
    expect(checkGuards([guard(over)], 0.99)[0]?.ok).toBe(ok);
  });

  it("a guard that fails turns a keep into a discard, naming the guard", () => {
    const j = judge({ ...base, pairs: paired(flat, [0.9, 0.9, 0.9]), guards: [guard({ pairs: at(0.05) })] });
    expect(j.decision).toBe("discard");
    if (j.decision === "more_runs") throw new Error("unreachable");
    expect(j.reason).toMatch(/^guard accuracy worse by 0\.05 \(tolerance 0\.01\)/);
    expect(j.guards?.[0]).toMatchObject({ name: "accuracy", ok: false });
  });

  it("guards within their tolerance leave a keep a keep, and are recorded", () => {
    const j = judge({ ...base, pairs: paired(flat, [0.9, 0.9, 0.9]), guards: [guard({ pairs: at(0.005) })] });
    expect(j).toMatchObject({ decision: "keep", guards: [{ name: "accuracy", ok: true, tolerance: 0.01 }] });
  });
});

describe("pairsNeeded", () => {
  it.each([
    [3, 0, false, 6],
    [3, MIN_NOISE_DF - 2, false, 3],
    [3, MIN_NOISE_DF, false, 3],
    [2, 0, false, 4],
    [2, 3, false, 4],
    [2, 5, false, 2],
    [1, 0, false, 1],
    [3, 0, true, 1],
  ])("repeats %d, pooled df %d, deterministic %s -> %d", (repeats, df, det, want) => {
    expect(pairsNeeded(repeats, df, det)).toBe(want);
  });
});

describe("confirmChange", () => {
  it("confirms a clear improvement, with its interval in percent of the base", () => {
    const base5 = [0.45, 0.44, 0.46, 0.43, 0.47];
    const best5 = [0.25, 0.255, 0.26, 0.245, 0.25];
    const r = confirmChange(
      "minimize",
      "linear",
      base5.map((b, i) => ({ base: b, best: best5[i] as number })),
      0.99,
    );
    expect(r.confirmed).toBe(true);
    expect(r.changePct).toBeCloseTo(((0.252 - 0.45) / 0.45) * 100, 6);
    const [lo, hi] = r.intervalPct ?? [0, 0];
    expect(lo).toBeLessThan(r.changePct as number);
    expect(hi).toBeGreaterThan(r.changePct as number);
    expect(hi).toBeLessThan(0);
  });

  it("does not confirm a change within the noise, and its interval crosses no change", () => {
    const r = confirmChange(
      "minimize",
      "linear",
      [
        { base: 1, best: 0.9 },
        { base: 1, best: 1.1 },
        { base: 1, best: 0.95 },
      ],
      0.99,
    );
    expect(r.confirmed).toBe(false);
    const [lo, hi] = r.intervalPct ?? [0, 0];
    expect(lo).toBeLessThan(0);
    expect(hi).toBeGreaterThan(0);
  });

  it("agrees with its interval: confirmed exactly when the interval's end nearer no change is past it", () => {
    for (const shift of [0.001, 0.01, 0.02, 0.03, 0.05]) {
      const pairs = [0.0, 0.02, -0.02, 0.01, -0.01].map((n) => ({ base: 1, best: 1 - shift + n }));
      const r = confirmChange("minimize", "linear", pairs, 0.99);
      expect(r.confirmed, `shift ${shift}`).toBe((r.intervalPct?.[1] ?? 0) < 0);
    }
  });

  it("on the log scale: geometric means and a ratio", () => {
    const r = confirmChange(
      "minimize",
      "log",
      [1e-6, 2e-6, 4e-6].map((b) => ({ base: b, best: b / 2 })),
      0.99,
    );
    expect(r).toMatchObject({ confirmed: true, scale: "log" });
    expect(r.changePct).toBeCloseTo(-50, 9);
    expect(r.baseMean).toBeCloseTo(2e-6, 15);
  });

  it("needs two pairs", () => {
    expect(confirmChange("minimize", "linear", [{ base: 1, best: 0.5 }], 0.99)).toMatchObject({ confirmed: false, changePct: null });
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
