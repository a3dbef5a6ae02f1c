/**
 * The campaign state, folded from ledger events. Pure: `fold(events)` is the only way state is made.
 */
import { BudgetConfigSchema, type Config, formatIssues, parseConfig } from "./config.js";
import {
  type CodeLines,
  type Edit,
  type GuardCheck,
  type IsolationLevel,
  type LedgerEvent,
  type RunStatus,
  type Scale,
  type Usage,
  ZERO_USAGE,
} from "./events.js";

export interface RunState {
  commit: string;
  seed: number;
  status: RunStatus | "running";
  metric: number | null;
  seconds: number;
  reason: string;
  tail: string;
  /** When the run was (last) handed out. */
  startedAt: string;
  /** Past this, with no result, the run is handed out again once, then lost (absent: no lease). */
  leaseUntil?: string;
  /** How many times this seed of this commit was handed out while no result came back. */
  dispatches: number;
  /** Where the run can be seen (GitHub: the workflow run's page), once it reported. */
  url?: string;
  /** The workflow run it was dispatched in (GitHub), when the dispatch said. */
  dispatch?: number;
  /** The isolation the run had, once it reported (absent in older ledgers). */
  isolation?: IsolationLevel;
  /** Guard metric values, by guard name (ok runs of a campaign with guards). */
  guards?: Record<string, number>;
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
  /** Lines of code added and removed, blanks and comments not counted (absent in old ledgers). */
  codeLines?: CodeLines;
  traceFile?: string;
  meta: Record<string, unknown>;
  usage?: Usage;
  /** Every run ever started for this experiment, across rebases. */
  runs: RunState[];
  rebases: number;
  /** The commits this experiment had before each rebase, with the parent each was made on. */
  earlier: { commit: string; parent: string }[];
  /**
   * Set when git could not merge the change onto `onto` (the best then): the candidate's own
   * commit is then compared with that best as a whole, and replaces it if it wins.
   */
  rebaseConflict?: { onto: string; conflicts: string[]; at: string };
  /** How many merges onto a moved best conflicted (with `rebases`, what makes a candidate stale). */
  conflicts: number;
  /** Set on a kept experiment whose keep a later one replaced as a whole (see rebaseConflict). */
  supersededBy?: number;
  /** A proposal asked for by a process that died before it arrived; it is asked for again. */
  abandoned?: boolean;
  /** When the proposal was (last) asked for. */
  requestedAt?: string;
  /** Past this, with no proposal, it is asked for again once, then counted as lost. */
  leaseUntil?: string;
  /** How many times the proposal was asked for again because its lease passed. */
  leaseRetries: number;
  /** LLM spend reserved for the proposal in flight (0 once it reported). */
  reservedUsd: number;
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
    /** Seeds both the candidate and the best it was compared with have a result on (absent in old ledgers). */
    pairs?: number;
    /** How each guard compared on those seeds. */
    guards?: GuardCheck[];
    /** For a keep that replaced the best as a whole: the experiment whose keep it superseded. */
    supersedes?: number;
  };
  proposedAt?: string;
}

/**
 * How the campaign judges now (recorded by `judging_changed` when the planner switches it; the
 * defaults before any such event).
 */
export interface JudgingState {
  /** Where noise is pooled and tests are made: metric units, or their logarithm. */
  scale: Scale;
  /** Every repeated measurement so far identical: one run per candidate, one re-check per new best. */
  deterministic: boolean;
  /** Why it is so, in words for reports ("" before the first switch). */
  reason: string;
  /** When it last changed (absent before the first switch). */
  at?: string;
}

/** The outcome of a confirmation (see ConfirmationState). */
export interface ConfirmationResult {
  /** True when a paired one-sided test at accept.confidence shows the best better than the base. */
  confirmed: boolean;
  /** Fresh seeds with a result on both commits. */
  pairs: number;
  /** Means over the paired seeds, in metric units (geometric means when `scale` is log); null without pairs. */
  baseMean: number | null;
  bestMean: number | null;
  /** Change of the best from the base in percent of the base (negative: lower), whatever the goal. */
  changePct: number | null;
  /**
   * [lower, upper] interval of changePct at 1 - 2 * (1 - confidence): the end nearer no change is
   * exactly the one-sided bound of the test, so "confirmed" means it excludes no change.
   */
  intervalPct: [number, number] | null;
  pValue: number | null;
  scale: Scale;
  /** In words: why it is confirmed or not. */
  reason: string;
  at: string;
}

