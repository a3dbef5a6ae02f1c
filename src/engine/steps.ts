/**
 * Executes the planner's commands through the ports and returns the events to append. Shared by
 * every driver (the local loop and the webhook-driven App); holds no campaign decisions: those
 * are in src/core. Every branch move is a compare-and-swap on the commit the ledger expects, and
 * every commit is dated from the ledger, so a step done twice (a redelivered webhook, a second
 * replica) converges on the same state instead of clobbering it.
 */

import { SPENDING_PROPOSERS } from "../core/config.js";
import { proposalContext } from "../core/context.js";
import { applyEdits } from "../core/edits.js";
import { addUsage, type NewEventInput, type Usage } from "../core/events.js";
import { codeLineChanges } from "../core/lines.js";
import { campaignBranch, experimentBranch } from "../core/names.js";
import type { Command } from "../core/planner.js";
import { bestExperiment, type CampaignState, type ExperimentState } from "../core/state.js";
import { editableFiles } from "../core/surface.js";
import { BranchConflict, EditError, ProposalInterrupted, ProposerError } from "../errors.js";
import type { CommitResult, Executor, LedgerStore, Logger, Proposal, Proposer, RepoHost, RunResult, RunSpec } from "../ports.js";

/** How many times a proposer may retry after its edits were rejected. */
export const MAX_PROPOSAL_ATTEMPTS = 3;

export interface EngineDeps {
  repo: RepoHost;
  executor: Executor;
  proposer: Proposer;
  ledger: LedgerStore;
  logger: Logger;
}

type Of<K extends Command["kind"]> = Extract<Command, { kind: K }>;

async function editableAt(repo: RepoHost, commit: string, editable: readonly string[]): Promise<Record<string, string>> {
  const paths = editableFiles(await repo.listFiles(commit), editable);
  const read = await repo.readFiles(commit, paths);
  const files: Record<string, string> = {};
  for (const [p, c] of Object.entries(read)) if (c !== undefined) files[p] = c;
  return files;
}

function commitMessage(s: CampaignState, n: number, p: Pick<Proposal, "title" | "hypothesis">): string {
  return `autoresearch #${n}: ${p.title}\n\n${p.hypothesis}\n\nCampaign: ${s.campaign}\nExperiment: ${n}\n`;
}

function traceMarkdown(s: CampaignState, n: number, p: Proposal, attempts: string[]): string {
  const lines = [
    `# Experiment ${n}: ${p.title}`,
    "",
    `Campaign ${s.campaign}, metric ${s.config.metric.name} (${s.config.metric.goal}).`,
    "",
    "## Hypothesis",
    "",
    p.hypothesis,
    "",
    "## Trace",
    "",
    p.trace.trim(),
    "",
  ];
  if (attempts.length) lines.push("## Rejected attempts", "", ...attempts.map((a) => `- ${a}`), "");
  return lines.join("\n");
}

/** Sums usages that may be missing (undefined when both are). */
function sumUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  return a && b ? addUsage(a, b) : (a ?? b);
}

/** The ledger time a proposal's commit carries: when it was asked for (the same on every replay). */
function requestedAt(s: CampaignState, n: number): string {
  return s.experiments[n]?.requestedAt ?? s.lastAt;
}

/**
 * Asks the proposer for experiment `cmd.experiment`, applies and commits its edits. Every way it
 * ends is an event: proposed, failed (fatal when the proposer cannot work at all, which stops the
 * campaign), or interrupted (with what was spent). Other errors (the repository failing) throw.
 */
