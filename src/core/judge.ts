/**
 * The noise-aware cascade of DESIGN.md ("Judging"), on paired seeds: a candidate runs on seeds the
 * best has been measured on and is judged on the per-seed differences, so a seed that is hard for
 * every configuration cancels out. Screening on the first paired difference; confirmation by a
 * one-sided paired test whose variance is pooled over the campaign's paired differences. Pure;
 * tested with tables.
 */
import jstatPkg from "jstat";
import type { GuardCheck, Scale } from "./events.js";
import { mean, type PooledNoise } from "./stats.js";

const { jStat } = jstatPkg;

/**
 * Screening margin, in standard deviations of one paired difference: a first run must beat the
 * best by this much on its seed to earn more runs. It saves runs on candidates with no effect
 * (about a third instead of half go on) and costs little power on real ones
 * (`npm run bench`: judge_runs_per_candidate, judge_power_3sigma).
 */
export const SCREEN_Z = 0.5;

/**
 * Degrees of freedom the pooled noise should have before a verdict rests on `repeats` pairs: while
 * the campaign has fewer, a promising candidate runs on more seeds (up to twice `repeats`), so the
 * first candidates are not judged against a variance guessed from two or three differences.
 */
export const MIN_NOISE_DF = 6;

/** One seed on which both the candidate and the best it is compared with have a result. */
export interface Pair {
  seed: number;
  /** The best's metric on this seed. */
  best: number;
  /** The candidate's metric on this seed. */
  candidate: number;
}

/** A guard metric on the same paired seeds (the candidate is measured on the best's seeds). */
export interface GuardInput {
  name: string;
  goal: "minimize" | "maximize";
  pairs: readonly { best: number; candidate: number }[];
  /** How much worse than the best the candidate may be, in the guard's units (already resolved from a percentage). */
  tolerance: number;
  /** Pooled noise of one paired difference of this guard (linear scale). */
  noise: PooledNoise;
}

export interface JudgeInput {
  goal: "minimize" | "maximize";
  /** Paired results, in the order the candidate ran them. */
  pairs: readonly Pair[];
  /** Pairs the candidate needs for a verdict (accept.repeats, more while the noise estimate is young, 1 when deterministic). */
  repeats: number;
  /** The improvement that counts, in metric units (already resolved from a percentage). */
  minImprovement: number;
  /** accept.confidence. */
  confidence: number;
  /** Where differences are taken and the noise pooled. */
  scale: Scale;
  /** Pooled noise of one paired difference on `scale`, the candidate's own differences included. */
  noise: PooledNoise;
  preferSimpler: boolean;
  /**
   * How much worse (metric units, >= 0) a simpler change may be: it is kept only when a one-sided
   * test at `confidence` shows it is no worse than this (an equivalence test, not "not shown worse").
   */
  simplerMargin: number;
  /** Lines of code the candidate adds and removes (blank and comment-only lines not counted). */
  linesAdded: number;
  linesRemoved: number;
  /** True when the candidate must be measured fully before judging (a rebased candidate). */
  fullOnly?: boolean;
  /** A deterministic target: one pair is exact, so a simpler change within the margin is known to be. */
  deterministic?: boolean;
  /** Guard metrics: a keep becomes a discard when one is shown worse beyond its tolerance. */
  guards?: readonly GuardInput[];
}

export type Judgement =
  | { decision: "more_runs"; runs: number; improvement: number; reason: string }
  | {
      decision: "keep" | "discard";
      reason: string;
      /** Mean improvement over the pairs in metric units (positive is better), or null without pairs. */
      improvement: number | null;
      /** Means over the paired seeds, in metric units. */
      baselineMean: number | null;
      candidateMean: number | null;
      pValue: number | null;
      /** Pairs the verdict rests on. */
      pairs: number;
      guards?: GuardCheck[];
    };

/** Improvement of `candidate` over `baseline`: positive when better, whatever the direction. */
export function improvementOf(goal: "minimize" | "maximize", baselineMean: number, candidateMean: number): number {
  return goal === "minimize" ? baselineMean - candidateMean : candidateMean - baselineMean;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Number(n.toPrecision(4)).toString();
}

/**
 * One-sided p-value that an improvement of `d` beyond the threshold is real, given a standard
 * error with `df` degrees of freedom. Zero noise makes any positive `d` certain.
 */