/**
 * The confirmation of a campaign's final number: the base commit and the best commit run
 * interleaved on fresh paired seeds once the campaign has run out of experiments with a keep (or
 * on `autoresearch confirm`). Reports and the pull request show `result` as the headline; a pull
 * request is marked "not confirmed" when `result.confirmed` is false.
 */
export interface ConfirmationState {
  /** requested: asked for on a finished campaign, not started; running: seeds chosen, runs pending; done: judged. */
  phase: "requested" | "running" | "done";
  /** Asked for on a finished campaign (`autoresearch confirm`): it runs although the campaign is stopped. */
  requested: boolean;
  reason: string;
  baseCommit: string;
  bestCommit: string;
  bestExperiment: number;
  /** The fresh seeds; each runs once on the base and once on the best. */
  seeds: number[];
  requestedAt: string;
  result?: ConfirmationResult;
}

export interface CampaignState {
  campaign: string;
  /** The configuration recorded at start, with later budget changes applied. */
  config: Config;
  goal: string;
  /** Instructions maintainers added while the campaign ran, oldest first. */
  instructions: { text: string; by: string; at: string; commentId?: number }[];
  source: string;
  baseCommit: string;
  startedAt: string;
  /** Experiment 0 is the baseline; index = experiment number. */
  experiments: ExperimentState[];
  /** The campaign's best commit and the experiment that produced it (0 = baseline). */
  best: { experiment: number; commit: string };
  stopped?: { reason: string; at: string };
  paused?: { reason: string; at: string };
  lastSeq: number;
  /**
   * Bumped by every event that may change an experiment's commits or runs (all but a few
   * bookkeeping events): what is derived from the runs alone is cached per value (see pairing.ts).
   */
  runsVersion: number;
  lastAt: string;
  /** LLM spend recorded, plus the reservations of proposals a crash cut short (their spend is unknown). */
  costUsd: number;
  /** Of costUsd: reservations counted because the proposal's process died before it reported. */
  costUnknownUsd: number;
  /** LLM spend reserved by proposals in flight. */
  reservedUsd: number;
  /** Milliseconds the campaign ran before the current running stretch (pauses, stops and restarts excluded). */
  activeMs: number;
  /** Start of the current running stretch; undefined while paused or stopped. */
  runningSince?: string;
  /** Set when the proposer reported it cannot work at all; the planner stops the campaign. */
  proposerFatal?: string;
  /** Events that contradict earlier ones and were ignored (a conflicting duplicate result, ...). */
  problems: string[];
  /** How candidates are judged now: scale and deterministic mode. */
  judging: JudgingState;
  /** The latest confirmation of the final number, when one was started or asked for. */
  confirmation?: ConfirmationState;
  /** Where the campaign is shown on GitHub (none locally). */
  published: { statusComment?: { id: number; url: string }; pullRequest?: { number: number; url: string } };
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

/** Milliseconds the campaign has been running at `now` (pauses, stops and restarts excluded). */
export function activeMs(s: CampaignState, now: Date): number {
  const current = s.runningSince === undefined ? 0 : Math.max(0, now.getTime() - Date.parse(s.runningSince));
  return s.activeMs + current;
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
    earlier: [],
    conflicts: 0,
    leaseRetries: 0,
    reservedUsd: 0,
  };
}

/** Thrown when events contradict each other (a bug or a hand-edited ledger). */
export class FoldError extends Error {}

/** True when two results of one run say the same (a redelivered webhook, an append retried). */
function sameResult(r: RunState, ev: Extract<LedgerEvent, { type: "run_finished" }>): boolean {
  return r.status === ev.status && r.metric === ev.metric && r.seconds === ev.seconds && r.reason === ev.reason && r.tail === ev.tail;
}

/** Folds ledger events into the campaign state. Throws FoldError on an inconsistent ledger. */
export function fold(events: readonly LedgerEvent[]): CampaignState {
  return foldInto(initialState(events[0]), events.slice(1));
}

