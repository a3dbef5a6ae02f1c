/**
 * The planner: `plan(state, now)` says what to do next. Pure and idempotent: a driver executes the
 * commands through the ports, appends the resulting events, folds, and plans again. Commands that
 * start something (propose, start_runs) are recorded by the driver as events before any I/O, so the
 * next plan does not repeat them.
 */
import { minImprovementAbsolute, SPENDING_PROPOSERS, thresholdAbsolute } from "./config.js";
import type { GuardCheck, Scale } from "./events.js";
import { confirmChange, judge, pairsNeeded } from "./judge.js";
import {
  candidateSeeds,
  desiredJudging,
  guardInputs,
  indexRuns,
  metricReading,
  pairedGroups,
  pairedNoise,
  pairsOf,
  type RunIndex,
  toScaleDiffs,
} from "./pairing.js";
import { activeMs, type CampaignState, currentMetrics, type ExperimentState, type RunState } from "./state.js";
import { mean } from "./stats.js";

/** How often a candidate may be re-applied on a moved best before it is discarded as stale. */
export const MAX_REBASES = 3;

export type Command =
  /** Ask the proposer for experiment `experiment` on `parent`, with `reserveUsd` of LLM spend set aside. */
  | { kind: "propose"; experiment: number; parent: string; reserveUsd: number }
  /** Hand out these seeds of a commit (again, for a seed whose lease passed). */
  | { kind: "start_runs"; experiment: number; commit: string; parent: string; seeds: number[] }
  | {
      kind: "judge";
      experiment: number;
      commit: string;
      branch: string;
      verdict: "keep" | "discard";
      reason: string;
      baselineMean: number | null;
      candidateMean: number | null;
      improvement: number | null;
      pValue: number | null;
      /** Seeds the verdict's means are over (absent for the baseline and failures). */
      pairs?: number;
      guards?: GuardCheck[];
      /** A keep that replaces the best `supersedes` as a whole (its change conflicted with it). */
      supersedes?: number;
    }
  /** Re-apply a stale candidate's change on the new best `onto` with git's three-way merge. */
  | { kind: "rebase"; experiment: number; onto: string }
  /**
   * Record that the campaign judges differently from now on (`judging_changed`): planned alone,
   * before anything is judged with the new scale or mode; a driver records it and plans again.
   */
  | { kind: "judging"; scale: Scale; deterministic: boolean; reason: string }
  /** Choose the confirmation's fresh seeds (`confirmation_started`); its runs follow as start_runs. */
  | { kind: "start_confirmation"; baseCommit: string; bestCommit: string; bestExperiment: number; seeds: number[]; reason: string }
  /** Record the confirmation's result (`confirmation_judged`). */
  | {
      kind: "confirm";
      bestCommit: string;
      confirmed: boolean;
      pairs: number;
      baseMean: number | null;
      bestMean: number | null;
      changePct: number | null;
      intervalPct: [number, number] | null;
      pValue: number | null;
      scale: Scale;
      reason: string;
    }
  /** A run handed out twice whose result never came: record it as lost (a failed run). */
  | { kind: "run_lost"; experiment: number; commit: string; seed: number; reason: string }
  /** A proposal asked for twice that never arrived: record it as failed. */
  | { kind: "proposal_lost"; experiment: number; reason: string }
  | { kind: "stop"; reason: string };

/** A key that identifies a command, so a driver does not start the same work twice. */
export function commandKey(c: Command): string {
  switch (c.kind) {
    case "propose":
      return `propose:${c.experiment}`;
    case "start_runs":
      return `runs:${c.experiment}:${c.commit}:${c.seeds.join(",")}`;
    case "judge":
      return `judge:${c.experiment}`;
    case "rebase":
      return `rebase:${c.experiment}`;
    case "judging":
      return "judging";
    case "start_confirmation":
      return `confirmation:${c.bestCommit}`;
    case "confirm":
      return `confirm:${c.bestCommit}`;
    case "run_lost":
      return `lost:${c.experiment}:${c.commit}:${c.seed}`;
    case "proposal_lost":
      return `proposal_lost:${c.experiment}`;
    case "stop":
      return "stop";
  }
}

