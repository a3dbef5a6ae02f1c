/**
 * Simulated campaigns with the real `judge()` and `robustPooledNoise()`, pooled exactly as the
 * planner's campaignNoise does: every earlier group of >= 2 runs, plus the candidate's own runs as
 * `required`. Default accept settings (repeats 3, baseline_repeats 3, confidence 0.99,
 * min_improvement 0); prefer_simpler is on but linesAdded = linesRemoved = 1, so it never triggers.
 * Noise is Gaussian with sigma = 1 from a seeded Box-Muller stream (src/proposers/rng.ts), so every
 * figure is reproducible.
 *
 * A campaign: the baseline gets 3 runs, then candidates are judged one at a time. Each candidate is
 * screened on one run; on `more_runs` it gets the remaining runs and is judged again, as the
 * planner does. On a keep, the kept commit gets baseline_repeats fresh runs (as the planner
 * schedules them) and its runs, old and fresh, become the baseline.
 *
 * - No-effect campaigns: every candidate's true mean equals the current best's true mean.
 * - 3-sigma campaigns: every candidate's true mean is 3 sigma better than the current best's true
 *   mean; after a keep the next candidates are again 3 sigma better than the new best (an
 *   improving campaign). The baseline is the kept candidate's measured runs plus its fresh ones, so
 *   what remains of the winner's curse (a kept candidate's mean is optimistic) is in the figure. The extra
 *   key `fixed_baseline` is the same simulation with the baseline never moving.
 * - greedy_false_keep_rate: autoresearch's keep-if-better (judge with repeats: 1) on the same
 *   no-effect candidates' first runs against the base commit's 3-run mean; `moving_baseline_rate`
 *   is a separate greedy campaign in which each keep makes that one run the baseline.
 * - simpler_false_keep_rate_1sigma_worse: a candidate that removes code (prefer_simpler) and is
 *   truly 1 sigma worse, judged as the planner does with simpler_margin = 0.25 sigma (a margin
 *   small next to the noise, so keeping it is a false keep); `previous_rule` is the rule it
 *   replaced (kept unless shown worse) on the same runs.
 */
import { judge, oneSidedP } from "../src/core/judge.js";
import { mean, robustPooledNoise } from "../src/core/stats.js";
import { createRng, type Rng } from "../src/proposers/rng.js";
import { type BenchResult, round } from "./result.js";

const REPEATS = 3;
const BASELINE_REPEATS = 3;
const CONFIDENCE = 0.99;
const CANDIDATES_PER_CAMPAIGN = 20;
const NULL_CAMPAIGNS = 5000;
const POWER_CAMPAIGNS = 1000;
const EFFECT_SIGMAS = 3;

interface CampaignTally {
  candidates: number;
  keeps: number;
  runs: number;
  /** Keeps by the candidate's position in its campaign (0-based). */
  keepsAt: number[];
  /** Greedy (repeats: 1) keep-if-better of the candidate's first run against the base commit's 3 runs. */
  greedyKeeps: number;
  /** Keeps and greedy keeps of each campaign, for standard errors (candidates of one campaign share a baseline, so they are not independent). */
  perCampaign: { keeps: number; greedy: number }[];
}

function newTally(): CampaignTally {
  return { candidates: 0, keeps: 0, runs: 0, keepsAt: new Array<number>(CANDIDATES_PER_CAMPAIGN).fill(0), greedyKeeps: 0, perCampaign: [] };
}

function judgeWith(baseline: readonly number[], candidate: readonly number[], groups: readonly (readonly number[])[], repeats = REPEATS) {
  return judge({
    goal: "minimize",
    baseline,
    candidate,
    repeats,
    minImprovement: 0,
    confidence: CONFIDENCE,
    noise: robustPooledNoise(groups, [candidate]),
    preferSimpler: true,
    simplerMargin: 0,
    linesAdded: 1,
    linesRemoved: 1,
  });
}

/**
 * One campaign of the noise-aware cascade; `effect` is how much better (lower) each candidate truly
 * is than the best, in sigma. `moveBaseline: false` is a diagnostic variant: a keep does not move
 * the baseline (each candidate is judged against the base commit's runs, pooled noise still
 * accumulating), which isolates the winner's curse of a moving baseline.
 */
