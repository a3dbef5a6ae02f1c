/**
 * The judge, measured on simulated campaigns driven by the real planner and fold (bench/campaign.ts):
 * seeds, pairing, extra runs of the best, screening, the pooled paired noise, the judging mode and
 * the keeps are the product's. Default accept settings (repeats 3, baseline_repeats 3, confidence
 * 0.99, min_improvement 0, scale auto), 20 candidates per campaign, one run at a time. Noise is
 * Gaussian with sigma = 1 from seeded streams (src/proposers/rng.ts), so every figure is reproducible.
 *
 * - No-effect campaigns: every candidate's truth equals the current best's.
 * - 3-sigma campaigns: every candidate's truth is 3 sigma better than the current best's (an
 *   improving campaign); what remains of the winner's curse is in the figure.
 * - Seed effects: each seed adds an offset shared by every configuration, drawn once per campaign
 *   with a spread of 3 sigma (a seed that is hard for one configuration is hard for all).
 *   `unpaired_power_3sigma_seed_effects` is the judge before paired seeds (bench/unpaired.ts) on
 *   the same kind of campaigns.
 * - Deterministic: zero noise, no seed effects; each candidate is a random configuration (truth
 *   drawn from N(0, 1) whatever the best), so keeps are new records, as in a real campaign.
 * - Log scale: the metric falls by 5 orders of magnitude over 5 kept experiments (each 10x better),
 *   then 20 candidates are each 2x better than the best (a true ratio), with 10% multiplicative
 *   noise; the figure is the share of those 20 kept, with accept.scale auto (linear beside it).
 * - simpler_false_keep_rate_1sigma_worse: a candidate that removes code (prefer_simpler) and is
 *   truly 1 sigma worse, judged by judge() on 3 paired seeds with simpler_margin = 0.25 sigma and
 *   the noise pooled over 4 earlier candidates' paired differences; `previous_rule` is the rule it
 *   replaced (kept unless shown worse) on the same pairs.
 */

import type { ConfigInput } from "../src/core/config.js";
import { judge, oneSidedP, type Pair } from "../src/core/judge.js";
import { mean, robustPooledNoise } from "../src/core/stats.js";
import { createRng, type Rng } from "../src/proposers/rng.js";
import { clusteredStderr, newSimTally, type SimModel, type SimTally, simulateCampaign } from "./campaign.js";
import { type BenchResult, round } from "./result.js";
import { unpairedCampaign } from "./unpaired.js";

const CANDIDATES = 20;
const NULL_CAMPAIGNS = 2000;
const POWER_CAMPAIGNS = 500;
const DETERMINISTIC_CAMPAIGNS = 500;
const LOG_CAMPAIGNS = 200;
const EFFECT_SIGMAS = 3;
const SEED_SPREAD = 3;

const CONFIG: ConfigInput = { metric: { name: "loss", goal: "minimize" }, run: "true", editable: ["train.py"], accept: { prefer_simpler: false } };

/** Gaussian noise sigma 1 plus, with `spread`, an offset per seed shared by every configuration (drawn once per campaign). */
function gaussianModel(rng: Rng, effect: number, spread: number): SimModel {
  const offsets = new Map<number, number>();
  const offset = (seed: number) => {
    if (!offsets.has(seed)) offsets.set(seed, spread * rng.normal());
    return offsets.get(seed) as number;
  };
  return { next: (best) => best - effect, run: (truth, seed) => truth + offset(seed) + rng.normal() };
}

function campaigns(n: number, seed: string, config: ConfigInput, model: (rng: Rng) => SimModel, candidates = CANDIDATES): SimTally {
  const t = newSimTally(candidates);
  const rng = createRng(seed);
  for (let c = 0; c < n; c++) simulateCampaign(config, candidates, model(rng), t);
  return t;
}

const rate = (t: SimTally) => t.keeps / t.candidates;
const runsPer = (t: SimTally) => t.runs / t.candidates;
const at = (t: SimTally, i: number, n: number) => round((t.keepsAt[i] ?? 0) / n);

/** Runs of a simpler candidate and its best, judged like the planner does; noise pooled over a few earlier candidates. */
const SIMPLER_TRIALS = 20_000;
/** The margin of the equivalence test, in noise sigmas: small next to the run-to-run noise. */
const SIMPLER_MARGIN_SIGMAS = 0.25;

/**
 * prefer_simpler: how often a simpler candidate (removes more lines of code than it adds) whose true
 * mean is `worse` sigmas worse is kept, by the cascade with the equivalence test, and by the rule
 * it replaced (kept unless shown worse).
 */
