import { describe, expect, it } from "vitest";
import { mean, pooledNoise, stdev, sumSquares } from "../../src/core/stats.js";

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
