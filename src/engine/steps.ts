/**
 * Executes the planner's commands through the ports and returns the events to append. Shared by
 * every driver (the local loop now, the webhook-driven App later); holds no campaign decisions:
 * those are in src/core.
 */

import { proposalContext } from "../core/context.js";
import { applyEdits } from "../core/edits.js";
import { addUsage, type Edit, type NewEventInput, type Usage } from "../core/events.js";
import { campaignBranch, experimentBranch } from "../core/names.js";
import type { Command } from "../core/planner.js";
import type { CampaignState, ExperimentState } from "../core/state.js";
import { editableFiles } from "../core/surface.js";
import { ProposerError } from "../errors.js";
import type { Executor, LedgerStore, Logger, Proposal, Proposer, RepoHost, RunSpec } from "../ports.js";

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

/** Asks the proposer for experiment `cmd.experiment`, applies and commits its edits. */
export async function proposeExperiment(s: CampaignState, cmd: Of<"propose">, deps: EngineDeps, signal?: AbortSignal): Promise<NewEventInput[]> {
  const editable = s.config.editable;
  const files = await editableAt(deps.repo, cmd.parent, editable);
  const feedback: string[] = [];
  // The spend of rejected attempts counts too: it is recorded with the final event.
  let usage: Usage | undefined;
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
    const ctx = { ...proposalContext(s, cmd.experiment, cmd.parent, files, [...feedback]), readFile, listFiles };
    ctx.costUsd = s.costUsd + (usage?.cost_usd ?? 0);
    let proposal: Proposal;
    try {
      proposal = await deps.proposer.propose(ctx, signal);
    } catch (err) {
      if (err instanceof ProposerError) err.usage = sumUsage(usage, err.usage);
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
    const result = await deps.repo.commit(cmd.parent, applied.files, commitMessage(s, cmd.experiment, proposal));
    const branch = experimentBranch(s.campaign, cmd.experiment);
    await deps.repo.setBranch(branch, result.commit);
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
        trace_file: traceFile,
        meta: proposal.meta ?? {},
        usage,
      },
    ];
  }
  return [
    {
      type: "proposal_failed",
      experiment: cmd.experiment,
      reason: `no applicable proposal after ${MAX_PROPOSAL_ATTEMPTS} attempts: ${feedback.at(-1) ?? ""}`,
      ...(usage ? { usage } : {}),
    },
  ];
}

/** Runs one seed of an experiment and returns its run_finished event (undefined when cancelled). */
export async function runOne(spec: RunSpec, deps: EngineDeps, signal: AbortSignal): Promise<NewEventInput | undefined> {
  const r = await deps.executor.run(spec, signal);
  if (r.status === "cancelled") return undefined;
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
    ...(r.isolation !== undefined ? { isolation: r.isolation } : {}),
  };
}

/** Records a verdict: a keep moves the campaign branch; experiment branches are deleted (diffs stay in the ledger). */
export async function applyVerdict(s: CampaignState, cmd: Of<"judge">, deps: EngineDeps): Promise<NewEventInput[]> {
  if (cmd.verdict === "keep") await deps.repo.setBranch(campaignBranch(s.campaign), cmd.commit);
  if (cmd.branch) await deps.repo.deleteBranch(cmd.branch);
  return [
    {
      type: "experiment_judged",
      experiment: cmd.experiment,
      commit: cmd.commit,
      verdict: cmd.verdict,
      reason: cmd.reason,
      baseline_mean: cmd.baselineMean,
      candidate_mean: cmd.candidateMean,
      improvement: cmd.improvement,
      p_value: cmd.pValue,
    },
  ];
}

/** Re-applies a stale candidate's edits on the new best; discards it when they no longer apply. */
export async function rebaseExperiment(s: CampaignState, cmd: Of<"rebase">, deps: EngineDeps): Promise<NewEventInput[]> {
  const e = s.experiments[cmd.experiment] as ExperimentState;
  const files = await editableAt(deps.repo, cmd.onto, s.config.editable);
  const applied = applyEdits(files, e.edits as Edit[], s.config.editable);
  if (!applied.ok) {
    if (e.branch) await deps.repo.deleteBranch(e.branch);
    return [
      {
        type: "experiment_judged",
        experiment: e.experiment,
        commit: e.commit,
        verdict: "discard",
        reason: `stale: its edits no longer apply on the new best (${applied.errors.join("; ")})`,
        baseline_mean: null,
        candidate_mean: null,
        improvement: null,
        p_value: null,
      },
    ];
  }
  const result = await deps.repo.commit(cmd.onto, applied.files, commitMessage(s, e.experiment, e));
  await deps.repo.setBranch(e.branch, result.commit);
  return [
    {
      type: "experiment_rebased",
      experiment: e.experiment,
      parent: cmd.onto,
      commit: result.commit,
      diff: result.diff,
      lines_added: result.linesAdded,
      lines_removed: result.linesRemoved,
    },
  ];
}