function simplerKeepRate(worse: number, seed: string): { rate: number; oldRule: number; runs: number } {
  const rng = createRng(seed);
  let keeps = 0;
  let oldKeeps = 0;
  let runs = 0;
  for (let t = 0; t < SIMPLER_TRIALS; t++) {
    // A campaign a few candidates in: 4 earlier candidates' paired differences (3 each, noise 2 sigma^2).
    const groups: number[][] = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => rng.normal() - rng.normal()));
    const pairs: Pair[] = [{ seed: 1, best: rng.normal(), candidate: worse + rng.normal() }];
    const input = () => {
      const own = pairs.map((p) => p.best - p.candidate);
      return {
        goal: "minimize" as const,
        pairs,
        repeats: 3,
        minImprovement: 0,
        confidence: 0.99,
        scale: "linear" as const,
        noise: robustPooledNoise(groups, [own]),
        preferSimpler: true,
        simplerMargin: SIMPLER_MARGIN_SIGMAS,
        linesAdded: 1,
        linesRemoved: 3,
      };
    };
    let j = judge(input());
    if (j.decision === "more_runs") {
      while (pairs.length < 3) pairs.push({ seed: pairs.length + 1, best: rng.normal(), candidate: worse + rng.normal() });
      j = judge(input());
    }
    runs += pairs.length;
    if (j.decision === "keep") keeps++;
    // The old rule on the same pairs: kept unless significantly worse.
    if (pairs.length === 3) {
      const own = pairs.map((p) => p.best - p.candidate);
      const noise = robustPooledNoise(groups, [own]);
      const se = Math.sqrt(noise.variance / pairs.length);
      const improvement = mean(own);
      if (improvement > 0 ? oneSidedP(improvement, se, noise.df) < 0.01 : oneSidedP(-improvement, se, noise.df) >= 0.01) oldKeeps++;
    }
  }
  return { rate: keeps / SIMPLER_TRIALS, oldRule: oldKeeps / SIMPLER_TRIALS, runs: runs / SIMPLER_TRIALS };
}

