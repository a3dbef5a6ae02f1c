/**
 * The planner: `plan(state, now)` says what to do next. Pure and idempotent: a driver executes the
 * commands through the ports, appends the resulting events, folds, and plans again. Commands that
 * start something (propose, start_runs) are recorded by the driver as events before any I/O, so the
 * next plan does not repeat them.
 */
import { minImprovementAbsolute } from "./config.js";
import { judge } from "./judge.js";
import { type CampaignState, currentMetrics, type ExperimentState, type RunState } from "./state.js";
import { mean, robustPooledNoise } from "./stats.js";

/** How often a candidate may be re-applied on a moved best before it is discarded as stale. */
export const MAX_REBASES = 3;

export type Command =
  | { kind: "propose"; experiment: number; parent: string }
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
    case "stop":
      return "stop";
  }
}

/** Runs that count: on the current commit, not cancelled. */
function liveRuns(e: ExperimentState): RunState[] {
  return e.runs.filter((r) => r.commit === e.commit && r.status !== "cancelled");
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

/** Why the campaign must stop now, killing what is in flight (time and money), or undefined. */
export function hardStopReason(s: CampaignState, now: Date): string | undefined {
  const b = s.config.budget;
  const hours = (now.getTime() - Date.parse(s.startedAt)) / 3_600_000;
  if (hours >= b.max_hours) return `time budget spent (max_hours: ${b.max_hours})`;
  if (b.max_cost_usd > 0 && s.costUsd >= b.max_cost_usd) return `cost budget spent ($${s.costUsd.toFixed(2)} of max_cost_usd: ${b.max_cost_usd})`;
  if (s.costUsd > 0 && b.max_cost_usd === 0) return "cost budget spent (max_cost_usd: 0)";
  return undefined;
}

/** Why no more experiments should be proposed (the campaign stops once the ones in flight are judged). */
export function exhaustedReason(s: CampaignState): string | undefined {
  const b = s.config.budget;
  const requested = s.experiments.filter((e) => e && e.experiment > 0 && !e.abandoned).length;
  if (requested >= b.max_experiments) return `max_experiments reached (${b.max_experiments})`;
  const since = experimentsSinceKeep(s);
  if (since >= b.patience) return `patience exhausted: ${since} experiments in a row without a keep (patience: ${b.patience})`;
  return undefined;
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
            : "crashed";
  return `run (seed ${r.seed}) ${what}${r.reason ? `: ${r.reason}` : ""}`;
}

/** What to do next. */
export function plan(s: CampaignState, now: Date): Command[] {
  if (s.stopped) return [];
  const cfg = s.config;
  const stop = hardStopReason(s, now);
  if (stop) return [{ kind: "stop", reason: stop }];

  const cmds: Command[] = [];
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
    const j = judge({
      goal: cfg.metric.goal,
      baseline,
      candidate: currentMetrics(e),
      repeats: cfg.accept.repeats,
      minImprovement: minImprovementAbsolute(cfg, mean(baseline)),
      confidence: cfg.accept.confidence,
      noise: campaignNoise(s, e),
      preferSimpler: cfg.accept.prefer_simpler,
      linesAdded: e.linesAdded,
      linesRemoved: e.linesRemoved,
      fullOnly: e.rebases > 0,
    });
    if (j.decision === "more_runs") {
      runQueue.push({ e, count: j.runs });
      continue;
    }
    if (j.decision === "keep" && e.parent !== s.best.commit) {
      // The best moved while this candidate ran: re-apply its edits on the new best and measure again.
      if (e.rebases >= MAX_REBASES) {
        cmds.push({
          kind: "judge",
          experiment: e.experiment,
          commit: e.commit,
          branch: e.branch,
          verdict: "discard",
          reason: `stale: the best moved ${MAX_REBASES + 1} times while it was measured`,
          baselineMean: j.baselineMean,
          candidateMean: j.candidateMean,
          improvement: j.improvement,
          pValue: j.pValue,
        });
      } else {
        cmds.push({ kind: "rebase", experiment: e.experiment, onto: s.best.commit });
      }
      continue;
    }
    cmds.push({
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
    });
  }

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
    const start = liveRuns(e).length;
    cmds.push({
      kind: "start_runs",
      experiment: e.experiment,
      commit: e.commit,
      parent: e.experiment === 0 ? e.commit : e.parent,
      seeds: Array.from({ length: n }, (_, i) => start + i + 1),
    });
    free -= n;
  }

  // Proposals: keep one proposal ready beyond the free slots, so a slot never waits for the proposer.
  const requested = s.experiments.filter((e) => e && e.experiment > 0 && !e.abandoned).length;
  const proposing = s.experiments.filter((e) => e && e.phase === "proposing" && !e.abandoned).length;
  const judgingOnly = cmds.some((c) => c.kind === "judge" && c.verdict === "keep") || cmds.some((c) => c.kind === "rebase");
  let want = Math.max(0, free + 1 - proposing - waitingForSlot);
  // A keep about to land changes the parent: propose on the new best rather than the old one.
  if (judgingOnly) want = 0;
  const exhausted = exhaustedReason(s);
  if (exhausted) want = 0;
  const abandoned = s.experiments.filter((e): e is ExperimentState => !!e && e.abandoned === true);
  for (const e of abandoned) {
    if (want === 0) break;
    cmds.push({ kind: "propose", experiment: e.experiment, parent: s.best.commit });
    want--;
  }
  let next = s.experiments.length;
  while (want > 0 && requested + (next - s.experiments.length) < cfg.budget.max_experiments) {
    cmds.push({ kind: "propose", experiment: next, parent: s.best.commit });
    next++;
    want--;
  }

  // Nothing in flight, nothing to do, and no experiments left: the campaign is complete.
  const anyActive = s.experiments.some((e) => e && e.experiment >= 0 && (e.phase === "running" || (e.phase === "proposing" && !e.abandoned)));
  if (cmds.length === 0 && !anyActive && exhausted) return [{ kind: "stop", reason: exhausted }];
  return cmds;
}