/** Runs that count: on the current commit, not cancelled (a cancelled seed is run again). */
function liveRuns(e: ExperimentState): RunState[] {
  return e.runs.filter((r) => r.commit === e.commit && r.status !== "cancelled");
}

/**
 * The `n` smallest seeds of `e`'s current commit that have neither a result nor a run in flight.
 * Chosen by which seeds are taken, not by counting, so a seed is never run twice for one commit
 * and a seed whose run was cancelled is the one run again.
 */
export function nextSeeds(e: ExperimentState, n: number): number[] {
  const taken = new Set(liveRuns(e).map((r) => r.seed));
  const seeds: number[] = [];
  for (let seed = 1; seeds.length < n; seed++) if (!taken.has(seed)) seeds.push(seed);
  return seeds;
}

/** True when a lease deadline has passed at `now`. */
function leaseExpired(until: string | undefined, now: Date): boolean {
  return until !== undefined && Date.parse(until) <= now.getTime();
}

/** Experiments judged in a row since the last keep (failures included). */
export function experimentsSinceKeep(s: CampaignState): number {
  // Verdicts after the last keep's, in ledger order (one pass: a long campaign plans often).
  let lastKeep = -1;
  for (const e of s.experiments) if (e && e.experiment > 0 && e.verdict?.verdict === "keep") lastKeep = Math.max(lastKeep, e.verdict.seq);
  let n = 0;
  for (const e of s.experiments) if (e && e.experiment > 0 && e.verdict && e.verdict.seq > lastKeep) n++;
  return n;
}

/** Experiment numbers ever asked for (the baseline not counted): what max_experiments limits. */
export function requestedCount(s: CampaignState): number {
  let n = 0;
  for (const e of s.experiments) if (e && e.experiment > 0) n++;
  return n;
}

/** Why the campaign must stop now, killing what is in flight (time, money, a proposer that cannot work), or undefined. */
export function hardStopReason(s: CampaignState, now: Date): string | undefined {
  const b = s.config.budget;
  if (s.proposerFatal !== undefined) return `proposer: ${s.proposerFatal}`;
  const hours = activeMs(s, now) / 3_600_000;
  if (hours >= b.max_hours) return `time budget spent (max_hours: ${b.max_hours})`;
  if (b.max_cost_usd > 0 && s.costUsd >= b.max_cost_usd) return `cost budget spent ($${s.costUsd.toFixed(2)} of max_cost_usd: ${b.max_cost_usd})`;
  if (s.costUsd > 0 && b.max_cost_usd === 0) return "cost budget spent (max_cost_usd: 0)";
  return undefined;
}

/** Why no more experiments should be proposed (the campaign stops once the ones in flight are judged). */
export function exhaustedReason(s: CampaignState): string | undefined {
  const b = s.config.budget;
  if (requestedCount(s) >= b.max_experiments) return `max_experiments reached (${b.max_experiments})`;
  const since = experimentsSinceKeep(s);
  if (since >= b.patience) return `patience exhausted: ${since} experiments in a row without a keep (patience: ${b.patience})`;
  return undefined;
}

/** The most any one proposal has cost so far (0 before any reported). */
function largestProposalCost(s: CampaignState): number {
  let largest = 0;
  for (const e of s.experiments) if (e?.usage) largest = Math.max(largest, e.usage.cost_usd);
  return largest;
}

/**
 * LLM spend to set aside for one more proposal; 0 means "do not propose now" for a proposer that
 * spends (none of its kind is reserved for). A proposal stops calling the model once it has spent
 * its reservation, and a process that dies leaves its reservation counted as spent.
 *
 * Proposals run side by side only while an equal share of what is left (among the parallel + 1
 * that can be in flight) could pay for twice the most expensive proposal so far. Before any
 * proposal has reported, and near the end of the budget, one proposal runs at a time with all that
 * is left, so the budget is exceeded by at most the one model turn that crosses it.
 */