export function judgeBenchmarks(): BenchResult[] {
  const nul = campaigns(NULL_CAMPAIGNS, "bench:judge:null", CONFIG, (rng) => gaussianModel(rng, 0, 0));
  const pow = campaigns(POWER_CAMPAIGNS, "bench:judge:3sigma", CONFIG, (rng) => gaussianModel(rng, EFFECT_SIGMAS, 0));
  const nulSeed = campaigns(NULL_CAMPAIGNS, "bench:judge:null:seeds", CONFIG, (rng) => gaussianModel(rng, 0, SEED_SPREAD));
  const powSeed = campaigns(POWER_CAMPAIGNS, "bench:judge:3sigma:seeds", CONFIG, (rng) => gaussianModel(rng, EFFECT_SIGMAS, SEED_SPREAD));
  const greedy = campaigns(NULL_CAMPAIGNS, "bench:judge:greedy", { ...CONFIG, accept: { prefer_simpler: false, repeats: 1 } }, (rng) =>
    gaussianModel(rng, 0, 0),
  );
  let unpairedKeeps = 0;
  const rngUnpaired = createRng("bench:judge:3sigma:seeds:unpaired");
  for (let c = 0; c < POWER_CAMPAIGNS; c++) {
    const m = gaussianModel(rngUnpaired, EFFECT_SIGMAS, SEED_SPREAD);
    unpairedKeeps += unpairedCampaign(CANDIDATES, EFFECT_SIGMAS, m.run);
  }
  const unpairedPower = unpairedKeeps / (POWER_CAMPAIGNS * CANDIDATES);

  // Deterministic: zero noise; each candidate a random configuration.
  const det = campaigns(DETERMINISTIC_CAMPAIGNS, "bench:judge:deterministic", CONFIG, (rng) => ({ next: () => rng.normal(), run: (truth) => truth }));

  // Log scale: 5 candidates each 10x better (kept), then 20 each 2x better, with 10% multiplicative noise.
  const logModel = (rng: Rng): SimModel => {
    let n = 0;
    return { next: (best) => (n++ < 5 ? best - Math.log(10) : best - Math.log(2)), run: (truth) => Math.exp(truth + 0.1 * rng.normal()) };
  };
  // Truths are log-values here; the model's run() turns them into the metric.
  const logPower = (scale: "auto" | "linear") => {
    const t = campaigns(LOG_CAMPAIGNS, `bench:judge:log:${scale}`, { ...CONFIG, accept: { prefer_simpler: false, scale } }, logModel, 25);
    const fellAll = t.keepsAt.slice(0, 5).reduce((a, k) => a + k, 0) / (5 * LOG_CAMPAIGNS);
    const later = t.keepsAt.slice(5).reduce((a, k) => a + k, 0) / (20 * LOG_CAMPAIGNS);
    return { later, fellAll };
  };
  const logAuto = logPower("auto");
  const logLinear = logPower("linear");

  const simpler = simplerKeepRate(1, "bench:judge:simpler:1");
  const simplerHalf = simplerKeepRate(0.5, "bench:judge:simpler:0.5");
  const simplerEqual = simplerKeepRate(0, "bench:judge:simpler:0");
  return [
    {
      name: "simpler_false_keep_rate_1sigma_worse",
      value: round(simpler.rate),
      unit: "ratio",
      better: "lower",
      goal: "<= 0.05",
      pass: simpler.rate <= 0.05,
      trials: SIMPLER_TRIALS,
      margin_sigma: SIMPLER_MARGIN_SIGMAS,
      previous_rule: round(simpler.oldRule),
      at_half_sigma_worse: round(simplerHalf.rate),
      equal_change_keep_rate: round(simplerEqual.rate),
      runs_per_candidate: round(simpler.runs),
    },
    {
      name: "judge_false_keep_rate",
      value: round(rate(nul)),
      unit: "ratio",
      better: "lower",
      goal: "<= 0.01",
      pass: rate(nul) <= 0.01,
      candidates: nul.candidates,
      campaigns: NULL_CAMPAIGNS,
      stderr: round(clusteredStderr(nul.perCampaign, CANDIDATES), 2),
      first_candidate: at(nul, 0, NULL_CAMPAIGNS),
      last_candidate: at(nul, CANDIDATES - 1, NULL_CAMPAIGNS),
    },
    {
      name: "greedy_false_keep_rate",
      value: round(rate(greedy)),
      unit: "ratio",
      better: "lower",
      note: "repeats: 1, one run against the best's run on the same seed (same no-effect candidates); a keep moves the best",
      candidates: greedy.candidates,
      stderr: round(clusteredStderr(greedy.perCampaign, CANDIDATES), 2),
    },
    {
      name: "judge_power_3sigma",
      value: round(rate(pow)),
      unit: "ratio",
      better: "higher",
      goal: ">= 0.8",
      pass: rate(pow) >= 0.8,
      candidates: pow.candidates,
      campaigns: POWER_CAMPAIGNS,
      stderr: round(clusteredStderr(pow.perCampaign, CANDIDATES), 2),
      first_candidate: at(pow, 0, POWER_CAMPAIGNS),
      last_candidate: at(pow, CANDIDATES - 1, POWER_CAMPAIGNS),
    },
    {
      name: "judge_runs_per_candidate",
      value: round(runsPer(nul)),
      unit: "runs",
      better: "lower",
      goal: "<= 2",
      pass: runsPer(nul) <= 2,
      candidates: nul.candidates,
      note: "no-effect campaigns; runs of the best after the baseline (re-measurements, extra paired seeds) included",
      runs_per_candidate_3sigma: round(runsPer(pow)),
    },
    {
      name: "judge_false_keep_rate_seed_effects",
      value: round(rate(nulSeed)),
      unit: "ratio",
      better: "lower",
      goal: "<= 0.01",
      pass: rate(nulSeed) <= 0.01,
      seed_spread_sigma: SEED_SPREAD,
      candidates: nulSeed.candidates,
      campaigns: NULL_CAMPAIGNS,
      stderr: round(clusteredStderr(nulSeed.perCampaign, CANDIDATES), 2),
    },
    {
      name: "judge_power_3sigma_seed_effects",
      value: round(rate(powSeed)),
      unit: "ratio",
      better: "higher",
      goal: ">= 0.8",
      pass: rate(powSeed) >= 0.8,
      unpaired_power_3sigma_seed_effects: round(unpairedPower),
      seed_spread_sigma: SEED_SPREAD,
      candidates: powSeed.candidates,
      campaigns: POWER_CAMPAIGNS,
      stderr: round(clusteredStderr(powSeed.perCampaign, CANDIDATES), 2),
      first_candidate: at(powSeed, 0, POWER_CAMPAIGNS),
      last_candidate: at(powSeed, CANDIDATES - 1, POWER_CAMPAIGNS),
    },
    {
      name: "unpaired_power_3sigma_seed_effects",
      value: round(unpairedPower),
      unit: "ratio",
      better: "higher",
      note: "the judge before paired seeds (bench/unpaired.ts) on the same kind of campaigns",
      campaigns: POWER_CAMPAIGNS,
    },
    {
      name: "judge_runs_per_candidate_seed_effects",
      value: round(runsPer(nulSeed)),
      unit: "runs",
      better: "lower",
      goal: "<= 2.2",
      pass: runsPer(nulSeed) <= 2.2,
      note: "no-effect campaigns with seed effects; runs of the best after the baseline (re-measurements, extra paired seeds) included",
      candidates: nulSeed.candidates,
      runs_per_candidate_3sigma: round(runsPer(powSeed)),
    },
    {
      name: "judge_runs_per_candidate_deterministic",
      value: round(runsPer(det)),
      unit: "runs",
      better: "lower",
      goal: "<= 1.2",
      pass: runsPer(det) <= 1.2,
      note: "zero noise; each candidate a random configuration; re-checks of new bests included",
      keep_rate: round(rate(det)),
      candidates: det.candidates,
    },
    {
      name: "log_scale_power",
      value: round(logAuto.later),
      unit: "ratio",
      better: "higher",
      goal: ">= 0.9",
      pass: logAuto.later >= 0.9,
      note: "candidates 2x better than the best after the metric fell 5 orders of magnitude, 10% multiplicative noise, accept.scale auto",
      linear_scale_power: round(logLinear.later),
      first_five_kept: round(logAuto.fellAll),
      campaigns: LOG_CAMPAIGNS,
    },
  ];
}