export async function proposeExperiment(s: CampaignState, cmd: Of<"propose">, deps: EngineDeps, signal?: AbortSignal): Promise<NewEventInput[]> {
  const editable = s.config.editable;
  const feedback: string[] = [];
  // The spend of rejected attempts counts too: it is recorded with the final event.
  let usage: Usage | undefined;
  const spends = SPENDING_PROPOSERS.has(s.config.proposer.kind);
  const failed = (reason: string, fatal = false): NewEventInput[] => [
    { type: "proposal_failed", experiment: cmd.experiment, reason, ...(usage ? { usage } : {}), ...(fatal ? { fatal } : {}) },
  ];
  try {
    const files = await editableAt(deps.repo, cmd.parent, editable);
    // Read-only access to the tracked files at the parent, for proposers that explore (claude).
    let tracked: Promise<string[]> | undefined;
    const listFiles = () => {
      tracked ??= deps.repo.listFiles(cmd.parent);
      return tracked;
    };
    const readFile = async (path: string) => {
      if (!(await listFiles()).includes(path)) return undefined;
      return (await deps.repo.readFiles(cmd.parent, [path]))[path];
    };
    for (let attempt = 1; attempt <= MAX_PROPOSAL_ATTEMPTS; attempt++) {
      const budgetUsd = spends ? cmd.reserveUsd - (usage?.cost_usd ?? 0) : undefined;
      if (budgetUsd !== undefined && budgetUsd <= 0)
        return failed(`its share of the cost budget ($${cmd.reserveUsd.toFixed(2)}) is spent${feedback.length ? `; last error: ${feedback.at(-1)}` : ""}`);
      const ctx = { ...proposalContext(s, cmd.experiment, cmd.parent, files, [...feedback]), readFile, listFiles };
      ctx.costUsd = s.costUsd + (usage?.cost_usd ?? 0);
      if (budgetUsd !== undefined) ctx.budgetUsd = budgetUsd;
      let proposal: Proposal;
      try {
        proposal = await deps.proposer.propose(ctx, signal);
      } catch (err) {
        if (err instanceof ProposerError || err instanceof ProposalInterrupted) usage = sumUsage(usage, err.usage);
        throw err;
      }
      usage = sumUsage(usage, proposal.usage);
      if (proposal.failure !== undefined) {
        deps.logger.warn("proposal rejected", { experiment: cmd.experiment, attempt, errors: [proposal.failure] });
        feedback.push(`attempt ${attempt}: ${proposal.failure}`);
        continue;
      }
      const applied = applyEdits(files, proposal.edits, editable);
      if (!applied.ok) {
        deps.logger.warn("proposal rejected", { experiment: cmd.experiment, attempt, errors: applied.errors });
        feedback.push(`attempt ${attempt}: ${applied.errors.join("; ")}`);
        continue;
      }
      let result: CommitResult;
      try {
        result = await deps.repo.commit(cmd.parent, applied.files, commitMessage(s, cmd.experiment, proposal), { at: requestedAt(s, cmd.experiment) });
      } catch (err) {
        // A path the repository cannot hold (a file where a folder is): feedback like any edit that does not apply.
        if (!(err instanceof EditError)) throw err;
        deps.logger.warn("proposal rejected", { experiment: cmd.experiment, attempt, errors: [err.message] });
        feedback.push(`attempt ${attempt}: ${err.message}`);
        continue;
      }
      const branch = experimentBranch(s.campaign, cmd.experiment);
      try {
        await deps.repo.setBranch(branch, result.commit, null);
      } catch (err) {
        // The branch of an earlier attempt at this experiment whose process died before the ledger
        // recorded it (the ledger knows no commit for it): nobody refers to it, so it is replaced.
        if (!(err instanceof BranchConflict) || err.actual === null || s.experiments[cmd.experiment]?.commit) throw err;
        deps.logger.warn("replacing the branch of an abandoned attempt", { experiment: cmd.experiment, branch, was: err.actual });
        await deps.repo.setBranch(branch, result.commit, err.actual);
      }
      const traceFile = await deps.ledger.writeTrace(cmd.experiment, traceMarkdown(s, cmd.experiment, proposal, feedback));
      return [
        {
          type: "experiment_proposed",
          experiment: cmd.experiment,
          parent: cmd.parent,
          commit: result.commit,
          branch,
          title: proposal.title,
          hypothesis: proposal.hypothesis,
          edits: proposal.edits,
          diff: result.diff,
          lines_added: result.linesAdded,
          lines_removed: result.linesRemoved,
          code_lines: codeLineChanges(files, applied.files),
          trace_file: traceFile,
          meta: proposal.meta ?? {},
          usage,
        },
      ];
    }
    return failed(`no applicable proposal after ${MAX_PROPOSAL_ATTEMPTS} attempts: ${feedback.at(-1) ?? ""}`);
  } catch (err) {
    // However a proposal ends, what it spent is recorded.
    if (signal?.aborted || err instanceof ProposalInterrupted)
      return [{ type: "proposal_interrupted", experiment: cmd.experiment, reason: "interrupted", ...(usage ? { usage } : {}) }];
    // A proposer that cannot work at all (no API key, nothing to tune): the planner stops the campaign.
    if (err instanceof ProposerError) return failed(err.message, true);
    throw err;
  }
}

