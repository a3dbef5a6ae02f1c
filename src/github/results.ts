/**
 * Reading the results of a workflow run: which campaign and experiment it belongs to (its
 * run-name and branch, checked against the ledger), and each seed's `result.json` from its
 * artifact (a zip), validated with the schema the Action writes. Anything wrong is a failed run
 * with a reason a user can act on, never a throw that loses the other seeds.
 */
import { unzipSync } from "fflate";
import { campaignBranch, experimentBranch } from "../core/names.js";
import { parseExperimentResult } from "../core/result.js";
import type { RunResult, RunSpec } from "../ports.js";
import { apiMessage, call, type GitHubClient, type RepoRef } from "./client.js";
import { experimentId, parseExperimentId, RUN_NAME_PREFIX } from "./executor.js";

/** What the App reads of a workflow run (the `workflow_run` of a webhook or of the runs API). */
export interface WorkflowRunInfo {
  id: number;
  html_url: string;
  head_sha: string;
  head_branch: string | null;
  display_title: string;
  status: string | null;
  conclusion: string | null;
}

/** Largest artifact the App downloads (a result.json is a few kilobytes). */
export const MAX_ARTIFACT_BYTES = 1024 * 1024;

/** The artifact of one seed, as the Action names it by default. */
export function artifactName(campaign: string, experiment: number, seed: number): string {
  return `autoresearch-result-${experimentId(campaign, experiment)}-${seed}`;
}

/**
 * The campaign and experiment a workflow run claims to be (from its run-name), or why it is not
 * one of the App's: its branch must be the experiment's branch or the campaign's best branch (the
 * ledger then says whether its commit is one the campaign handed out).
 */
export function identifyRun(run: WorkflowRunInfo): { campaign: string; experiment: number } | { ignore: string } {
  if (!run.display_title.startsWith(RUN_NAME_PREFIX)) return { ignore: "not an autoresearch experiment run" };
  const id = parseExperimentId(run.display_title.slice(RUN_NAME_PREFIX.length).trim());
  if (!id) return { ignore: `its run-name ${JSON.stringify(run.display_title.slice(0, 80))} has no experiment id the App makes` };
  const branch = experimentBranch(id.campaign, id.experiment);
  // (the baseline's and a new best's extra runs are dispatched on the campaign's best branch)
  if (run.head_branch !== branch && run.head_branch !== campaignBranch(id.campaign))
    return { ignore: `it ran on ${JSON.stringify(run.head_branch)}, not on the experiment's branch ${branch}` };
  return id;
}

/**
 * The seeds a workflow run ran, from its jobs' names (`seed 3`, as the templates name the matrix
 * jobs): for a run whose dispatch gave no run details. Undefined when no job name says.
 */
export async function seedsOfRun(gh: GitHubClient, where: RepoRef, runId: number): Promise<number[] | undefined> {
  const jobs = await call(`list the jobs of run ${runId}`, () =>
    gh.paginate(gh.rest.actions.listJobsForWorkflowRun, { ...where, run_id: runId, per_page: 100 }),
  );
  const seeds = jobs.flatMap((j) => {
    const m = /\bseed (-?\d+)\b/.exec(j.name);
    return m ? [Number(m[1])] : [];
  });
  return seeds.length ? [...new Set(seeds)] : undefined;
}

/** A failed result with a reason (the run's page linked). */
function failed(reason: string, url: string): RunResult & { url: string } {
  return { status: "crash", metric: null, seconds: 0, exitCode: null, reason, tail: "", url };
}

/**
 * The result of each expected seed of `run` (every spec is on the run's commit). A seed without an
 * artifact, an artifact that is not a zip, or a result.json that fails the schema or names another
 * experiment, commit or seed is a failed run with that reason.
 */
export async function readResults(
  gh: GitHubClient,
  where: RepoRef,
  run: WorkflowRunInfo,
  specs: readonly RunSpec[],
): Promise<Map<RunSpec, RunResult & { url: string }>> {
  const out = new Map<RunSpec, RunResult & { url: string }>();
  if (specs.length === 0) return out;
  const { owner, repo } = where;
  const artifacts = await call(`list the artifacts of run ${run.id}`, () =>
    gh.paginate(gh.rest.actions.listWorkflowRunArtifacts, { owner, repo, run_id: run.id, per_page: 100 }),
  );
  await Promise.all(
    specs.map(async (spec) => {
      const name = artifactName(spec.campaign, spec.experiment, spec.seed);
      const artifact = artifacts.find((a) => a.name === name && !a.expired);
      if (!artifact) {
        out.set(spec, failed(`the workflow run ended (${run.conclusion ?? run.status ?? "unknown"}) without the artifact ${name}: see its log`, run.html_url));
        return;
      }
      if (artifact.size_in_bytes > MAX_ARTIFACT_BYTES) {
        out.set(spec, failed(`the artifact ${name} is ${artifact.size_in_bytes} bytes, more than a result can be (${MAX_ARTIFACT_BYTES})`, run.html_url));
        return;
      }
      let zip: Uint8Array;
      try {
        const r = await gh.rest.actions.downloadArtifact({ owner, repo, artifact_id: artifact.id, archive_format: "zip" });
        zip = new Uint8Array(r.data as ArrayBuffer);
      } catch (err) {
        out.set(spec, failed(`could not download the artifact ${name}: ${apiMessage(err)}`, run.html_url));
        return;
      }
      out.set(spec, resultFromZip(zip, name, spec, run.html_url));
    }),
  );
  return out;
}

/** The result in an artifact's zip, checked against the run it must be. */
export function resultFromZip(zip: Uint8Array, name: string, spec: RunSpec, url: string): RunResult & { url: string } {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => f.name === "result.json" && f.originalSize <= MAX_ARTIFACT_BYTES });
  } catch (err) {
    return failed(`the artifact ${name} is not a zip archive (${(err as Error).message})`, url);
  }
  const file = files["result.json"];
  if (!file) return failed(`the artifact ${name} has no result.json`, url);
  let result: ReturnType<typeof parseExperimentResult>;
  try {
    result = parseExperimentResult(Buffer.from(file).toString("utf8"));
  } catch (err) {
    return failed(`the artifact ${name}: ${(err as Error).message}`, url);
  }
  const id = experimentId(spec.campaign, spec.experiment);
  const mismatch =
    result.experiment !== id
      ? `experiment ${result.experiment}, not ${id}`
      : result.seed !== spec.seed
        ? `seed ${result.seed}, not ${spec.seed}`
        : result.commit !== spec.commit
          ? `commit ${result.commit.slice(0, 12)}, not the experiment's ${spec.commit.slice(0, 12)}`
          : result.parent !== spec.parent
            ? `parent ${result.parent.slice(0, 12)}, not ${spec.parent.slice(0, 12)}`
            : undefined;
  if (mismatch) return failed(`the artifact ${name} holds the result of ${mismatch}`, url);
  return {
    status: result.status,
    metric: result.status === "ok" ? result.metric : null,
    seconds: result.seconds,
    exitCode: result.exit_code,
    reason: result.reason,
    tail: result.tail,
    url,
    ...(result.isolation === undefined ? {} : { isolation: result.isolation }),
    ...(result.status === "ok" && result.guards ? { guards: result.guards } : {}),
  };
}