export function oneSidedP(d: number, se: number, df: number): number {
  if (!Number.isFinite(d)) return 1;
  if (se === 0) return d > 0 ? 0 : 1;
  const t = d / se;
  return df > 0 ? 1 - jStat.studentt.cdf(t, df) : 1 - jStat.normal.cdf(t, 0, 1);
}

/** The one-sided critical value at `alpha` (Student's t with `df`, the normal without). */
export function criticalValue(alpha: number, df: number): number {
  return df > 0 ? jStat.studentt.inv(1 - alpha, df) : jStat.normal.inv(1 - alpha, 0, 1);
}

/** The improvement of `candidate` over `best` on `scale` (the log scale takes ratios). */
export function scaledImprovement(goal: "minimize" | "maximize", scale: Scale, best: number, candidate: number): number {
  return scale === "log" ? improvementOf(goal, Math.log(best), Math.log(candidate)) : improvementOf(goal, best, candidate);
}

/**
 * An improvement of `m` metric units over a best at `level`, on `scale`: itself on the linear
 * scale; on the log scale the log-ratio a candidate needs to be `m` better (Infinity when a
 * minimized metric cannot fall that far). Negative `m` (a worsening) works the same way.
 */
export function scaledThreshold(goal: "minimize" | "maximize", scale: Scale, m: number, level: number): number {
  if (scale === "linear") return m;
  if (goal === "minimize") return level - m > 0 ? Math.log(level / (level - m)) : Number.POSITIVE_INFINITY;
  return level + m > 0 ? Math.log((level + m) / level) : Number.NEGATIVE_INFINITY;
}

/** The level of the best on `scale`, in metric units: the arithmetic mean, or the geometric mean on the log scale. */
function levelOf(values: readonly number[], scale: Scale): number {
  return scale === "log" ? Math.exp(mean(values.map(Math.log))) : mean(values);
}

/**
 * Guard checks on the candidate's pairs: a guard fails when a one-sided paired test at
 * `confidence` shows it worse than the best by more than its tolerance (zero noise: when it is).
 * A guard is a check against a shown degradation, not a proof that there is none.
 */
export function checkGuards(guards: readonly GuardInput[], confidence: number): GuardCheck[] {
  const alpha = 1 - confidence;
  return guards.map((g) => {
    const n = g.pairs.length;
    const best = mean(g.pairs.map((p) => p.best));
    const candidate = mean(g.pairs.map((p) => p.candidate));
    // Worse is positive: the opposite of an improvement.
    const worseBy = -improvementOf(g.goal, best, candidate);
    if (n === 0 || !Number.isFinite(worseBy)) return { name: g.name, best, candidate, worse_by: worseBy, tolerance: g.tolerance, p_value: null, ok: true };
    const se = Math.sqrt(g.noise.variance / n);
    // Exactly at the tolerance is within it: rounding (0.9 - 0.89 = 0.01000000000000001) must not fail it.
    const slack = 1e-12 * (Math.abs(best) + Math.abs(candidate) + g.tolerance);
    const beyond = worseBy - g.tolerance > slack ? worseBy - g.tolerance : 0;
    const p = oneSidedP(beyond, se, g.noise.df);
    return { name: g.name, best, candidate, worse_by: worseBy, tolerance: g.tolerance, p_value: p, ok: !(beyond > 0 && p < alpha) };
  });
}

