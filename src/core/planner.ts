/**
 * The planner: `plan(state, now)` says what to do next. Pure and idempotent: a driver executes the
 * commands through the ports, appends the resulting events, folds, and plans again. Commands that
 * start something (propose, start_runs) are recorded by the driver as events before any I/O, so the
 * next plan does not repeat them.
 */
import { minImprovementAbsolute, SPENDING_PROPOSERS, thresholdAbsolute } from "./config.js";
import { judge } from "./judge.js";
import { activeMs, type CampaignState, currentMetrics, type ExperimentState, type RunState } from "./state.js";
import { mean, robustPooledNoise } from "./stats.js";

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
    }
  | { kind: "rebase"; experiment: number; onto: string }
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

/**
 * The campaign's pooled noise for judging `candidate`: every commit measured more than once, less
 * those whose scatter is incompatible with the rest (see robustPooledNoise), plus the candidate's own.
 */
export function campaignNoise(s: CampaignState, candidate?: ExperimentState) {
  const groups: number[][] = [];
  for (const e of s.experiments) {
    if (!e || e === candidate) continue;
    const byCommit = new Map<string, number[]>();
    for (const r of e.runs) {
      if (r.status !== "ok" || r.metric === null) continue;
      const g = byCommit.get(r.commit) ?? [];
      g.push(r.metric);
      byCommit.set(r.commit, g);
    }
    groups.push(...byCommit.values());
  }
  return robustPooledNoise(groups, candidate ? [currentMetrics(candidate)] : []);
}

/** Experiments judged in a row since the last keep (failures included). */
export function experimentsSinceKeep(s: CampaignState): number {
  const judged = s.experiments.filter((e) => e && e.experiment > 0 && e.verdict).sort((a, b) => (a.verdict?.seq ?? 0) - (b.verdict?.seq ?? 0));
  let n = 0;
  for (let i = judged.length - 1; i >= 0; i--) {
    if (judged[i]?.verdict?.verdict === "keep") break;
    n++;
  }
  return n;
}

