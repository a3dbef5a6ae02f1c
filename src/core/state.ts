/**
 * The campaign state, folded from ledger events. Pure: `fold(events)` is the only way state is made.
 */
import { type Config, parseConfig } from "./config.js";
import type { Edit, LedgerEvent, RunStatus, Usage } from "./events.js";

export interface RunState {
  commit: string;
  seed: number;
  status: RunStatus | "running";
  metric: number | null;
  seconds: number;
  reason: string;
  tail: string;
}

export type ExperimentPhase =
  /** A proposal was asked for and has not arrived. */
  | "proposing"
  /** Proposed; runs pending or in flight. */
  | "running"
  | "kept"
  | "discarded"
  /** The proposer could not produce an applicable change. */
  | "failed";

export interface ExperimentState {
  experiment: number;
  phase: ExperimentPhase;
  /** The best commit at proposal time (or at the last rebase). */
  parent: string;
  /** The commit being measured ("" while proposing). */
  commit: string;
  branch: string;
  title: string;
  hypothesis: string;
  edits: Edit[];
  diff: string;
  linesAdded: number;
  linesRemoved: number;
  traceFile?: string;
  meta: Record<string, unknown>;
  usage?: Usage;
  /** Every run ever started for this experiment, across rebases. */
  runs: RunState[];
  rebases: number;
  /** A proposal asked for by a process that died before it arrived; it is asked for again. */
  abandoned?: boolean;
  verdict?: {
    verdict: "keep" | "discard";
    reason: string;
    baselineMean: number | null;
    candidateMean: number | null;
    improvement: number | null;
    pValue: number | null;
    at: string;
    /** Ledger position of the verdict: orders verdicts for patience. */
    seq: number;
  };
  proposedAt?: string;
}

export interface CampaignState {
  campaign: string;
  /** The configuration recorded at start (undefined only if the ledger is empty). */
  config: Config;
  goal: string;
  source: string;
  baseCommit: string;
  startedAt: string;
  /** Experiment 0 is the baseline; index = experiment number. */
  experiments: ExperimentState[];
  /** The campaign's best commit and the experiment that produced it (0 = baseline). */
  best: { experiment: number; commit: string };
  stopped?: { reason: string; at: string };
  lastSeq: number;
  lastAt: string;
  costUsd: number;
}

/** Runs of an experiment on its current commit (earlier commits of a rebased experiment excluded). */
export function currentRuns(e: ExperimentState): RunState[] {
  return e.runs.filter((r) => r.commit === e.commit);
}

/** Metrics of the finished, successful runs of an experiment's current commit. */
export function currentMetrics(e: ExperimentState): number[] {
  return currentRuns(e)
    .filter((r) => r.status === "ok" && r.metric !== null)
    .map((r) => r.metric as number);
}

/** The experiment whose runs are the baseline now. */
export function bestExperiment(s: CampaignState): ExperimentState {
  const e = s.experiments[s.best.experiment];
  if (!e) throw new Error(`ledger inconsistency: best experiment ${s.best.experiment} is missing`);
  return e;
}

function emptyExperiment(experiment: number, parent: string): ExperimentState {
  return {
    experiment,
    phase: "proposing",
    parent,
    commit: "",
    branch: "",
    title: "",
    hypothesis: "",
    edits: [],
    diff: "",
    linesAdded: 0,
    linesRemoved: 0,
    meta: {},
    runs: [],
    rebases: 0,
  };
}

/** Thrown when events contradict each other (a bug or a hand-edited ledger). */
export class FoldError extends Error {}

