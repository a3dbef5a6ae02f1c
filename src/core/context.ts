/** What a proposer sees of the campaign: built from the state, pure. */
import type { ExperimentSummary, ProposalContext } from "../ports.js";
import { type CampaignState, currentMetrics, currentRuns, type ExperimentState } from "./state.js";
import { mean } from "./stats.js";

function summary(e: ExperimentState): ExperimentSummary {
  const metrics = currentMetrics(e);
  const outcome: ExperimentSummary["outcome"] =
    e.phase === "kept" ? "keep" : e.phase === "failed" ? "failed" : e.phase === "discarded" ? (metrics.length === 0 ? "failed" : "discard") : "running";
  return {
    experiment: e.experiment,
    title: e.title,
    hypothesis: e.hypothesis,
    edits: e.edits,
    meta: e.meta,
    outcome,
    reason: e.verdict?.reason ?? "",
    metric: metrics.length ? mean(metrics) : null,
    improvement: e.verdict?.improvement ?? null,
    ...(outcome === "failed" || outcome === "discard" ? failedTail(e) : {}),
  };
}

/** The output tail of the last failed run on the experiment's current commit, when there is one. */
function failedTail(e: ExperimentState): { tail?: string } {
  const run = currentRuns(e)
    .filter((r) => r.status !== "ok" && r.status !== "running" && r.status !== "cancelled")
    .at(-1);
  return run?.tail ? { tail: run.tail } : {};
}

/** The campaign goal, with the instructions maintainers added while it ran (data, like the goal). */
export function goalWithInstructions(s: CampaignState): string {
  if (s.instructions.length === 0) return s.goal;
  const added = s.instructions.map((i) => `- ${i.text}${i.by ? ` (from ${i.by})` : ""}`);
  return `${s.goal}\n\nAdded while the campaign ran:\n${added.join("\n")}`;
}

/** The proposal context for experiment `n` on `parent`, given the editable files there. */
export function proposalContext(s: CampaignState, n: number, parent: string, files: Record<string, string>, feedback: string[] = []): ProposalContext {
  const others = s.experiments.filter((e): e is ExperimentState => !!e && e.experiment > 0 && e.experiment !== n);
  const judged = others.filter((e) => e.verdict).sort((a, b) => (a.verdict?.seq ?? 0) - (b.verdict?.seq ?? 0));
  const inFlight = others.filter((e) => !e.verdict && e.phase === "running");
  const baseline = currentMetrics(s.experiments[0] as ExperimentState);
  const best = currentMetrics(s.experiments[s.best.experiment] as ExperimentState);
  return {
    campaign: s.campaign,
    experiment: n,
    goal: goalWithInstructions(s),
    config: s.config,
    parent,
    files,
    best: { metric: best.length ? mean(best) : null, baseline: baseline.length ? mean(baseline) : null },
    history: judged.map(summary),
    inFlight: inFlight.map(summary),
    feedback,
    costUsd: s.costUsd,
  };
}