/** Experiment numbers ever asked for (the baseline not counted): what max_experiments limits. */
export function requestedCount(s: CampaignState): number {
  return s.experiments.filter((e) => e && e.experiment > 0).length;
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

/** What to do next. */
export function plan(s: CampaignState, now: Date): Command[] {
  if (s.stopped) return [];
  const cfg = s.config;
  const stop = hardStopReason(s, now);
  if (stop) return [{ kind: "stop", reason: stop }];
  // Paused: nothing new starts; results of what is in flight are still recorded, and judged on resume.
  if (s.paused) return [];

  const cmds: Command[] = [];

  // Leases: work handed to another process (a workflow run, a proposal in another replica) that
  // has not reported by its deadline is handed out once more, then counted as lost.
  for (const e of s.experiments) {
    if (!e) continue;
    for (const r of e.runs) {
      if (r.status !== "running" || r.commit !== e.commit || !leaseExpired(r.leaseUntil, now)) continue;
      if (r.dispatches >= 2)
        cmds.push({ kind: "run_lost", experiment: e.experiment, commit: r.commit, seed: r.seed, reason: `no result within its lease, ${r.dispatches} times` });
      else cmds.push({ kind: "start_runs", experiment: e.experiment, commit: r.commit, parent: e.experiment === 0 ? e.commit : e.parent, seeds: [r.seed] });
    }
  }

  const runQueue: { e: ExperimentState; count: number }[] = [];
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
      runQueue.push({ e: baselineExp, count: cfg.accept.baseline_repeats - runs.length });
    }
  }

  const best = s.experiments[s.best.experiment] as ExperimentState;
  // After a keep, the new best is measured again with fresh seeds before it judges anyone: its
  // runs passed a significance test, so their mean is optimistic (the winner's curse), and a
  // baseline that is too good hides the next real improvement.
  let refreshing = false;
  if (best.experiment > 0) {
    const runs = liveRuns(best);
    const target = cfg.accept.repeats + cfg.accept.baseline_repeats;
    if (runs.length < target) runQueue.push({ e: best, count: target - runs.length });
    refreshing = runs.length < target || runs.some((r) => r.status === "running");
  }
  const baseline = currentMetrics(best);
  const active = s.experiments.filter((e): e is ExperimentState => !!e && e.experiment > 0 && e.phase === "running");
  // Candidates that pass: at most one is kept per plan (the largest improvement), since every
  // keep moves the best that the others were measured against.
  const passing: { e: ExperimentState; cmd: JudgeCommand; improvement: number }[] = [];
  const rebases: Command[] = [];
  for (const e of active) {
    const runs = liveRuns(e);
    const inFlight = runs.some((r) => r.status === "running");
    if (runs.length === 0) {
      runQueue.push({ e, count: e.rebases > 0 ? cfg.accept.repeats : 1 });
      continue;
    }
    if (inFlight) continue;
    const failed = runs.find((r) => r.status !== "ok");
    if (failed) {
      cmds.push({
        kind: "judge",
        experiment: e.experiment,
        commit: e.commit,
        branch: e.branch,
        verdict: "discard",
        reason: failedRunReason(failed),
        baselineMean: baseline.length ? mean(baseline) : null,
        candidateMean: null,
        improvement: null,
        pValue: null,
      });
      continue;
    }
    if (!baselineDone || refreshing) continue;
    const baselineMean = mean(baseline);
    const lines = e.codeLines ?? { added: e.linesAdded, removed: e.linesRemoved };
    const j = judge({
      goal: cfg.metric.goal,
      baseline,
      candidate: currentMetrics(e),
      repeats: cfg.accept.repeats,
      minImprovement: minImprovementAbsolute(cfg, baselineMean),
      confidence: cfg.accept.confidence,
      noise: campaignNoise(s, e),
      preferSimpler: cfg.accept.prefer_simpler,
      simplerMargin: thresholdAbsolute(cfg.accept.simpler_margin, baselineMean),
      linesAdded: lines.added,
      linesRemoved: lines.removed,
      fullOnly: e.rebases > 0,
    });
    if (j.decision === "more_runs") {
      runQueue.push({ e, count: j.runs });
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
    };
    if (j.decision === "keep" && e.parent !== s.best.commit) {
      // The best moved while this candidate ran: re-apply its edits on the new best and measure again.
      if (e.rebases >= MAX_REBASES) {
        cmds.push({ ...cmd, verdict: "discard", reason: `stale: the best moved ${MAX_REBASES + 1} times while it was measured` });
      } else {
        rebases.push({ kind: "rebase", experiment: e.experiment, onto: s.best.commit });
      }
      continue;
    }
    if (j.decision === "keep") passing.push({ e, cmd, improvement: j.improvement ?? 0 });
    else cmds.push(cmd);
  }
  // The best of the passing candidates is kept; the others wait for the next plan, where their
  // parent is no longer the best, so they are rebased onto the new best and measured again.
  const keep = passing.sort((a, b) => b.improvement - a.improvement || a.e.experiment - b.e.experiment)[0];
  if (keep) cmds.push(keep.cmd);
  // A keep about to land moves the best: rebasing onto the current one now would be wasted.
  else cmds.push(...rebases);

  // Run slots: fill in order (baseline first, then older experiments, which are closer to a verdict).
  let running = 0;
  for (const e of s.experiments) if (e) running += e.runs.filter((r) => r.status === "running").length;
  let free = Math.max(0, cfg.budget.parallel - running);
  // Experiments proposed but still waiting for a slot are proposals ready ahead.
  let waitingForSlot = 0;
  for (const { e, count } of runQueue) {
    const n = Math.min(free, count);
    if (n < count) waitingForSlot++;
    if (n === 0) continue;
    cmds.push({ kind: "start_runs", experiment: e.experiment, commit: e.commit, parent: e.experiment === 0 ? e.commit : e.parent, seeds: nextSeeds(e, n) });
    free -= n;
  }

  // Proposals already counted in the budget that must be asked for again: a restart abandoned them,
  // or their lease passed (once; the second time they are given up).
  const proposing = s.experiments.filter((e): e is ExperimentState => !!e && e.experiment > 0 && e.phase === "proposing");
  const exhausted = exhaustedReason(s);
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

  // Nothing in flight, nothing to do, and no experiments left: the campaign is complete.
  const anyActive = s.experiments.some((e) => e && (e.phase === "running" || e.phase === "proposing"));
  if (cmds.length === 0 && !anyActive && exhausted) return [{ kind: "stop", reason: exhausted }];
  return cmds;
}