/** Folds ledger events into the campaign state. Throws FoldError on an inconsistent ledger. */
export function fold(events: readonly LedgerEvent[]): CampaignState {
  const first = events[0];
  if (first?.type !== "campaign_started") throw new FoldError("the ledger does not start with campaign_started");
  const config = parseConfig(first.config, "the campaign's recorded configuration");
  const s: CampaignState = {
    campaign: first.campaign,
    config,
    goal: first.goal,
    source: first.source,
    baseCommit: first.base_commit,
    startedAt: first.at,
    experiments: [
      { ...emptyExperiment(0, first.base_commit), phase: "running", commit: first.base_commit, title: "baseline", hypothesis: "The unchanged base commit." },
    ],
    best: { experiment: 0, commit: first.base_commit },
    lastSeq: first.seq,
    lastAt: first.at,
    costUsd: 0,
  };
  const get = (n: number, ev: LedgerEvent): ExperimentState => {
    const e = s.experiments[n];
    if (!e) throw new FoldError(`event ${ev.seq} (${ev.type}) names experiment ${n}, which was never requested`);
    return e;
  };
  for (const ev of events.slice(1)) {
    if (ev.seq <= s.lastSeq) throw new FoldError(`event sequence goes backwards at seq ${ev.seq}`);
    s.lastSeq = ev.seq;
    s.lastAt = ev.at;
    switch (ev.type) {
      case "campaign_started":
        throw new FoldError(`a second campaign_started at seq ${ev.seq}`);
      case "experiment_requested":
        if (s.experiments[ev.experiment] && !s.experiments[ev.experiment]?.abandoned)
          throw new FoldError(`experiment ${ev.experiment} requested twice (seq ${ev.seq})`);
        s.experiments[ev.experiment] = emptyExperiment(ev.experiment, ev.parent);
        break;
      case "experiment_proposed": {
        const e = get(ev.experiment, ev);
        Object.assign(e, {
          phase: "running",
          parent: ev.parent,
          commit: ev.commit,
          branch: ev.branch,
          title: ev.title,
          hypothesis: ev.hypothesis,
          edits: ev.edits,
          diff: ev.diff,
          linesAdded: ev.lines_added,
          linesRemoved: ev.lines_removed,
          traceFile: ev.trace_file,
          meta: ev.meta,
          usage: ev.usage,
          proposedAt: ev.at,
        } satisfies Partial<ExperimentState>);
        s.costUsd += ev.usage?.cost_usd ?? 0;
        break;
      }
      case "proposal_failed": {
        const e = get(ev.experiment, ev);
        e.phase = "failed";
        e.verdict = { verdict: "discard", reason: ev.reason, baselineMean: null, candidateMean: null, improvement: null, pValue: null, at: ev.at, seq: ev.seq };
        e.usage = ev.usage;
        s.costUsd += ev.usage?.cost_usd ?? 0;
        break;
      }
      case "run_started":
        get(ev.experiment, ev).runs.push({ commit: ev.commit, seed: ev.seed, status: "running", metric: null, seconds: 0, reason: "", tail: "" });
        break;
      case "run_finished": {
        const e = get(ev.experiment, ev);
        const run = e.runs.find((r) => r.commit === ev.commit && r.seed === ev.seed && r.status === "running");
        const done: RunState = {
          commit: ev.commit,
          seed: ev.seed,
          status: ev.status,
          metric: ev.metric,
          seconds: ev.seconds,
          reason: ev.reason,
          tail: ev.tail,
        };
        if (run) Object.assign(run, done);
        // A result may arrive for a run whose start was lost (redelivery): record it all the same.
        else e.runs.push(done);
        break;
      }
      case "experiment_rebased": {
        const e = get(ev.experiment, ev);
        Object.assign(e, {
          parent: ev.parent,
          commit: ev.commit,
          diff: ev.diff,
          linesAdded: ev.lines_added,
          linesRemoved: ev.lines_removed,
          rebases: e.rebases + 1,
        });
        break;
      }
      case "experiment_judged": {
        const e = get(ev.experiment, ev);
        e.phase = ev.verdict === "keep" ? "kept" : "discarded";
        e.verdict = {
          verdict: ev.verdict,
          reason: ev.reason,
          baselineMean: ev.baseline_mean,
          candidateMean: ev.candidate_mean,
          improvement: ev.improvement,
          pValue: ev.p_value,
          at: ev.at,
          seq: ev.seq,
        };
        if (ev.verdict === "keep") s.best = { experiment: ev.experiment, commit: ev.commit };
        break;
      }
      case "campaign_resumed":
        // Whatever was in flight when the previous process died is gone: runs are re-queued and
        // proposals that never arrived are asked for again (same number). Finished results stay.
        s.stopped = undefined;
        for (const e of s.experiments) {
          if (!e) continue;
          e.runs = e.runs.filter((r) => r.status !== "running");
        }
        for (const e of s.experiments) {
          if (e?.phase === "proposing") e.abandoned = true;
        }
        break;
      case "campaign_stopped":
        s.stopped = { reason: ev.reason, at: ev.at };
        break;
    }
  }
  return s;
}

/** Counts for reports and budget checks. */
export function tally(s: CampaignState): {
  experiments: number;
  kept: number;
  discarded: number;
  failed: number;
  inFlight: number;
  unfinished: number;
  runs: number;
} {
  let experiments = 0;
  let kept = 0;
  let discarded = 0;
  let failed = 0;
  let inFlight = 0;
  let unfinished = 0;
  let runs = 0;
  for (const e of s.experiments) {
    if (!e) continue;
    runs += e.runs.filter((r) => r.status !== "running").length;
    if (e.experiment === 0) continue;
    experiments++;
    if (e.phase === "kept") kept++;
    else if (e.phase === "failed") failed++;
    else if (e.phase === "discarded") {
      // A discard whose runs all failed is a failure (crash, timeout, no metric), not a verdict.
      if (currentMetrics(e).length === 0) failed++;
      else discarded++;
    } else if (s.stopped) unfinished++;
    else inFlight++;
  }
  // Experiments a stop cut short (time or cost budget) are unfinished, not in flight.
  return { experiments, kept, discarded, failed, inFlight, unfinished, runs };
}