function cascadeCampaign(rng: Rng, effect: number, t: CampaignTally, moveBaseline = true): void {
  let bestTrue = 0;
  const draw = (mu: number) => mu + rng.normal();
  const base = Array.from({ length: BASELINE_REPEATS }, () => draw(bestTrue));
  let baseline = base;
  const mine = { keeps: 0, greedy: 0 };
  t.perCampaign.push(mine);
  // Every finished experiment's runs, as campaignNoise collects them (groups of 1 are ignored by the pool).
  const groups: number[][] = [baseline];
  for (let i = 0; i < CANDIDATES_PER_CAMPAIGN; i++) {
    const trueMean = bestTrue - effect;
    const runs = [draw(trueMean)];
    t.candidates++;
    // Greedy on the same first run, against the base commit's runs (whose true mean equals the
    // candidate's when there is no effect), so a rare cascade keep does not bias this figure.
    if (judgeWith(base, runs, groups, 1).decision === "keep") {
      t.greedyKeeps++;
      mine.greedy++;
    }
    let j = judgeWith(baseline, runs, groups);
    if (j.decision === "more_runs") {
      for (let k = 0; k < j.runs; k++) runs.push(draw(trueMean));
      j = judgeWith(baseline, runs, groups);
      if (j.decision === "more_runs") throw new Error("judge asked for more runs after all repeats");
    }
    t.runs += runs.length;
    groups.push(runs);
    if (j.decision === "keep") {
      t.keeps++;
      mine.keeps++;
      t.keepsAt[i] = (t.keepsAt[i] ?? 0) + 1;
      if (moveBaseline) {
        // As the planner does: the kept commit gets baseline_repeats fresh seeds before it judges
        // anyone (its own runs passed a test, so their mean is optimistic), and is the baseline.
        for (let k = 0; k < BASELINE_REPEATS; k++) runs.push(draw(trueMean));
        t.runs += BASELINE_REPEATS;
        baseline = runs;
        bestTrue = trueMean;
      }
    }
  }
}

/**
 * Autoresearch's greedy loop (repeats: 1) on no-effect candidates, with the baseline moving to the
 * kept run: a keep then needs a new record low, so the rate falls as the campaign goes on.
 */
function greedyMovingCampaign(rng: Rng, t: { candidates: number; keeps: number }): void {
  let baseline = Array.from({ length: BASELINE_REPEATS }, () => rng.normal());
  const groups: number[][] = [baseline];
  for (let i = 0; i < CANDIDATES_PER_CAMPAIGN; i++) {
    const runs = [rng.normal()];
    t.candidates++;
    if (judgeWith(baseline, runs, groups, 1).decision === "keep") {
      t.keeps++;
      baseline = runs;
    }
  }
}

/** Runs of a simpler candidate and of its baseline, judged like the planner does; noise pooled over a few earlier experiments. */
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
    const baseline = Array.from({ length: BASELINE_REPEATS }, () => rng.normal());
    // A campaign a few experiments in: noise pooled over the baseline and 4 earlier candidates.
    const groups: number[][] = [baseline, ...Array.from({ length: 4 }, () => Array.from({ length: REPEATS }, () => rng.normal()))];
    const cand = [worse + rng.normal()];
    const input = (candidate: readonly number[]) => ({
      goal: "minimize" as const,
      baseline,
      candidate,
      repeats: REPEATS,
      minImprovement: 0,
      confidence: CONFIDENCE,
      noise: robustPooledNoise(groups, [candidate]),
      preferSimpler: true,
      simplerMargin: SIMPLER_MARGIN_SIGMAS,
      linesAdded: 1,
      linesRemoved: 3,
    });
    let j = judge(input(cand));
    if (j.decision === "more_runs") {
      while (cand.length < REPEATS) cand.push(worse + rng.normal());
      j = judge(input(cand));
    }
    runs += cand.length;
    if (j.decision === "keep") keeps++;
    // The old rule on the same runs: kept unless significantly worse.
    if (cand.length === REPEATS) {
      const noise = robustPooledNoise(groups, [cand]);
      const se = Math.sqrt(noise.variance) * Math.sqrt(1 / baseline.length + 1 / cand.length);
      const improvement = mean(baseline) - mean(cand);
      if (improvement > 0 ? oneSidedP(improvement, se, noise.df) < 1 - CONFIDENCE : oneSidedP(-improvement, se, noise.df) >= 1 - CONFIDENCE) oldKeeps++;
    }
  }
  return { rate: keeps / SIMPLER_TRIALS, oldRule: oldKeeps / SIMPLER_TRIALS, runs: runs / SIMPLER_TRIALS };
}

