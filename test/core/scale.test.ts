import { describe, expect, it } from "vitest";
import { chooseScale, drawAt } from "../../src/core/scale.js";

describe("chooseScale", () => {
  it.each([
    ["steady values", [2.4, 2.38, 2.41, 2.3], [2.4, 2.38, 2.38, 2.3], "linear", []],
    ["one diverged run", [2.4, 2.38, 1.9e259, 2.3], [2.4, 2.38, 2.38, 2.3], "linear", [2]],
    ["a run at -1e308 of a metric around zero", [0.1, -0.2, -1e308, 0.3], [0.1, 0.1, 0.1, 0.3], "linear", [2]],
    ["losses falling over orders of magnitude", [1e-2, 1e-3, 1e-4, 1e-5], [1e-2, 1e-3, 1e-4, 1e-5], "log", []],
    ["one value near zero among values near one", [1, 0.9, 1e-5, 1.1], [1, 1, 1, 1], "linear", []],
    ["a failed experiment (null)", [1, null, 0.9], [1, 1, 0.9], "linear", []],
  ] as const)("%s", (_what, metric, best, kind, clipped) => {
    const s = chooseScale(metric, best);
    expect(s.kind).toBe(kind);
    expect(s.clipped.map((c) => c.index)).toEqual(clipped);
    expect(Number.isFinite(s.lo) && Number.isFinite(s.hi) && s.lo < s.hi).toBe(true);
    for (const v of metric) if (v !== null) expect(Number.isFinite(drawAt(s, v))).toBe(true);
    // The best line is never clipped: it is drawn where it is.
    for (const b of best) expect(drawAt(s, b)).toBeCloseTo(s.toAxis(b), 12);
  });

  it("round-trips values through the axis", () => {
    const s = chooseScale([2e-3, 1e-4, 3e-6], [2e-3, 1e-4, 3e-6]);
    expect(s.kind).toBe("log");
    expect(s.fromAxis(s.toAxis(2e-3))).toBeCloseTo(2e-3, 15);
  });

  it("has a range for nothing measured", () => {
    expect(chooseScale([null], [null])).toMatchObject({ kind: "linear", lo: -1, hi: 1, clipped: [] });
  });
});
