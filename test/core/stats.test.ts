import { describe, expect, it } from "vitest";
import { mean, pooledNoise, robustPooledNoise, stdev, sumSquares } from "../../src/core/stats.js";

describe("mean", () => {
  it.each([
    [[1, 2, 3], 2],
    [[-1e308, -1e308], -1e308],
    [[1e308, 1e308, 1e308], 1e308],
    [[Number.MAX_VALUE, Number.MAX_VALUE], Number.MAX_VALUE],
    [[1e308, -1e308], 0],
    [[0, 0], 0],
    [[5e-324, 5e-324], 5e-324],
  ])("of %j is %d, never an overflow", (xs, expected) => {
    expect(mean(xs)).toBe(expected);
  });

  it("is NaN for no value, and keeps infinities and NaN that are given", () => {
    expect(mean([])).toBeNaN();
    expect(mean([1, Number.POSITIVE_INFINITY])).toBe(Number.POSITIVE_INFINITY);
    expect(mean([1, Number.NaN])).toBeNaN();
  });
});

describe("spread", () => {
  it.each([
    [[1, 2, 3, 4], 1.2909944487358056],
    [[-1e308, -1e308], 0],
    [[1e308, -1e308], Math.SQRT2 * 1e308],
    [[-1.7e308, 1.7e308, 0], 1.7e308],
  ])("stdev of %j is %d, finite when it fits a double", (xs, expected) => {
    const s = stdev(xs);
    expect(Number.isFinite(s)).toBe(true);
    expect(Math.abs(s - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, expected));
  });

  it("sum of squares is exact on ordinary values and Infinity only beyond a double", () => {
    expect(sumSquares([1, 2, 3, 4])).toBeCloseTo(5, 12);
    expect(sumSquares([1e200, -1e200])).toBe(Number.POSITIVE_INFINITY);
    expect(sumSquares([1e150, -1e150])).toBeCloseTo(2e300, -290);
    expect(
      pooledNoise([
        [-1e308, -1e308],
        [-1e308, -1e308],
      ]),
    ).toEqual({ variance: 0, df: 2 });
  });
});

describe("descriptive statistics", () => {
  it("the mean of nothing is NaN (no measurement), not 0", () => {
    expect(mean([])).toBeNaN();
    expect(sumSquares([])).toBe(0);
    expect(stdev([])).toBe(0);
  });

  it.each([
    [[2], 2, 0, 0],
    [[1, 3], 2, 2, Math.SQRT2],
    [[1, 1, 1], 1, 0, 0],
    [[0.1, 0.2, 0.3], 0.2, 0.02, 0.1],
  ])("%j: mean %d, sum of squares %d, stdev %d", (xs, m, ss, sd) => {
    expect(mean(xs)).toBeCloseTo(m, 12);
    expect(sumSquares(xs)).toBeCloseTo(ss, 12);
    expect(stdev(xs)).toBeCloseTo(sd, 12);
  });
});

describe("pooledNoise", () => {
  it("pools the within-group variance of groups measured more than once", () => {
    // Two groups with variance 1 and 4 (df 2 each): pooled (2*1 + 2*4) / 4 = 2.5.
    expect(pooledNoise([[0, 1, 2], [0, 2, 4], [7]])).toEqual({ variance: 2.5, df: 4 });
    expect(pooledNoise([[1], [2]])).toEqual({ variance: 0, df: 0 });
    expect(pooledNoise([])).toEqual({ variance: 0, df: 0 });
  });
});

describe("robustPooledNoise", () => {
  const quiet = Array.from({ length: 6 }, (_, i) => [1 + 0.01 * i, 1.01 + 0.01 * i, 0.99 + 0.01 * i]);
  it("leaves out a group whose scatter is incompatible with the others (a diverging configuration)", () => {
    const r = robustPooledNoise([...quiet, [0, 50, 100]]);
    expect(r.excluded).toBe(1);
    expect(r.variance).toBeCloseTo(pooledNoise(quiet).variance, 12);
  });

  it("always counts the required groups (the candidate's own scatter)", () => {
    const wild = [0, 50, 100];
    const r = robustPooledNoise(quiet, [wild]);
    expect(r.excluded).toBe(0);
    expect(r.df).toBe(pooledNoise(quiet).df + 2);
    expect(r.variance).toBeGreaterThan(pooledNoise(quiet).variance * 10);
  });

  it("excludes nothing when every group agrees, or when there is nothing to compare with", () => {
    expect(robustPooledNoise(quiet).excluded).toBe(0);
    expect(robustPooledNoise([[1, 2, 3]])).toMatchObject({ excluded: 0, df: 2 });
  });
});