/** The run_finished event of a result (a cancelled one too: it says the seed is to be run again). */
export function runFinished(spec: RunSpec, r: RunResult): NewEventInput {
  return {
    type: "run_finished",
    experiment: spec.experiment,
    commit: spec.commit,
    seed: spec.seed,
    status: r.status,
    metric: r.metric,
    seconds: r.seconds,
    exit_code: r.exitCode,
    reason: r.reason,
    tail: r.tail,
    ...(r.guards ? { guards: r.guards } : {}),
    ...(r.url === undefined ? {} : { url: r.url }),
    ...(r.isolation !== undefined ? { isolation: r.isolation } : {}),
  };
}

/** The run_started events for a start_runs command, with the executor's lease. */
export function runsStarted(cmd: Of<"start_runs">, executor: Executor, now: Date): NewEventInput[] {
  const lease = executor.leaseSeconds === undefined ? undefined : new Date(now.getTime() + executor.leaseSeconds * 1000).toISOString();
  return cmd.seeds.map((seed) => ({
    type: "run_started" as const,
    experiment: cmd.experiment,
    commit: cmd.commit,
    seed,
    ...(lease ? { lease_until: lease } : {}),
  }));
}

/**
 * Whether a result is news to the ledger: false when the run already has a result (a redelivered
 * webhook, a late result of a run handed out twice, a second replica), so the driver does not
 * append it. `fold` ignores such a duplicate too, but the ledger then says it once.
 */
export function isNewResult(s: CampaignState, spec: Pick<RunSpec, "experiment" | "commit" | "seed">): boolean {
  const e = s.experiments[spec.experiment];
  if (!e) return false;
  return !e.runs.some((r) => r.commit === spec.commit && r.seed === spec.seed && r.status !== "running" && r.status !== "cancelled");
}

/** The run specs of a start_runs command. */
export function runSpecs(s: CampaignState, cmd: Of<"start_runs">): RunSpec[] {
  return cmd.seeds.map((seed) => ({ campaign: s.campaign, experiment: cmd.experiment, commit: cmd.commit, parent: cmd.parent, seed }));
}

/**
 * Deletes a judged experiment's branch. One that someone moved elsewhere is not the campaign's to
 * delete any more: it is left in place, with a warning (the verdict and the diff are in the ledger).
 */
async function removeExperimentBranch(branch: string, commit: string, deps: EngineDeps): Promise<void> {
  try {
    await deps.repo.deleteBranch(branch, commit);
  } catch (err) {
    if (!(err instanceof BranchConflict)) throw err;
    deps.logger.warn("experiment branch moved by someone else; left in place", { branch, error: err.message });
  }
}

/** Records a verdict: a keep moves the campaign branch; experiment branches are deleted (diffs stay in the ledger). */
export async function applyVerdict(s: CampaignState, cmd: Of<"judge">, deps: EngineDeps): Promise<NewEventInput[]> {
  if (cmd.verdict === "keep" && cmd.experiment > 0) await deps.repo.setBranch(campaignBranch(s.campaign), cmd.commit, s.best.commit);
  if (cmd.branch) await removeExperimentBranch(cmd.branch, cmd.commit, deps);
  return [verdictEvent(cmd)];
}

/** The event that records a verdict (applyVerdict moves the branches first). */
export function verdictEvent(cmd: Of<"judge">): NewEventInput {
  return {
    type: "experiment_judged",
    experiment: cmd.experiment,
    commit: cmd.commit,
    verdict: cmd.verdict,
    reason: cmd.reason,
    baseline_mean: cmd.baselineMean,
    candidate_mean: cmd.candidateMean,
    improvement: cmd.improvement,
    p_value: cmd.pValue,
    ...(cmd.pairs !== undefined ? { pairs: cmd.pairs } : {}),
    ...(cmd.guards ? { guards: cmd.guards } : {}),
    ...(cmd.supersedes !== undefined ? { supersedes: cmd.supersedes } : {}),
  };
}

