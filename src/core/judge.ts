/**
 * The noise-aware cascade of DESIGN.md ("Judging"): screen a candidate on one run, confirm a
 * promising one with more seeds and a one-sided t-test that uses the campaign's pooled noise.
 * Pure; tested with tables.
 */
import jstatPkg from "jstat";
import { mean, type PooledNoise } from "./stats.js";

const { jStat } = jstatPkg;

/**
 * Screening margin, in noise standard deviations of a single-run comparison: a first run must beat
 * the baseline by this much to earn more runs. A small margin saves runs on candidates with no
 * effect (about 40% instead of 50% go on) while costing almost no power on real ones.
 */
export const SCREEN_Z = 0.25;

export interface JudgeInput {
  goal: "minimize" | "maximize";
  /** The current baseline's successful run metrics (the best commit's runs). */
  baseline: readonly number[];
  /** The candidate's successful run metrics on its current commit. */
  candidate: readonly number[];
  /** Runs the candidate gets when promising (accept.repeats). */
  repeats: number;
  /** The improvement that counts, in metric units (already resolved from a percentage). */
  minImprovement: number;
  /** accept.confidence. */
  confidence: number;
  /** Pooled run-to-run noise of the campaign. */
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
}

export type Judgement =
  | { decision: "more_runs"; runs: number; improvement: number; reason: string }
  | {
      decision: "keep" | "discard";
      reason: string;
      improvement: number | null;
      baselineMean: number | null;
      candidateMean: number | null;
      pValue: number | null;
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

/** Decides what happens to a candidate whose scheduled runs have all finished. */
export function judge(input: JudgeInput): Judgement {
  const { goal, baseline, candidate, repeats, minImprovement, confidence, noise } = input;
  const baselineMean = mean(baseline);
  const candidateMean = mean(candidate);
  if (baseline.length === 0 || !Number.isFinite(baselineMean)) {
    return {
      decision: "discard",
      reason: "no baseline measurement",
      improvement: null,
      baselineMean: null,
      candidateMean: Number.isFinite(candidateMean) ? candidateMean : null,
      pValue: null,
    };
  }
  if (candidate.length === 0 || !Number.isFinite(candidateMean)) {
    return { decision: "discard", reason: "no successful run", improvement: null, baselineMean, candidateMean: null, pValue: null };
  }
  const improvement = improvementOf(goal, baselineMean, candidateMean);
  const simpler = input.preferSimpler && input.linesRemoved > input.linesAdded;
  const sigma = Math.sqrt(noise.variance);
  const nb = baseline.length;
  const verdict = (decision: "keep" | "discard", reason: string, pValue: number | null): Judgement => ({
    decision,
    reason,
    improvement,
    baselineMean,
    candidateMean,
    pValue,
  });

  // Greedy mode (repeats: 1): autoresearch's keep-if-better on one run.
  if (repeats <= 1) {
    if (improvement > minImprovement) return verdict("keep", `better by ${fmt(improvement)} on one run (repeats: 1, greedy)`, null);
    if (simpler && improvement >= 0) return verdict("keep", `no worse and simpler (removes ${input.linesRemoved - input.linesAdded} lines)`, null);
    return verdict("discard", `not better than the baseline (${fmt(improvement)} <= ${fmt(minImprovement)})`, null);
  }

  // Screening on the first run.
  if (candidate.length < repeats && !input.fullOnly && candidate.length === 1) {
    const singleSe = sigma * Math.sqrt(1 + 1 / nb);
    const margin = noise.df > 0 ? SCREEN_Z * singleSe : 0;
    if (improvement > minImprovement + margin) {
      return { decision: "more_runs", runs: repeats - candidate.length, improvement, reason: `promising on its first run (${fmt(improvement)})` };
    }
    if (simpler && improvement > -2 * singleSe) {
      return { decision: "more_runs", runs: repeats - candidate.length, improvement, reason: "simpler; checking it is within the noise" };
    }
    return verdict("discard", `first run not better than the baseline beyond the noise (improvement ${fmt(improvement)})`, null);
  }
  if (candidate.length < repeats) {
    return { decision: "more_runs", runs: repeats - candidate.length, improvement, reason: "measuring all seeds" };
  }

  // Confirmation: one-sided test on the mean improvement with the pooled noise.
  const se = sigma * Math.sqrt(1 / nb + 1 / candidate.length);
  const alpha = 1 - confidence;
  const d = improvement - minImprovement;
  const p = oneSidedP(d, se, noise.df);
  if (d > 0 && p < alpha) {
    return verdict("keep", `better by ${fmt(improvement)} over ${candidate.length} runs (p=${fmt(p)} < ${fmt(alpha)})`, p);
  }
  if (simpler) {
    // Non-inferiority: keep only if the test shows it is worse by less than the margin. "Not shown
    // to be worse" would keep real regressions whenever the runs are few and the noise wide.
    const margin = Math.max(0, input.simplerMargin);
    const pNoWorse = oneSidedP(improvement + margin, se, noise.df);
    if (improvement + margin > 0 && pNoWorse < alpha)
      return verdict(
        "keep",
        `simpler (removes ${input.linesRemoved - input.linesAdded} lines of code) and no worse than ${fmt(margin)} (p=${fmt(pNoWorse)} < ${fmt(alpha)})`,
        pNoWorse,
      );
  }
  if (d <= 0) return verdict("discard", `not better than the baseline over ${candidate.length} runs (improvement ${fmt(improvement)})`, p);
  return verdict("discard", `better by ${fmt(improvement)} but within the noise (p=${fmt(p)} >= ${fmt(alpha)})`, p);
}