/** The state of a campaign that has only started (its first event). */
function initialState(first: LedgerEvent | undefined): CampaignState {
  if (first?.type !== "campaign_started") throw new FoldError("the ledger does not start with campaign_started");
  const config = parseConfig(first.config, "the campaign's recorded configuration");
  const s: CampaignState = {
    campaign: first.campaign,
    config,
    goal: first.goal,
    instructions: [],
    source: first.source,
    baseCommit: first.base_commit,
    startedAt: first.at,
    experiments: [
      {
        ...emptyExperiment(0, first.base_commit),
        phase: "running",
        commit: first.base_commit,
        title: "baseline",
        hypothesis: "The unchanged base commit.",
      },
    ],
    best: { experiment: 0, commit: first.base_commit },
    lastSeq: first.seq,
    runsVersion: 0,
    lastAt: first.at,
    costUsd: 0,
    costUnknownUsd: 0,
    reservedUsd: 0,
    activeMs: 0,
    runningSince: first.at,
    problems: [],
    judging: { scale: "linear", deterministic: false, reason: "" },
    published: {},
  };
  return s;
}

/**
 * Applies events that follow `s` to it, in place, and returns it: a driver that holds the state
 * applies only what is new (the same result as folding the whole ledger again).
 */
/** Events that change no experiment's commits or runs (see CampaignState.runsVersion). */
const RUNS_UNCHANGED: ReadonlySet<LedgerEvent["type"]> = new Set([
  "published",
  "instructions_added",
  "experiment_requested",
  "experiment_judged",
  "runs_dispatched",
  "judging_changed",
  "confirmation_requested",
  "confirmation_started",
  "confirmation_judged",
  "campaign_paused",
  "campaign_stopped",
]);

