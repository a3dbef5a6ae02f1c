/**
 * The judge before paired seeds, kept for comparison only (`unpaired_power_3sigma_seed_effects`):
 * a candidate's mean against the best's mean over all its runs, with the noise pooled over the
 * scatter of every commit measured more than once, and its simulation as the benchmark ran it
 * (baseline on seeds 1..3, each candidate screened on seed 1, then seeds 2 and 3; a kept candidate
 * re-measured on seeds 4..6 and then the baseline of the next). Seeds are the same numbers for
 * every commit, so in a world with seed effects the seed offsets reach both sides, unpaired.
 */
import { oneSidedP } from "../src/core/judge.js";
import { mean, robustPooledNoise } from "../src/core/stats.js";

const SCREEN_Z = 0.25;

/** The unpaired verdict (repeats 3, confidence 0.99, min_improvement 0, minimize). */
function unpairedJudge(baseline: readonly number[], candidate: readonly number[], groups: readonly (readonly number[])[]): "more_runs" | "keep" | "discard" {
  const noise = robustPooledNoise(groups, [candidate]);
  const sigma = Math.sqrt(noise.variance);
  const improvement = mean(baseline) - mean(candidate);
  if (candidate.length === 1) {
    const margin = noise.df > 0 ? SCREEN_Z * sigma * Math.sqrt(1 + 1 / baseline.length) : 0;
    return improvement > margin ? "more_runs" : "discard";
  }
  const se = sigma * Math.sqrt(1 / baseline.length + 1 / candidate.length);
  return improvement > 0 && oneSidedP(improvement, se, noise.df) < 0.01 ? "keep" : "discard";
}

/** One campaign of `n` candidates, each `effect` better than the best; returns how many were kept. */
export function unpairedCampaign(n: number, effect: number, run: (truth: number, seed: number) => number): number {
  let bestTruth = 0;
  let baseline = [1, 2, 3].map((seed) => run(bestTruth, seed));
  const groups: number[][] = [baseline];
  let keeps = 0;
  for (let i = 0; i < n; i++) {
    const truth = bestTruth - effect;
    const runs = [run(truth, 1)];
    let verdict = unpairedJudge(baseline, runs, groups);
    if (verdict === "more_runs") {
      runs.push(run(truth, 2), run(truth, 3));
      verdict = unpairedJudge(baseline, runs, groups);
    }
    groups.push(runs);
    if (verdict === "keep") {
      keeps++;
      runs.push(...[4, 5, 6].map((seed) => run(truth, seed)));
      baseline = runs;
      bestTruth = truth;
    }
  }
  return keeps;
}
