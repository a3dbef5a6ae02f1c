/** Small descriptive statistics; distributions come from jstat. */
import jstatPkg from "jstat";

const { jStat } = jstatPkg;

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sum of squared deviations from the mean (0 for fewer than 2 values). */
export function sumSquares(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s;
}

/** Sample standard deviation (n - 1); 0 for fewer than 2 values. */
export function stdev(xs: readonly number[]): number {
  return xs.length < 2 ? 0 : Math.sqrt(sumSquares(xs) / (xs.length - 1));
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