export function foldInto(s: CampaignState, events: readonly LedgerEvent[]): CampaignState {
  const get = (n: number, ev: LedgerEvent): ExperimentState => {
    const e = s.experiments[n];
    if (!e) throw new FoldError(`event ${ev.seq} (${ev.type}) names experiment ${n}, which was never requested`);
    return e;
  };
  /** Ends the running stretch at `at` (a pause, a stop, or the last event before a restart). */
  const closeStretch = (at: string) => {
    if (s.runningSince === undefined) return;
    s.activeMs += Math.max(0, Date.parse(at) - Date.parse(s.runningSince));
    s.runningSince = undefined;
  };
  /** A proposal reported (or was given up): its reservation gives way to what it spent. */
  const settleSpend = (e: ExperimentState, usage: Usage | undefined) => {
    s.reservedUsd = Math.max(0, s.reservedUsd - e.reservedUsd);
    e.reservedUsd = 0;
    s.costUsd += usage?.cost_usd ?? 0;
  };
  for (const ev of events) {
    if (ev.seq <= s.lastSeq) throw new FoldError(`event sequence goes backwards at seq ${ev.seq}`);
    const previousAt = s.lastAt;
    s.lastSeq = ev.seq;
    s.lastAt = ev.at;
    if (!RUNS_UNCHANGED.has(ev.type)) s.runsVersion++;
    switch (ev.type) {
      case "campaign_started":
        throw new FoldError(`a second campaign_started at seq ${ev.seq}`);
      case "experiment_requested": {
        const existing = s.experiments[ev.experiment];
        if (existing && existing.phase !== "proposing")
          throw new FoldError(`experiment ${ev.experiment} requested again after it was proposed (seq ${ev.seq})`);
        const e = existing ?? emptyExperiment(ev.experiment, ev.parent);
        if (existing) {
          // Asked for again: after a restart (abandoned), or because its lease passed. The spend
          // reserved by the earlier request is unknown, so it counts as spent.
          if (!existing.abandoned) e.leaseRetries++;
          s.costUnknownUsd += e.reservedUsd;
          settleSpend(e, { ...ZERO_USAGE, cost_usd: e.reservedUsd });
        }
        Object.assign(e, { parent: ev.parent, abandoned: false, requestedAt: ev.at, leaseUntil: ev.lease_until, reservedUsd: ev.reserved_usd ?? 0 });
        s.reservedUsd += e.reservedUsd;
        s.experiments[ev.experiment] = e;
        break;
      }
      case "experiment_proposed": {
        const e = get(ev.experiment, ev);
        if (e.phase !== "proposing") {
          // A slow proposal arriving after its lease passed and another answered: the first stands.
          s.problems.push(`seq ${ev.seq}: a second proposal for experiment ${ev.experiment} was ignored`);
          s.costUsd += ev.usage?.cost_usd ?? 0;
          break;
        }
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
          codeLines: ev.code_lines,
          traceFile: ev.trace_file,
          meta: ev.meta,
          usage: ev.usage,
          proposedAt: ev.at,
          abandoned: false,
        } satisfies Partial<ExperimentState>);
        settleSpend(e, ev.usage);
        break;
      }
      case "proposal_failed": {
        const e = get(ev.experiment, ev);
        if (e.phase !== "proposing") {
          s.problems.push(`seq ${ev.seq}: a proposal failure for experiment ${ev.experiment}, which was already ${e.phase}, was ignored`);
          s.costUsd += ev.usage?.cost_usd ?? 0;
          break;
        }
        e.phase = "failed";
        e.verdict = { verdict: "discard", reason: ev.reason, baselineMean: null, candidateMean: null, improvement: null, pValue: null, at: ev.at, seq: ev.seq };
        e.usage = ev.usage;
        settleSpend(e, ev.usage);
        if (ev.fatal) s.proposerFatal = ev.reason;
        break;
      }
      case "proposal_interrupted": {
        const e = get(ev.experiment, ev);
        settleSpend(e, ev.usage);
        if (e.phase === "proposing") e.abandoned = true;
        break;
      }
      case "run_started": {
        const e = get(ev.experiment, ev);
        const open = e.runs.find((r) => r.commit === ev.commit && r.seed === ev.seed && r.status === "running");
        if (open) {
          // Handed out again (its lease passed): the same run, one more dispatch.
          Object.assign(open, { startedAt: ev.at, leaseUntil: ev.lease_until, dispatches: open.dispatches + 1 });
          break;
        }
        e.runs.push({
          commit: ev.commit,
          seed: ev.seed,
          status: "running",
          metric: null,
          seconds: 0,
          reason: "",
          tail: "",
          startedAt: ev.at,
          dispatches: 1,
          ...(ev.lease_until !== undefined ? { leaseUntil: ev.lease_until } : {}),
        });
        break;
      }
      case "runs_dispatched": {
        const e = get(ev.experiment, ev);
        for (const r of e.runs) if (r.commit === ev.commit && ev.seeds.includes(r.seed) && r.status === "running") r.dispatch = ev.run_id;
        break;
      }
      case "run_finished": {
        const e = get(ev.experiment, ev);
        const result = {
          status: ev.status,
          metric: ev.metric,
          seconds: ev.seconds,
          reason: ev.reason,
          tail: ev.tail,
          ...(ev.guards ? { guards: ev.guards } : {}),
          ...(ev.url === undefined ? {} : { url: ev.url }),
          ...(ev.isolation === undefined ? {} : { isolation: ev.isolation }),
        };
        const open = e.runs.find((r) => r.commit === ev.commit && r.seed === ev.seed && r.status === "running");
        if (open) {
          Object.assign(open, result);
          break;
        }
        const done = e.runs.find((r) => r.commit === ev.commit && r.seed === ev.seed && r.status !== "cancelled");
        if (done) {
          // A redelivered result is ignored; one that disagrees with the recorded one is a problem.
          if (!sameResult(done, ev))
            s.problems.push(
              `seq ${ev.seq}: a second, different result for experiment ${ev.experiment} seed ${ev.seed} (${ev.status}${ev.metric === null ? "" : ` ${ev.metric}`}) was ignored; the first (${done.status}${done.metric === null ? "" : ` ${done.metric}`}) stands`,
            );
          break;
        }
        // A result whose start was never recorded: record it all the same.
        e.runs.push({ commit: ev.commit, seed: ev.seed, ...result, startedAt: ev.at, dispatches: 1 });
        break;
      }
      case "experiment_rebased": {
        const e = get(ev.experiment, ev);
        e.earlier.push({ commit: e.commit, parent: e.parent });
        e.rebaseConflict = undefined;
        Object.assign(e, {
          parent: ev.parent,
          commit: ev.commit,
          diff: ev.diff,
          linesAdded: ev.lines_added,
          linesRemoved: ev.lines_removed,
          codeLines: ev.code_lines,
          rebases: e.rebases + 1,
        });
        break;
      }
      case "rebase_conflicted": {
        const e = get(ev.experiment, ev);
        e.rebaseConflict = { onto: ev.onto, conflicts: ev.conflicts, at: ev.at };
        e.conflicts++;
        break;
      }
      case "experiment_judged": {
        const e = get(ev.experiment, ev);
        if (e.verdict && e.phase !== "running") {
          s.problems.push(`seq ${ev.seq}: a second verdict for experiment ${ev.experiment} was ignored`);
          break;
        }
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
          ...(ev.pairs !== undefined ? { pairs: ev.pairs } : {}),
          ...(ev.guards ? { guards: ev.guards } : {}),
          ...(ev.supersedes !== undefined ? { supersedes: ev.supersedes } : {}),
        };
        if (ev.verdict === "keep") {
          if (ev.supersedes !== undefined) get(ev.supersedes, ev).supersededBy = ev.experiment;
          s.best = { experiment: ev.experiment, commit: ev.commit };
        }
        break;
      }
      case "judging_changed":
        s.judging = { scale: ev.scale, deterministic: ev.deterministic, reason: ev.reason, at: ev.at };
        break;
      case "confirmation_requested":
        s.confirmation = {
          phase: "requested",
          requested: true,
          reason: ev.reason,
          baseCommit: s.baseCommit,
          bestCommit: s.best.commit,
          bestExperiment: s.best.experiment,
          seeds: [],
          requestedAt: ev.at,
        };
        break;
      case "confirmation_started":
        s.confirmation = {
          phase: "running",
          requested: s.confirmation?.phase === "requested",
          reason: ev.reason,
          baseCommit: ev.base_commit,
          bestCommit: ev.best_commit,
          bestExperiment: ev.best_experiment,
          seeds: ev.seeds,
          requestedAt: s.confirmation?.phase === "requested" ? s.confirmation.requestedAt : ev.at,
        };
        break;
      case "confirmation_judged": {
        const c = s.confirmation;
        if (c?.phase !== "running" || c.bestCommit !== ev.best_commit) {
          s.problems.push(`seq ${ev.seq}: a confirmation result for ${ev.best_commit.slice(0, 12)} that no running confirmation expects was ignored`);
          break;
        }
        c.phase = "done";
        c.result = {
          confirmed: ev.confirmed,
          pairs: ev.pairs,
          baseMean: ev.base_mean,
          bestMean: ev.best_mean,
          changePct: ev.change_pct,
          intervalPct: ev.interval_pct,
          pValue: ev.p_value,
          scale: ev.scale,
          reason: ev.reason,
          at: ev.at,
        };
        break;
      }
      case "campaign_paused":
        closeStretch(ev.at);
        s.paused = { reason: ev.reason, at: ev.at };
        break;
      case "campaign_resumed":
        // A running stretch a crash ended (nothing closed it) ends at the last event before now.
        closeStretch(previousAt);
        s.runningSince = ev.at;
        s.stopped = undefined;
        s.paused = undefined;
        s.proposerFatal = undefined;
        if (ev.restart) {
          // The process that held the work in flight is gone: its runs are run again (same seeds)
          // and its proposals asked for again (same numbers). Finished results stay.
          for (const e of s.experiments) {
            if (!e) continue;
            for (const r of e.runs) if (r.status === "running") Object.assign(r, { status: "cancelled", reason: "the process running it stopped" });
            if (e.phase === "proposing" && !e.abandoned) e.abandoned = true;
          }
        }
        break;
      case "budget_changed":
        s.config = withBudget(s.config, ev.budget, ev.seq);
        break;
      case "instructions_added":
        // A redelivered comment adds nothing.
        if (ev.comment_id !== undefined && s.instructions.some((i) => i.commentId === ev.comment_id)) break;
        s.instructions.push({ text: ev.text, by: ev.by, at: ev.at, ...(ev.comment_id === undefined ? {} : { commentId: ev.comment_id }) });
        break;
      case "published":
        if (ev.channel === "status_comment") s.published.statusComment = { id: ev.id, url: ev.url };
        else s.published.pullRequest = { number: ev.id, url: ev.url };
        break;
      case "campaign_stopped":
        closeStretch(ev.at);
        s.stopped = { reason: ev.reason, at: ev.at };
        break;
    }
  }
  return s;
}

/** The configuration with budget keys replaced, validated like the file. */
export function withBudget(config: Config, change: Record<string, unknown>, seq?: number): Config {
  // Every budget value parses as its own input (durations are seconds), so the merged budget can be
  // validated again on its own.
  const r = BudgetConfigSchema.safeParse({ ...config.budget, ...change });
  if (!r.success) {
    const where = seq === undefined ? "the budget change" : `the budget change at seq ${seq}`;
    throw new FoldError(`${where} is invalid: ${formatIssues(r.error, ["budget"]).join("; ")}`);
  }
  return { ...config, budget: r.data };
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
