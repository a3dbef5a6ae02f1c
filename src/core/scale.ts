/**
 * The y axis of the metric charts, chosen from the values so that one diverged run (a metric of
 * 1.9e259) does not flatten everything else, and values spanning orders of magnitude stay
 * readable: far outliers are clipped to the edge of the axis (and named), and the axis turns
 * logarithmic when the values left span orders of magnitude. Pure, and safe for every finite
 * number (down to -1.7e308): computations run on scaled values so no span overflows.
 */

/** How far from the best-so-far line (in multiples of the typical spread) a value may lie before it is clipped. */
export const CLIP_FACTOR = 10;
/** The axis turns logarithmic when the visible values are all positive and max / min reaches this. */
export const LOG_RATIO = 100;

/** A value drawn at the edge of the axis instead of where it is. */
export interface ClippedPoint {
  /** Index in the series. */
  index: number;
  value: number;
  side: "above" | "below";
}

/** The chosen y axis. */
export interface AxisScale {
  kind: "linear" | "log";
  /** Axis coordinate of a value: log10(v) on a log axis, v / unit on a linear one (finite for every finite v). */
  toAxis: (v: number) => number;
  /** The value at an axis coordinate (clamped to the finite numbers). */
  fromAxis: (x: number) => number;
  /** Padded range of the axis, in axis coordinates. */
  lo: number;
  hi: number;
  /** Values of the metric series outside the axis; they are drawn at its edge. */
  clipped: ClippedPoint[];
}

const clampFinite = (x: number) => Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, x));

/** The lower median (for two values, the smaller): robust when one of few values is wild. */
function lowerMedian(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

function padded(lo: number, hi: number): [number, number] {
  const span = hi - lo;
  const pad = span > 0 ? span * 0.1 : Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 1;
  return [lo - pad, hi + pad];
}

/** The value at quantile `q` (nearest rank) of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] as number;
}

/**
 * The indices of `metric` values that lie far outside the `best` line in the space `judge` maps
 * to: more than CLIP_FACTOR times the typical spread (the best line's span, the lower median of the
 * distances between each value and the best line, or `floor`, whichever is largest) beyond the
 * best line's range.
 */
function outliers(
  metric: readonly (number | null)[],
  best: readonly (number | null)[],
  judge: (v: number) => number,
  floorOf: (c: number[]) => number,
): Map<number, "above" | "below"> {
  const ok = (v: number | null | undefined): v is number => v !== null && v !== undefined && Number.isFinite(v);
  const core = best.filter(ok).length > 0 ? best.filter(ok) : metric.filter(ok);
  const c = core.map(judge);
  const cLo = Math.min(...c);
  const cHi = Math.max(...c);
  const distances: number[] = [];
  metric.forEach((v, i) => {
    const b = best[i];
    if (ok(v) && ok(b)) distances.push(Math.abs(judge(v) - judge(b)));
  });
  const width = Math.max(cHi - cLo, lowerMedian(distances), floorOf(c));
  const out = new Map<number, "above" | "below">();
  metric.forEach((v, i) => {
    if (!ok(v)) return;
    const x = judge(v);
    if (x > cHi + CLIP_FACTOR * width) out.set(i, "above");
    else if (x < cLo - CLIP_FACTOR * width) out.set(i, "below");
  });
  return out;
}

/**
 * Chooses the axis for a chart of `metric` (each experiment's value, null where none) and `best`
 * (the best-so-far line, never clipped). A metric value is clipped when it is an outlier (see
 * `outliers`) on a linear scale and, when every value is positive, on a log scale too (so a
 * loss near 0 among losses near 1 stays on the chart). The axis is logarithmic when the visible
 * values are positive and either the best line or the middle 80% of the values span LOG_RATIO.
 */
export function chooseScale(metric: readonly (number | null)[], best: readonly (number | null)[]): AxisScale {
  const finite = (xs: readonly (number | null)[]) => xs.filter((v): v is number => v !== null && Number.isFinite(v));
  const all = [...finite(metric), ...finite(best)];
  if (all.length === 0) {
    return { kind: "linear", toAxis: (v) => v, fromAxis: (x) => x, lo: -1, hi: 1, clipped: [] };
  }
  const positive = all.every((v) => v > 0);
  // A linear space scaled by the largest magnitude, so that spans of huge values stay finite.
  const unit = Math.max(...all.map(Math.abs)) || 1;
  const linear = outliers(
    metric,
    best,
    (v) => v / unit,
    (c) => 0.1 * Math.max(...c.map(Math.abs)) || 0.1,
  );
  const log = positive ? outliers(metric, best, Math.log10, () => 0.1) : undefined;
  const clipped: ClippedPoint[] = [];
  for (const [index, side] of linear) {
    if (log && !log.has(index)) continue;
    clipped.push({ index, value: metric[index] as number, side });
  }
  const clippedAt = new Set(clipped.map((p) => p.index));
  const visible = [...finite(metric.map((v, i) => (clippedAt.has(i) ? null : v))), ...finite(best)];
  const vMin = Math.min(...visible);
  const vMax = Math.max(...visible);
  const sorted = [...visible].sort((a, b) => a - b);
  const bestValues = finite(best);
  const spans = (lo: number, hi: number) => lo > 0 && hi / lo >= LOG_RATIO;
  const useLog =
    vMin > 0 && (spans(quantile(sorted, 0.1), quantile(sorted, 0.9)) || (bestValues.length > 0 && spans(Math.min(...bestValues), Math.max(...bestValues))));

  // The axis unit comes from the visible values: a clipped -1e308 must not squash the rest to denormals.
  const axisUnit = Math.max(...visible.map(Math.abs)) || 1;
  const toAxis = useLog ? (v: number) => Math.log10(v) : (v: number) => v / axisUnit;
  const fromAxis = useLog ? (x: number) => clampFinite(10 ** x) : (x: number) => clampFinite(x * axisUnit);
  const [lo, hi] = padded(toAxis(vMin), toAxis(vMax));
  return { kind: useLog ? "log" : "linear", toAxis, fromAxis, lo, hi, clipped };
}

/** Where a value is drawn: its axis coordinate, or the edge of the axis for a clipped one. */
export function drawAt(scale: AxisScale, v: number): number {
  const x = scale.toAxis(v);
  // log10 of a value <= 0 (only ever a clipped one) is -Infinity or NaN: the bottom edge.
  if (Number.isNaN(x)) return scale.lo;
  return Math.min(scale.hi, Math.max(scale.lo, x));
}