/**
 * Re-applies a stale candidate's change on the new best with git's three-way merge (base: the
 * commit it was made on). When the merge conflicts, that is recorded (`rebase_conflicted`) and the
 * planner compares the candidate's own commit with the new best as a whole.
 */
export async function rebaseExperiment(s: CampaignState, cmd: Of<"rebase">, deps: EngineDeps): Promise<NewEventInput[]> {
  const e = s.experiments[cmd.experiment] as ExperimentState;
  // Dated by the keep that made it stale: a rebase done twice makes the same commit.
  const merged = await deps.repo.merge(e.parent, cmd.onto, e.commit, commitMessage(s, e.experiment, e), { at: bestExperiment(s).verdict?.at ?? s.lastAt });
  if (!merged.ok) return [{ type: "rebase_conflicted", experiment: e.experiment, onto: cmd.onto, conflicts: merged.conflicts }];
  await deps.repo.setBranch(e.branch, merged.commit, e.commit);
  const [before, after] = await Promise.all([editableAt(deps.repo, cmd.onto, s.config.editable), editableAt(deps.repo, merged.commit, s.config.editable)]);
  return [
    {
      type: "experiment_rebased",
      experiment: e.experiment,
      parent: cmd.onto,
      commit: merged.commit,
      diff: merged.diff,
      lines_added: merged.linesAdded,
      lines_removed: merged.linesRemoved,
      code_lines: codeLineChanges(before, after),
    },
  ];
}

/** The event of a judging command: how the campaign judges from now on. */
export function judgingChanged(cmd: Of<"judging">): NewEventInput[] {
  return [{ type: "judging_changed", scale: cmd.scale, deterministic: cmd.deterministic, reason: cmd.reason }];
}

/** The event that starts the confirmation of the final number (its runs follow as start_runs). */
export function confirmationStarted(cmd: Of<"start_confirmation">): NewEventInput[] {
  return [
    {
      type: "confirmation_started",
      base_commit: cmd.baseCommit,
      best_commit: cmd.bestCommit,
      best_experiment: cmd.bestExperiment,
      seeds: cmd.seeds,
      reason: cmd.reason,
    },
  ];
}

/** The event that records the confirmation's result. */
export function confirmationJudged(cmd: Of<"confirm">): NewEventInput[] {
  return [
    {
      type: "confirmation_judged",
      best_commit: cmd.bestCommit,
      confirmed: cmd.confirmed,
      pairs: cmd.pairs,
      base_mean: cmd.baseMean,
      best_mean: cmd.bestMean,
      change_pct: cmd.changePct,
      interval_pct: cmd.intervalPct,
      p_value: cmd.pValue,
      scale: cmd.scale,
      reason: cmd.reason,
    },
  ];
}

/** The event that gives up a run whose result never came (a failed run, like a crash). */
export function runLost(cmd: Of<"run_lost">): NewEventInput[] {
  return [
    {
      type: "run_finished",
      experiment: cmd.experiment,
      commit: cmd.commit,
      seed: cmd.seed,
      status: "lost",
      metric: null,
      seconds: 0,
      exit_code: null,
      reason: cmd.reason,
    },
  ];
}

/** The event that gives up a proposal that never arrived. */
export function proposalLost(cmd: Of<"proposal_lost">): NewEventInput[] {
  return [{ type: "proposal_failed", experiment: cmd.experiment, reason: cmd.reason }];
}

/**
 * The events of a command that needs no I/O (a lost run or proposal, the judging, the
 * confirmation's start and result), as every driver records them; undefined for a command that
 * does I/O (its driver carries it out).
 */
export function recordedEvents(cmd: Command): NewEventInput[] | undefined {
  switch (cmd.kind) {
    case "run_lost":
      return runLost(cmd);
    case "proposal_lost":
      return proposalLost(cmd);
    case "judging":
      return judgingChanged(cmd);
    case "start_confirmation":
      return confirmationStarted(cmd);
    case "confirm":
      return confirmationJudged(cmd);
    default:
      return undefined;
  }
}
