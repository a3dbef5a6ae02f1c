/** Small descriptive statistics; distributions come from jstat. */
import jstatPkg from "jstat";

const { jStat } = jstatPkg;

/** The largest magnitude in `xs` (0 for none): sums are taken on values divided by it, so they cannot overflow. */
function scaleOf(xs: readonly number[]): number {
  let m = 0;
  for (const x of xs) if (Math.abs(x) > m) m = Math.abs(x);
  return m;
}

/**
 * Arithmetic mean; NaN for an empty list. Finite values give a finite mean, even near the limits
 * of a double (two runs of -1e308 have the mean -1e308, not -Infinity).
 */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const scale = scaleOf(xs);
  if (scale === 0 || !Number.isFinite(scale)) {
    let s = 0;
    for (const x of xs) s += x;
    return s / xs.length;
  }
  let s = 0;
  for (const x of xs) s += x / scale;
  return (s / xs.length) * scale;
}

/**
 * Sum of squared deviations from the mean (0 for fewer than 2 values), computed on scaled values:
 * Infinity only when the true sum exceeds the largest double.
 */
export function sumSquares(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const { ss, scale } = scaledSumSquares(xs);
  return ss * scale * scale;
}

/** The sum of squares of (x - mean) / scale, and the scale: finite for finite values. */
function scaledSumSquares(xs: readonly number[]): { ss: number; scale: number } {
  const m = mean(xs);
  // Deviations can be twice the largest magnitude: scale by the largest deviation instead.
  let scale = 0;
  for (const x of xs) if (Math.abs(x / 2 - m / 2) > scale) scale = Math.abs(x / 2 - m / 2);
  if (scale === 0 || !Number.isFinite(scale)) return { ss: 0, scale: 0 };
  let ss = 0;
  for (const x of xs) {
    const d = (x / 2 - m / 2) / scale;
    ss += d * d;
  }
  // (x - m)^2 = 4 (x/2 - m/2)^2
  return { ss: 4 * ss, scale };
}

/** Sample standard deviation (n - 1); 0 for fewer than 2 values; finite whenever it fits a double. */
export function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const { ss, scale } = scaledSumSquares(xs);
  return Math.sqrt(ss / (xs.length - 1)) * scale;
}

/** A pooled estimate of run-to-run noise: variance with its degrees of freedom. */
export interface PooledNoise {
  variance: number;
  df: number;
}

/** Pools the within-group variance of every group measured more than once. */
export function pooledNoise(groups: readonly (readonly number[])[]): PooledNoise {
  let ss = 0;
  let df = 0;
  for (const g of groups) {
    if (g.length < 2) continue;
    ss += sumSquares(g);
    df += g.length - 1;
  }
  return { variance: df > 0 ? ss / df : 0, df };
}

/**
 * The pooled noise, robust to a configuration whose runs scatter far more than the rest (a
 * diverging learning rate, say): each group whose variance an F-test at `alpha` finds
 * incompatible with the pool of the others is left out, so one wild candidate does not make every
 * later improvement look like noise. `required` groups (the candidate being judged) always count:
 * a candidate's own scatter is real noise for its verdict.
 */
export function robustPooledNoise(
  groups: readonly (readonly number[])[],
  required: readonly (readonly number[])[] = [],
  alpha = 0.001,
): PooledNoise & { excluded: number } {
  const candidates = groups.filter((g) => g.length >= 2);
  const kept: (readonly number[])[] = [];
  let excluded = 0;
  for (const g of candidates) {
    const rest = pooledNoise([...candidates.filter((o) => o !== g), ...required]);
    const df = g.length - 1;
    const v = sumSquares(g) / df;
    if (rest.df > 0 && rest.variance > 0 && v / rest.variance > jStat.centralF.inv(1 - alpha, df, rest.df)) {
      excluded++;
      continue;
    }
    kept.push(g);
  }
  return { ...pooledNoise([...kept, ...required]), excluded };
}