/** Decides what happens to a candidate whose scheduled runs have all finished. */
export function judge(input: JudgeInput): Judgement {
  const { goal, pairs, repeats, confidence, noise } = input;
  const n = pairs.length;
  const bestValues = pairs.map((p) => p.best);
  const candValues = pairs.map((p) => p.candidate);
  const baselineMean = n ? mean(bestValues) : null;
  const candidateMean = n ? mean(candValues) : null;
  if (n === 0 || baselineMean === null || candidateMean === null || !Number.isFinite(baselineMean) || !Number.isFinite(candidateMean)) {
    return {
      decision: "discard",
      reason: "no seed with a result for both the candidate and the best",
      improvement: null,
      baselineMean: null,
      candidateMean: null,
      pValue: null,
      pairs: 0,
    };
  }
  // The log scale needs positive values; where one is not, the linear scale stands in.
  const scale: Scale = input.scale === "log" && [...bestValues, ...candValues].every((v) => v > 0) ? "log" : "linear";
  const diffs = pairs.map((p) => scaledImprovement(goal, scale, p.best, p.candidate));
  const improvement = improvementOf(goal, baselineMean, candidateMean);
  const level = levelOf(bestValues, scale);
  const minImprovement = scaledThreshold(goal, scale, input.minImprovement, level);
  const d = mean(diffs);
  const simpler = input.preferSimpler && input.linesRemoved > input.linesAdded;
  const sigma = Math.sqrt(noise.variance);
  const alpha = 1 - confidence;
  const onLog = scale === "log" ? " on the log scale" : "";
  const verdict = (decision: "keep" | "discard", reason: string, pValue: number | null): Judgement => {
    if (decision === "keep" && input.guards?.length) {
      const guards = checkGuards(input.guards, confidence);
      const failed = guards.filter((g) => !g.ok);
      if (failed.length)
        return {
          decision: "discard",
          reason: `guard ${failed.map((g) => `${g.name} worse by ${fmt(g.worse_by)} (tolerance ${fmt(g.tolerance)}${g.p_value === null || g.p_value === 0 ? "" : `, p=${fmt(g.p_value)}`})`).join(", ")}; ${reason}`,
          improvement,
          baselineMean,
          candidateMean,
          pValue,
          pairs: n,
          guards,
        };
      return { decision, reason, improvement, baselineMean, candidateMean, pValue, pairs: n, guards };
    }
    const guards = input.guards?.length ? checkGuards(input.guards, confidence) : undefined;
    return { decision, reason, improvement, baselineMean, candidateMean, pValue, pairs: n, ...(guards ? { guards } : {}) };
  };

  // Greedy mode (one pair): autoresearch's keep-if-better, on the best's result for the same seed.
  if (repeats <= 1) {
    if (d > minImprovement) return verdict("keep", `better by ${fmt(improvement)} on seed ${pairs[0]?.seed} (one run)`, null);
    if (simpler && d >= 0) return verdict("keep", `no worse and simpler (removes ${input.linesRemoved - input.linesAdded} lines of code)`, null);
    const allowed = -scaledThreshold(goal, scale, -Math.max(0, input.simplerMargin), level);
    if (simpler && input.deterministic && d + allowed > 0)
      return verdict(
        "keep",
        `simpler (removes ${input.linesRemoved - input.linesAdded} lines of code) and worse by less than ${fmt(input.simplerMargin)} on a deterministic target`,
        null,
      );
    return verdict("discard", `not better than the best on seed ${pairs[0]?.seed} (${fmt(improvement)} <= ${fmt(input.minImprovement)})`, null);
  }

  // Screening on the first paired difference.
  if (n === 1 && !input.fullOnly) {
    const margin = noise.df > 0 ? SCREEN_Z * sigma : 0;
    const first = diffs[0] as number;
    if (first > minImprovement + margin) {
      return { decision: "more_runs", runs: repeats - n, improvement, reason: `promising on its first seed (${fmt(improvement)})` };
    }
    // A simpler change goes on unless its first seed is clearly worse than the margin allows.
    const allowed = -scaledThreshold(goal, scale, -Math.max(0, input.simplerMargin), level);
    if (simpler && first + allowed > -2 * sigma) {
      return { decision: "more_runs", runs: repeats - n, improvement, reason: "simpler; checking it is within the noise" };
    }
    return verdict("discard", `first seed not better than the best beyond the noise (improvement ${fmt(improvement)})`, null);
  }
  if (n < repeats) {
    return { decision: "more_runs", runs: repeats - n, improvement, reason: "measuring all seeds" };
  }

  // Confirmation: one-sided paired test on the mean difference with the pooled noise.
  const se = sigma / Math.sqrt(n);
  const beyond = d - minImprovement;
  const p = oneSidedP(beyond, se, noise.df);
  if (beyond > 0 && p < alpha) {
    return verdict("keep", `better by ${fmt(improvement)} on ${n} paired seeds${onLog} (p=${fmt(p)} < ${fmt(alpha)})`, p);
  }
  if (simpler) {
    // Non-inferiority: keep only if the test shows it is worse by less than the margin. "Not shown
    // to be worse" would keep real regressions whenever the runs are few and the noise wide.
    const margin = -scaledThreshold(goal, scale, -Math.max(0, input.simplerMargin), level);
    const pNoWorse = oneSidedP(d + margin, se, noise.df);
    if (d + margin > 0 && pNoWorse < alpha)
      return verdict(
        "keep",
        `simpler (removes ${input.linesRemoved - input.linesAdded} lines of code) and no worse than ${fmt(input.simplerMargin)} on ${n} paired seeds (p=${fmt(pNoWorse)} < ${fmt(alpha)})`,
        pNoWorse,
      );
  }
  if (beyond <= 0) return verdict("discard", `not better than the best on ${n} paired seeds (improvement ${fmt(improvement)})`, p);
  return verdict("discard", `better by ${fmt(improvement)} on ${n} paired seeds but within the noise (p=${fmt(p)} >= ${fmt(alpha)})`, p);
}

