/**
 * Paired seeds (common random numbers): which seeds a candidate runs on, which results pair up
 * with the best's, the campaign's pooled noise of a paired difference, and how the campaign
 * judges (scale, deterministic target). Pure functions of the folded state; the planner uses them.
 */
import type { Config } from "./config.js";
import type { Scale } from "./events.js";
import { type GuardInput, type Pair, scaledImprovement } from "./judge.js";
import type { CampaignState, ExperimentState, JudgingState, RunState } from "./state.js";
import { type PooledNoise, robustPooledNoise } from "./stats.js";

/** Reads one number from a run: the metric, or a guard. */
export type Reading = (r: RunState) => number | undefined;

/** The metric of a successful run. */
export const metricReading: Reading = (r) => (r.status === "ok" && r.metric !== null && Number.isFinite(r.metric) ? r.metric : undefined);

/** A guard's value in a successful run. */
export function guardReading(name: string): Reading {
  return (r) => {
    const v = r.status === "ok" ? r.guards?.[name] : undefined;
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
}

/** Runs that count, by commit and seed: not cancelled (a cancelled seed is run again), each seed at most once. */
export type RunIndex = Map<string, Map<number, RunState>>;

/**
 * What is derived from the runs alone, per state and runs version (CampaignState.runsVersion): a
 * long campaign's planner reads it several times per event, and it grows with the campaign.
 * Cached values are shared: callers never change them.
 */
const derived = new WeakMap<CampaignState, { version: number; index: RunIndex; groups: Map<string, NoiseGroup[]> }>();

function derivedOf(s: CampaignState): { index: RunIndex; groups: Map<string, NoiseGroup[]> } {
  let d = derived.get(s);
  if (!d || d.version !== s.runsVersion) {
    d = { version: s.runsVersion, index: buildIndex(s), groups: new Map() };
    derived.set(s, d);
  }
  return d;
}

/** Indexes every run of the campaign that counts (finished or in flight) by commit and seed. */
export function indexRuns(s: CampaignState): RunIndex {
  return derivedOf(s).index;
}

function buildIndex(s: CampaignState): RunIndex {
  const index: RunIndex = new Map();
  for (const e of s.experiments) {
    if (!e) continue;
    for (const r of e.runs) {
      if (r.status === "cancelled") continue;
      let bySeed = index.get(r.commit);
      if (!bySeed) {
        bySeed = new Map();
        index.set(r.commit, bySeed);
      }
      bySeed.set(r.seed, r);
    }
  }
  return index;
}

/** Both results of each seed a candidate and a best share, in the candidate's run order, where `read` gives both a value. */
export function pairsOf(candidate: readonly RunState[], best: ReadonlyMap<number, RunState> | undefined, read: Reading = metricReading): Pair[] {
  const pairs: Pair[] = [];
  if (!best) return pairs;
  for (const r of candidate) {
    const c = read(r);
    const b = best.get(r.seed);
    const bv = b ? read(b) : undefined;
    if (c !== undefined && bv !== undefined) pairs.push({ seed: r.seed, best: bv, candidate: c });
  }
  return pairs;
}

/** A paired-difference group for the noise pool, tagged with the experiment it belongs to. */
interface NoiseGroup {
  experiment: number;
  diffs: number[];
}

/**
 * The paired differences of every commit measured against the commit it was made on (its parent:
 * the best when it was proposed or rebased), on `scale`; groups of fewer than 2 are left out.
 * A difference of two configurations on one seed has the same noise whatever the configurations,
 * so the groups pool into one estimate of the noise of a paired difference.
 */
export function pairedGroups(s: CampaignState, index: RunIndex, goal: "minimize" | "maximize", scale: Scale, read: Reading = metricReading): NoiseGroup[] {
  // The metric's groups over the campaign's own index are cached (see derivedOf).
  const d = read === metricReading ? derivedOf(s) : undefined;
  if (!d || d.index !== index) return buildGroups(s, index, goal, scale, read);
  const key = `${goal}:${scale}`;
  let groups = d.groups.get(key);
  if (!groups) {
    groups = buildGroups(s, index, goal, scale, read);
    d.groups.set(key, groups);
  }
  return groups;
}

function buildGroups(s: CampaignState, index: RunIndex, goal: "minimize" | "maximize", scale: Scale, read: Reading): NoiseGroup[] {
  const groups: NoiseGroup[] = [];
  for (const e of s.experiments) {
    if (!e || e.experiment === 0 || e.commit === "") continue;
    for (const { commit, parent } of [...e.earlier, { commit: e.commit, parent: e.parent }]) {
      const mine = index.get(commit);
      if (!mine) continue;
      const pairs = pairsOf([...mine.values()], index.get(parent), read);
      const diffs = toScaleDiffs(pairs, goal, scale);
      if (diffs.length >= 2) groups.push({ experiment: e.experiment, diffs });
    }
  }
  return groups;
}

/** Improvement-signed differences on `scale` (the linear scale where a value is not positive). */
export function toScaleDiffs(pairs: readonly Pair[], goal: "minimize" | "maximize", scale: Scale): number[] {
  const s: Scale = scale === "log" && pairs.every((p) => p.best > 0 && p.candidate > 0) ? "log" : "linear";
  return pairs.map((p) => scaledImprovement(goal, s, p.best, p.candidate));
}

/**
 * The pooled noise of one paired difference for judging `candidate`: every other experiment's
 * paired differences (robustly: a group whose scatter is incompatible with the rest is left out),
 * plus the candidate's own differences against the best it is judged with, which always count.
 */
export function pairedNoise(groups: readonly NoiseGroup[], candidate: number, own: readonly number[]): PooledNoise {
  const others = groups.filter((g) => g.experiment !== candidate).map((g) => g.diffs);
  return robustPooledNoise(others, own.length ? [own] : []);
}

/**
 * The seeds a candidate takes next against best `best` (its results by seed): the best's measured
 * seeds in ascending order, starting at a place that moves by `repeats` with each experiment number
 * (so the best's results are used evenly and no one lucky or unlucky result of the best judges
 * every candidate), then the best's seeds in flight or planned, then fresh seeds the best has never
 * run (each needs an extra run of the best). Seeds the candidate has taken are skipped.
 */
export function candidateSeeds(
  e: ExperimentState,
  taken: ReadonlySet<number>,
  best: ReadonlyMap<number, RunState> | undefined,
  bestPlanned: ReadonlySet<number>,
  repeats: number,
  n: number,
): number[] {
  const measured = [...(best?.values() ?? [])]
    .filter((r) => metricReading(r) !== undefined)
    .map((r) => r.seed)
    .sort((a, b) => a - b);
  const offset = measured.length ? (e.experiment * Math.max(1, repeats)) % measured.length : 0;
  const order = [...measured.slice(offset), ...measured.slice(0, offset), ...[...bestPlanned].sort((a, b) => a - b)];
  const out: number[] = [];
  for (const seed of order) {
    if (out.length >= n) break;
    if (!taken.has(seed) && !out.includes(seed)) out.push(seed);
  }
  // Fresh seeds: on neither the candidate nor the best (never a seed twice for one commit).
  for (let seed = 1; out.length < n; seed++) if (!taken.has(seed) && !best?.has(seed) && !bestPlanned.has(seed) && !out.includes(seed)) out.push(seed);
  return out;
}

/** Guard inputs of a candidate against the best (linear scale), with each guard's pooled noise. */
export function guardInputs(
  s: CampaignState,
  index: RunIndex,
  candidate: ExperimentState,
  candidateRuns: readonly RunState[],
  best: ReadonlyMap<number, RunState> | undefined,
  tolerance: (g: Config["guards"][number], bestMean: number) => number,
): GuardInput[] {
  return s.config.guards.map((g) => {
    const read = guardReading(g.name);
    const pairs = pairsOf(candidateRuns, best, read);
    const own = toScaleDiffs(pairs, g.goal, "linear");
    const noise = pairedNoise(pairedGroups(s, index, g.goal, "linear", read), candidate.experiment, own);
    const bestMean = pairs.length ? pairs.reduce((a, p) => a + p.best, 0) / pairs.length : 0;
    return { name: g.name, goal: g.goal, pairs, tolerance: tolerance(g, bestMean), noise };
  });
}

/** True when two runs measured the same (the metric and every guard). */
function sameValues(a: RunState, b: RunState): boolean {
  if (a.metric !== b.metric) return false;
  const ka = Object.keys(a.guards ?? {});
  const kb = Object.keys(b.guards ?? {});
  return ka.length === kb.length && ka.every((k) => a.guards?.[k] === b.guards?.[k]);
}

function fmtRatio(x: number): string {
  return x >= 1e6 ? x.toExponential(1) : String(Math.round(x));
}

/**
 * How the campaign should judge now, from what it has measured:
 * - scale: accept.scale, where `auto` means log once every value seen is positive and they span
 *   more than a factor of 10 (the noise of such a metric scales with it), and `log` falls back to
 *   linear when a value is not positive;
 * - deterministic: once the baseline is done, while every commit measured more than once (the
 *   baseline first) gave bit-identical results, the metric and the guards.
 * The planner records a change as `judging_changed`, so the switch is in the ledger.
 */
export function desiredJudging(s: CampaignState, index: RunIndex): JudgingState {
  const values: number[] = [];
  for (const bySeed of index.values()) for (const r of bySeed.values()) if (metricReading(r) !== undefined) values.push(r.metric as number);
  const positive = values.every((v) => v > 0);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = values.length >= 2 && positive ? hi / lo : 1;
  const want = s.config.accept.scale;
  const scale: Scale = want === "linear" ? "linear" : want === "log" ? (positive ? "log" : "linear") : span > 10 ? "log" : "linear";
  const metric = s.config.metric.name;
  const scaleReason =
    scale === "log"
      ? want === "log"
        ? "accept.scale: log"
        : `every ${metric} seen is positive and they span ${fmtRatio(span)}x (accept.scale: auto): judged on the log scale`
      : want === "log"
        ? `a ${metric} of ${lo} is not positive: judged on the linear scale`
        : want === "auto" && !positive
          ? `a ${metric} of ${lo} is not positive: judged on the linear scale`
          : "judged on the linear scale";

  const base = s.experiments[0];
  let deterministic = false;
  let detReason = "";
  if (base?.verdict) {
    const ok = [...(index.get(base.commit)?.values() ?? [])].filter((r) => metricReading(r) !== undefined);
    deterministic = ok.length >= 2 && ok.every((r) => sameValues(r, ok[0] as RunState));
    detReason = deterministic
      ? `the baseline's ${ok.length} runs are identical: a deterministic target, one run per candidate and one re-check of each new best`
      : "";
    if (deterministic) {
      for (const e of s.experiments) {
        if (!e || e.experiment === 0) continue;
        for (const commit of [e.commit, ...e.earlier.map((x) => x.commit)]) {
          const runs = [...(index.get(commit)?.values() ?? [])].filter((r) => metricReading(r) !== undefined);
          const first = runs[0];
          const other = first && runs.find((r) => !sameValues(r, first));
          if (first && other) {
            deterministic = false;
            detReason = `experiment ${e.experiment} measured ${first.metric} on seed ${first.seed} and ${other.metric} on seed ${other.seed}: no longer deterministic, judged on repeats again`;
            break;
          }
        }
        if (!deterministic) break;
      }
    }
  }
  const parts: string[] = [];
  if (scale === "log" || scale !== s.judging.scale) parts.push(scaleReason);
  if (detReason && (deterministic || deterministic !== s.judging.deterministic)) parts.push(detReason);
  return { scale, deterministic, reason: parts.join("; ") || scaleReason };
}