export function proposalReservation(s: CampaignState): number {
  const b = s.config.budget;
  if (!SPENDING_PROPOSERS.has(s.config.proposer.kind)) return 0;
  const left = b.max_cost_usd - s.costUsd;
  const unreserved = left - s.reservedUsd;
  if (unreserved <= 0) return 0;
  const share = left / (b.parallel + 1);
  const largest = largestProposalCost(s);
  if (largest > 0 && share >= 2 * largest) return Math.min(unreserved, share);
  return s.reservedUsd > 0 ? 0 : unreserved;
}

function failedRunReason(r: RunState): string {
  const what =
    r.status === "timeout"
      ? "timed out"
      : r.status === "no_metric"
        ? "printed no metric"
        : r.status === "non_finite"
          ? "gave a non-finite metric"
          : r.status === "rejected"
            ? "was rejected"
            : r.status === "lost"
              ? "was lost"
              : "crashed";
  return `run (seed ${r.seed}) ${what}${r.reason ? `: ${r.reason}` : ""}`;
}

type JudgeCommand = Extract<Command, { kind: "judge" }>;

/** The commit whose locked files a run of `e` is evaluated with. */
function runParent(e: ExperimentState): string {
  return e.experiment === 0 ? e.commit : e.parent;
}

/** Work handed to another process whose lease passed: handed out once more, then lost. */
function leaseCommands(s: CampaignState, now: Date): Command[] {
  const cmds: Command[] = [];
  for (const e of s.experiments) {
    if (!e) continue;
    for (const r of e.runs) {
      if (r.status !== "running" || r.commit !== e.commit || !leaseExpired(r.leaseUntil, now)) continue;
      if (r.dispatches >= 2)
        cmds.push({ kind: "run_lost", experiment: e.experiment, commit: r.commit, seed: r.seed, reason: `no result within its lease, ${r.dispatches} times` });
      else cmds.push({ kind: "start_runs", experiment: e.experiment, commit: r.commit, parent: runParent(e), seeds: [r.seed] });
    }
  }
  return cmds;
}

/** Runs in flight across the campaign. */
function runningCount(s: CampaignState): number {
  let running = 0;
  for (const e of s.experiments) if (e) for (const r of e.runs) if (r.status === "running") running++;
  return running;
}

/** Seeds of one experiment to start, in the order slots are filled. */
interface Queued {
  e: ExperimentState;
  seeds: number[];
}

/** Fills the free run slots in queue order; returns the start_runs commands and how many experiments still wait for a slot. */
function fillSlots(queue: readonly Queued[], free: number): { cmds: Command[]; waiting: number } {
  const cmds: Extract<Command, { kind: "start_runs" }>[] = [];
  const waiting = new Set<number>();
  for (const { e, seeds } of queue) {
    const take = seeds.slice(0, Math.max(0, free));
    if (take.length < seeds.length) waiting.add(e.experiment);
    if (take.length === 0) continue;
    free -= take.length;
    // Consecutive seeds of one experiment go out as one command.
    const last = cmds.at(-1);
    if (last && last.experiment === e.experiment && last.commit === e.commit) last.seeds.push(...take);
    else cmds.push({ kind: "start_runs", experiment: e.experiment, commit: e.commit, parent: runParent(e), seeds: take });
  }
  return { cmds, waiting: waiting.size };
}