/** Standard error of a per-candidate rate, clustered by campaign: the spread of the campaigns' rates over sqrt(campaigns). */
function stderrOf(counts: readonly number[]): number {
  const n = counts.length;
  const rates = counts.map((c) => c / CANDIDATES_PER_CAMPAIGN);
  const m = rates.reduce((s, r) => s + r, 0) / n;
  const v = rates.reduce((s, r) => s + (r - m) ** 2, 0) / (n - 1);
  return Math.sqrt(v / n);
}

export function judgeBenchmarks(): BenchResult[] {
  const nul = newTally();
  const rngNull = createRng("bench:judge:null");
  for (let c = 0; c < NULL_CAMPAIGNS; c++) cascadeCampaign(rngNull, 0, nul);

  const pow = newTally();
  const rngPow = createRng("bench:judge:3sigma");
  for (let c = 0; c < POWER_CAMPAIGNS; c++) cascadeCampaign(rngPow, EFFECT_SIGMAS, pow);

  const fixed = newTally();
  const rngFixed = createRng("bench:judge:3sigma-fixed");
  for (let c = 0; c < POWER_CAMPAIGNS; c++) cascadeCampaign(rngFixed, EFFECT_SIGMAS, fixed, false);

  const moving = { candidates: 0, keeps: 0 };
  const rngGreedy = createRng("bench:judge:greedy");
  for (let c = 0; c < NULL_CAMPAIGNS; c++) greedyMovingCampaign(rngGreedy, moving);

  const falseKeep = nul.keeps / nul.candidates;
  const greedy = nul.greedyKeeps / nul.candidates;
  const power = pow.keeps / pow.candidates;
  const runsNull = nul.runs / nul.candidates;
  const runsPow = pow.runs / pow.candidates;
  const powerAt = (i: number) => (pow.keepsAt[i] ?? 0) / POWER_CAMPAIGNS;
  const falseKeepAt = (i: number) => (nul.keepsAt[i] ?? 0) / NULL_CAMPAIGNS;
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
      value: round(falseKeep),
      unit: "ratio",
      better: "lower",
      goal: "<= 0.01",
      pass: falseKeep <= 0.01,
      candidates: nul.candidates,
      campaigns: NULL_CAMPAIGNS,
      stderr: round(stderrOf(nul.perCampaign.map((c) => c.keeps)), 2),
      first_candidate: round(falseKeepAt(0)),
      last_candidate: round(falseKeepAt(CANDIDATES_PER_CAMPAIGN - 1)),
    },
    {
      name: "greedy_false_keep_rate",
      value: round(greedy),
      unit: "ratio",
      better: "lower",
      note: "repeats: 1, one run against the base commit's 3-run mean (same no-effect candidates)",
      candidates: nul.candidates,
      stderr: round(stderrOf(nul.perCampaign.map((c) => c.greedy)), 2),
      moving_baseline_rate: round(moving.keeps / moving.candidates),
    },
    {
      name: "judge_power_3sigma",
      value: round(power),
      unit: "ratio",
      better: "higher",
      goal: ">= 0.8",
      pass: power >= 0.8,
      candidates: pow.candidates,
      campaigns: POWER_CAMPAIGNS,
      stderr: round(stderrOf(pow.perCampaign.map((c) => c.keeps)), 2),
      first_candidate: round(powerAt(0)),
      last_candidate: round(powerAt(CANDIDATES_PER_CAMPAIGN - 1)),
      fixed_baseline: round(fixed.keeps / fixed.candidates),
    },
    {
      name: "judge_runs_per_candidate",
      value: round(runsNull),
      unit: "runs",
      better: "lower",
      goal: "<= 2",
      pass: runsNull <= 2,
      candidates: nul.candidates,
      runs_per_candidate_3sigma: round(runsPow),
    },
  ];
}
