/**
 * The Executor for GitHub: a start_runs command becomes one `workflow_dispatch` of the experiment
 * workflow on the experiment's branch (its matrix runs each seed); the results come back later as
 * a `workflow_run` webhook (see results.ts). Runs are leased: one whose result does not come within
 * the lease is dispatched once more, then counted as lost (see the planner).
 */
import type { Config } from "../core/config.js";
import { experimentBranch } from "../core/names.js";
import type { Executor, Logger, RunReporting, RunResult, RunSpec } from "../ports.js";
import { apiMessage, type GitHubClient, type RepoRef } from "./client.js";
import type { OctokitRepoHost } from "./repo.js";

/** Time a dispatched run may wait for a runner, on top of its two time boxes (run, then eval). */
export const QUEUE_ALLOWANCE_SECONDS = 1800;

/** The experiment id the workflow and its artifacts carry: `<campaign>-<experiment>`. */
export function experimentId(campaign: string, experiment: number): string {
  return `${campaign}-${experiment}`;
}

/** Campaign and experiment of an id made by experimentId, or undefined for anything else. */
export function parseExperimentId(id: string): { campaign: string; experiment: number } | undefined {
  const m = /^(\d+)-(\d+)$/.exec(id);
  return m ? { campaign: m[1] as string, experiment: Number(m[2]) } : undefined;
}

/** The run-name of the workflow (templates: `autoresearch experiment ${{ inputs.experiment }}`). */
export const RUN_NAME_PREFIX = "autoresearch experiment ";

/** A failed result for a run that could not be handed out, with the reason. */
export function notDispatched(reason: string): RunResult {
  return { status: "crash", metric: null, seconds: 0, exitCode: null, reason, tail: "" };
}

export class ActionsExecutor implements Executor {
  readonly leaseSeconds: number;

  constructor(
    private readonly gh: GitHubClient,
    private readonly where: RepoRef,
    private readonly repo: OctokitRepoHost,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.leaseSeconds = 2 * config.budget.experiment_timeout + QUEUE_ALLOWANCE_SECONDS;
  }

  async start(runs: RunSpec[], reporting: RunReporting): Promise<void> {
    // One dispatch per experiment commit: the workflow's matrix runs each seed.
    const groups = new Map<string, RunSpec[]>();
    for (const r of runs) {
      const key = `${r.experiment}:${r.commit}:${r.parent}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const specs of groups.values()) {
      const first = specs[0] as RunSpec;
      const branch = experimentBranch(first.campaign, first.experiment);
      const id = experimentId(first.campaign, first.experiment);
      try {
        // The dispatch's ref must be a branch at exactly this commit (the baseline's and a kept
        // best's runs have none of their own: one is made, and removed once their runs reported).
        await this.repo.setBranch(branch, first.commit, null);
        const { owner, repo } = this.where;
        const r = await this.gh.rest.actions.createWorkflowDispatch({
          owner,
          repo,
          workflow_id: this.config.runner.workflow,
          ref: branch,
          inputs: {
            experiment: id,
            seeds: JSON.stringify(specs.map((s) => s.seed)),
            runs_on: JSON.stringify(this.config.runner.runs_on),
            parent: first.parent,
          },
          return_run_details: true,
        });
        const details = (r.data ?? {}) as { workflow_run_id?: number; html_url?: string };
        this.logger.info("workflow dispatched", { experiment: id, seeds: specs.map((s) => s.seed), run: details.workflow_run_id, url: details.html_url });
        // Which workflow run holds these seeds: its completion is read for them only. (Without run
        // details, an older GitHub, the run's jobs say which seeds it ran: see results.ts.)
        if (typeof details.workflow_run_id === "number")
          reporting.dispatched?.(specs, { id: details.workflow_run_id, ...(details.html_url ? { url: details.html_url } : {}) });
      } catch (err) {
        const reason = `could not dispatch the workflow ${this.config.runner.workflow} on ${branch}: ${apiMessage(err)}`;
        this.logger.warn("dispatch failed", { experiment: id, reason });
        for (const spec of specs) reporting.report(spec, notDispatched(reason));
      }
    }
  }
}