/**
 * Pairs needed for a verdict: `repeats`, or more (up to twice `repeats`) while the pooled noise
 * has fewer than MIN_NOISE_DF degrees of freedom; 1 for a deterministic target or greedy judging.
 */
export function pairsNeeded(repeats: number, poolDf: number, deterministic: boolean): number {
  if (deterministic || repeats <= 1) return 1;
  return Math.min(2 * repeats, Math.max(repeats, MIN_NOISE_DF + 1 - poolDf));
}

/**
 * The confirmation of a final number: base and best on the same fresh seeds, one-sided paired
 * test at `confidence` with the pairs' own variance (a self-contained check a reviewer can redo),
 * and a two-sided interval at 1 - 2 * (1 - confidence) whose end nearer no change is the test's
 * bound. On the log scale the means are geometric and the change a ratio.
 */
export function confirmChange(
  goal: "minimize" | "maximize",
  scale: Scale,
  pairs: readonly { base: number; best: number }[],
  confidence: number,
): {
  confirmed: boolean;
  baseMean: number | null;
  bestMean: number | null;
  changePct: number | null;
  intervalPct: [number, number] | null;
  pValue: number | null;
  scale: Scale;
  reason: string;
} {
  const n = pairs.length;
  if (n < 2)
    return {
      confirmed: false,
      baseMean: null,
      bestMean: null,
      changePct: null,
      intervalPct: null,
      pValue: null,
      scale,
      reason: `${n} of the fresh seeds has a result on both commits; at least 2 are needed`,
    };
  const useLog = scale === "log" && pairs.every((p) => p.base > 0 && p.best > 0);
  const s: Scale = useLog ? "log" : "linear";
  const base = pairs.map((p) => p.base);
  const best = pairs.map((p) => p.best);
  const alpha = 1 - confidence;
  const baseMean = levelOf(base, s);
  const bestMean = levelOf(best, s);
  // Change (best minus base) on the scale: a log-ratio, or a difference.
  const diffs = pairs.map((p) => (useLog ? Math.log(p.best) - Math.log(p.base) : p.best - p.base));
  const m = mean(diffs);
  const df = n - 1;
  const sd = Math.sqrt(diffs.reduce((a, x) => a + (x - m) ** 2, 0) / df);
  const se = sd / Math.sqrt(n);
  const t = criticalValue(alpha, df);
  // A base of 0 has no percentages; the test itself is on the differences.
  const toPct = (x: number) => (useLog ? (Math.exp(x) - 1) * 100 : baseMean === 0 ? Number.NaN : (x / Math.abs(baseMean)) * 100);
  const lo = toPct(m - t * se);
  const hi = toPct(m + t * se);
  const changePct = toPct(m);
  // Improvement-signed mean change: the test is on this side.
  const improvement = goal === "minimize" ? -m : m;
  const p = oneSidedP(improvement, se, df);
  const confirmed = improvement > 0 && p < alpha;
  const level = `${Math.round((1 - 2 * alpha) * 1000) / 10}%`;
  const finite = Number.isFinite(changePct) && Number.isFinite(lo) && Number.isFinite(hi);
  const interval = finite ? `; ${level} interval ${fmt(lo)}% to ${fmt(hi)}%` : "";
  const reason = confirmed
    ? `better on ${n} fresh paired seeds (p=${fmt(p)} < ${fmt(alpha)}${interval})`
    : `not shown better on ${n} fresh paired seeds (p=${fmt(p)} >= ${fmt(alpha)}${interval})`;
  return { confirmed, baseMean, bestMean, changePct: finite ? changePct : null, intervalPct: finite ? [lo, hi] : null, pValue: p, scale: s, reason };
}