/** The commands of the confirmation phase, [] while its runs are in flight, or undefined when none is due. */
function confirmationCommands(s: CampaignState, index: RunIndex, free: number): Command[] | undefined {
  const cfg = s.config;
  const conf = s.confirmation;
  const requested = conf?.requested === true && conf.phase !== "done";
  if (s.best.experiment === 0) return undefined;
  if (!requested && (cfg.accept.confirm_repeats === 0 || (conf?.phase === "done" && conf.bestCommit === s.best.commit))) return undefined;
  const best = s.experiments[s.best.experiment] as ExperimentState;
  const base = s.experiments[0] as ExperimentState;
  if (!conf || conf.phase === "requested" || conf.bestCommit !== s.best.commit || conf.phase === "done") {
    // A deterministic target shows any drift on two seeds; otherwise accept.confirm_repeats (5 when it is 0 and a confirmation was asked for).
    const want = cfg.accept.confirm_repeats || 5;
    const k = s.judging.deterministic ? Math.min(want, 2) : want;
    const used = new Set([...(index.get(base.commit)?.keys() ?? []), ...(index.get(best.commit)?.keys() ?? [])]);
    const seeds: number[] = [];
    for (let seed = 1; seeds.length < k; seed++) if (!used.has(seed)) seeds.push(seed);
    const reason = requested ? (conf?.reason ?? "asked for") : "the campaign ended with a keep";
    return [{ kind: "start_confirmation", baseCommit: base.commit, bestCommit: best.commit, bestExperiment: best.experiment, seeds, reason }];
  }
  // Interleaved: each seed on the base, then on the best, so drift in the machines hits both alike.
  const baseRuns = index.get(conf.baseCommit);
  const bestRuns = index.get(conf.bestCommit);
  const queue: Queued[] = [];
  for (const seed of conf.seeds) {
    if (!baseRuns?.has(seed)) queue.push({ e: base, seeds: [seed] });
    if (!bestRuns?.has(seed)) queue.push({ e: best, seeds: [seed] });
  }
  if (queue.length) return fillSlots(queue, free).cmds;
  const all = conf.seeds.flatMap((seed) => [baseRuns?.get(seed), bestRuns?.get(seed)]);
  if (all.some((r) => r?.status === "running")) return [];
  const pairs: { base: number; best: number }[] = [];
  for (const seed of conf.seeds) {
    const b = baseRuns?.get(seed);
    const k = bestRuns?.get(seed);
    const bv = b && metricReading(b);
    const kv = k && metricReading(k);
    if (bv !== undefined && kv !== undefined) pairs.push({ base: bv, best: kv });
  }
  const r = confirmChange(cfg.metric.goal, s.judging.scale, pairs, cfg.accept.confidence);
  return [{ kind: "confirm", bestCommit: conf.bestCommit, pairs: pairs.length, ...r }];
}

/** What a stopped campaign still does: a confirmation someone asked for (`autoresearch confirm`). */
function planStopped(s: CampaignState, now: Date): Command[] {
  if (!(s.confirmation?.requested && s.confirmation.phase !== "done") || s.paused) return [];
  const leases = leaseCommands(s, now);
  const free = Math.max(0, s.config.budget.parallel - runningCount(s));
  return [...leases, ...(confirmationCommands(s, indexRuns(s), free) ?? [])];
}

/** What to do next. */
export function plan(s: CampaignState, now: Date): Command[] {
  if (s.stopped) return planStopped(s, now);
  const cfg = s.config;
  const stop = hardStopReason(s, now);
  if (stop) return [{ kind: "stop", reason: stop }];
  // Paused: nothing new starts; results of what is in flight are still recorded, and judged on resume.
  if (s.paused) return [];

  const index = indexRuns(s);
  // How the campaign judges (scale, deterministic) is recorded before anything is judged with it.
  const judging = desiredJudging(s, index);
  if (judging.scale !== s.judging.scale || judging.deterministic !== s.judging.deterministic)
    return [{ kind: "judging", scale: judging.scale, deterministic: judging.deterministic, reason: judging.reason }];
  const { scale, deterministic } = s.judging;
  const goal = cfg.metric.goal;

  const cmds: Command[] = leaseCommands(s, now);
  const queue: Queued[] = [];
  const baselineExp = s.experiments[0] as ExperimentState;
  const baselineDone = baselineExp.verdict !== undefined;

  // Baseline: experiment 0, baseline_repeats runs of the base commit.
  if (!baselineDone) {
    const runs = liveRuns(baselineExp);
    const finished = runs.filter((r) => r.status !== "running");
    if (finished.length >= cfg.accept.baseline_repeats) {
      const ok = currentMetrics(baselineExp);
      if (ok.length === 0) {
        const first = finished[0] as RunState;
        return [{ kind: "stop", reason: `the baseline failed: ${failedRunReason(first)}` }];
      }
      cmds.push({
        kind: "judge",
        experiment: 0,
        commit: baselineExp.commit,
        branch: "",
        verdict: "keep",
        reason: `baseline over ${ok.length} runs`,
        baselineMean: mean(ok),
        candidateMean: mean(ok),
        improvement: 0,
        pValue: null,
      });
    } else if (runs.length < cfg.accept.baseline_repeats) {
      queue.push({ e: baselineExp, seeds: nextSeeds(baselineExp, cfg.accept.baseline_repeats - runs.length) });
    }
  }

  const best = s.experiments[s.best.experiment] as ExperimentState;
  const bestRuns = index.get(best.commit);
  /** Seeds of the best in flight or started by this plan: a candidate on one of them waits for its result. */
  const bestPlanned = new Set<number>([...(bestRuns?.values() ?? [])].filter((r) => r.status === "running").map((r) => r.seed));
  for (const q of queue) if (q.e === best) for (const seed of q.seeds) bestPlanned.add(seed);
  const queueBest = (seeds: number[]) => {
    const fresh = seeds.filter((seed) => !bestRuns?.has(seed) && !bestPlanned.has(seed));
    for (const seed of fresh) bestPlanned.add(seed);
    if (fresh.length) queue.push({ e: best, seeds: fresh });
  };
  const active = s.experiments.filter((e): e is ExperimentState => !!e && e.experiment > 0 && e.phase === "running");
  const exhausted = exhaustedReason(s);
  // After a keep, the new best is measured again with fresh seeds before it judges anyone: its
  // runs passed a significance test, so they are optimistic (the winner's curse), and candidates
  // paired with a best that looks too good lose real improvements. A deterministic target needs
  // one re-check, on a second seed, that it stays deterministic.
  let refreshing = false;
  if (best.experiment > 0) {
    const runs = liveRuns(best);
    const target = deterministic ? 2 : cfg.accept.repeats + cfg.accept.baseline_repeats;
    refreshing = runs.filter((r) => r.status !== "running").length < target;
    // Not needed when nothing is left to judge (the confirmation measures the end result).
    if (runs.length < target && (active.length > 0 || !exhausted)) queueBest(nextSeeds(best, target - runs.length));
  }

  const groups = pairedGroups(s, index, goal, scale);
  const baselineMeanAll = mean(currentMetrics(best));
  // Candidates that pass: at most one is kept per plan (the largest improvement), since every
  // keep moves the best that the others were measured against.
  const passing: { e: ExperimentState; cmd: JudgeCommand; improvement: number }[] = [];
  const rebases: Command[] = [];
  for (const e of active) {
    const runs = liveRuns(e);
    const taken = new Set(runs.map((r) => r.seed));
    const poolDf = pairedNoise(groups, e.experiment, []).df;
    const needed = pairsNeeded(cfg.accept.repeats, poolDf, deterministic);
    /**
     * Queues seeds of the candidate, each followed by a run of the best on it when the best lacks
     * it (the candidate's first: a best's run is never started for a seed no candidate took).
     */
    const queueCandidate = (seeds: number[]) => {
      for (const seed of seeds) {
        queue.push({ e, seeds: [seed] });
        queueBest([seed]);
      }
    };
    if (runs.length === 0) {
      // A rebased candidate is measured in full on its new commit; a new one gets one seed first.
      queueCandidate(candidateSeeds(e, taken, bestRuns, bestPlanned, cfg.accept.repeats, e.rebases > 0 ? needed : 1));
      continue;
    }
    const failed = runs.find((r) => r.status !== "ok" && r.status !== "running");
    if (failed) {
      cmds.push({
        kind: "judge",
        experiment: e.experiment,
        commit: e.commit,
        branch: e.branch,
        verdict: "discard",
        reason: failedRunReason(failed),
        baselineMean: Number.isFinite(baselineMeanAll) ? baselineMeanAll : null,
        candidateMean: null,
        improvement: null,
        pValue: null,
      });
      continue;
    }
    // Every seed the candidate runs on, the best runs on too (an extra run, reused by later candidates).
    queueBest(runs.map((r) => r.seed));
    if (runs.some((r) => r.status === "running")) continue;
    if (!baselineDone || refreshing) continue;
    if (runs.some((r) => bestPlanned.has(r.seed))) continue;
    const pairs = pairsOf(runs, bestRuns);
    const own = toScaleDiffs(pairs, goal, scale);
    const pairedMean = pairs.length ? mean(pairs.map((p) => p.best)) : baselineMeanAll;
    const lines = e.codeLines ?? { added: e.linesAdded, removed: e.linesRemoved };
    const input = {
      goal,
      pairs,
      repeats: needed,
      minImprovement: minImprovementAbsolute(cfg, pairedMean),
      confidence: cfg.accept.confidence,
      scale,
      noise: pairedNoise(groups, e.experiment, own),
      preferSimpler: cfg.accept.prefer_simpler,
      simplerMargin: thresholdAbsolute(cfg.accept.simpler_margin, pairedMean),
      linesAdded: lines.added,
      linesRemoved: lines.removed,
      fullOnly: e.rebases > 0,
      deterministic,
      ...(cfg.guards.length ? { guards: guardInputs(s, index, e, runs, bestRuns, (g, level) => thresholdAbsolute(g.tolerance, level)) } : {}),
    };
    let j = judge(input);
    if (j.decision === "more_runs" && runs.length + j.runs > needed + cfg.accept.repeats) {
      // The best failed on some of the candidate's seeds: decide on the pairs there are.
      j =
        pairs.length >= 2
          ? judge({ ...input, repeats: pairs.length, fullOnly: true })
          : {
              decision: "discard",
              reason: `only ${pairs.length} of its ${runs.length} seeds have a result for the best too`,
              improvement: null,
              baselineMean: null,
              candidateMean: null,
              pValue: null,
              pairs: pairs.length,
            };
    }
    if (j.decision === "more_runs") {
      queueCandidate(candidateSeeds(e, taken, bestRuns, bestPlanned, cfg.accept.repeats, j.runs));
      continue;
    }
    const cmd: JudgeCommand = {
      kind: "judge",
      experiment: e.experiment,
      commit: e.commit,
      branch: e.branch,
      verdict: j.decision,
      reason: j.reason,
      baselineMean: j.baselineMean,
      candidateMean: j.candidateMean,
      improvement: j.improvement,
      pValue: j.pValue,
      pairs: j.pairs,
      ...(j.guards ? { guards: j.guards } : {}),
    };
    if (j.decision === "keep" && e.parent !== s.best.commit) {
      if (e.rebaseConflict?.onto === s.best.commit) {
        // Its change conflicts with the new best's, and its own commit beats that best on paired
        // seeds: it replaces the best as a whole (the superseded keep stays in the ledger).
        passing.push({
          e,
          cmd: { ...cmd, supersedes: s.best.experiment, reason: `${j.reason}; replaces #${s.best.experiment} as a whole (their changes conflict)` },
          improvement: j.improvement ?? 0,
        });
      } else if (e.rebases + e.conflicts >= MAX_REBASES) {
        cmds.push({ ...cmd, verdict: "discard", reason: `stale: the best moved ${MAX_REBASES + 1} times while it was measured` });
      } else {
        // The best moved while this candidate ran: merge its change onto the new best and measure again.
        rebases.push({ kind: "rebase", experiment: e.experiment, onto: s.best.commit });
      }
      continue;
    }
    if (j.decision === "keep") passing.push({ e, cmd, improvement: j.improvement ?? 0 });
    else cmds.push(cmd);
  }
  // The best of the passing candidates is kept; the others wait for the next plan, where their
  // parent is no longer the best, so they are merged onto the new best and measured again.
  const keep = passing.sort((a, b) => b.improvement - a.improvement || a.e.experiment - b.e.experiment)[0];
  if (keep) cmds.push(keep.cmd);
  // A keep about to land moves the best: rebasing onto the current one now would be wasted.
  else cmds.push(...rebases);

  // Run slots: fill in order (baseline first, then the best, then older experiments, which are closer to a verdict).
  const slots = fillSlots(queue, cfg.budget.parallel - runningCount(s));
  cmds.push(...slots.cmds);
  const free = Math.max(0, cfg.budget.parallel - runningCount(s) - slots.cmds.reduce((n, c) => n + (c.kind === "start_runs" ? c.seeds.length : 0), 0));
  // Experiments proposed but still waiting for a slot are proposals ready ahead.
  const waitingForSlot = slots.waiting;

  // Proposals already counted in the budget that must be asked for again: a restart abandoned them,
  // or their lease passed (once; the second time they are given up).
  const proposing = s.experiments.filter((e): e is ExperimentState => !!e && e.experiment > 0 && e.phase === "proposing");
  const patienceOut = exhausted?.startsWith("patience") === true;
  const again: ExperimentState[] = [];
  for (const e of proposing) {
    const expired = !e.abandoned && leaseExpired(e.leaseUntil, now);
    if (!e.abandoned && !expired) continue;
    if (expired && e.leaseRetries >= 1)
      cmds.push({ kind: "proposal_lost", experiment: e.experiment, reason: "the proposal did not arrive within its lease, twice" });
    else if (patienceOut) cmds.push({ kind: "proposal_lost", experiment: e.experiment, reason: `not asked for again: ${exhausted}` });
    else again.push(e);
  }

  // Proposals: keep one proposal ready beyond the free slots, so a slot never waits for the proposer.
  const waiting = proposing.filter((e) => !e.abandoned && !leaseExpired(e.leaseUntil, now)).length;
  let want = Math.max(0, free + 1 - waiting - waitingForSlot);
  // A keep about to land changes the parent: propose on the new best rather than the old one.
  if (keep || rebases.length > 0) want = 0;
  let reserved = 0;
  const propose = (experiment: number): boolean => {
    const reserveUsd = proposalReservation({ ...s, reservedUsd: s.reservedUsd + reserved });
    // A spending proposer with nothing left to reserve waits for the proposals in flight to report.
    if (SPENDING_PROPOSERS.has(cfg.proposer.kind) && reserveUsd <= 0) return false;
    reserved += reserveUsd;
    cmds.push({ kind: "propose", experiment, parent: s.best.commit, reserveUsd });
    return true;
  };
  for (const e of again) {
    if (want === 0 || !propose(e.experiment)) break;
    want--;
  }
  let next = s.experiments.length;
  while (!exhausted && want > 0 && requestedCount(s) + (next - s.experiments.length) < cfg.budget.max_experiments) {
    if (!propose(next)) break;
    next++;
    want--;
  }

  // Nothing in flight, nothing to do, and no experiments left: the campaign is complete, once its
  // final number is confirmed (when it kept something).
  const anyActive = s.experiments.some((e) => e && (e.phase === "running" || e.phase === "proposing"));
  if (cmds.length === 0 && !anyActive && exhausted) return confirmationCommands(s, index, free) ?? [{ kind: "stop", reason: exhausted }];
  return cmds;
}
