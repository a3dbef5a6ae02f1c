/**
 * Actions endpoints: workflows (found on the default branch), `workflow_dispatch`, runs (with the
 * listing filters the App uses), jobs, artifacts and their download (302 to a signed URL).
 */
import { HttpError, json, notFound, paginate, type Router, unprocessable } from "./http.js";
import type { FakeGitHub } from "./index.js";
import { artifact, job, workflow, workflowRun } from "./objects.js";
import type { RunRecord, WorkflowRecord } from "./state.js";
import { evaluate } from "./workflow.js";

/**
 * GitHub's `created` filter (search date syntax): `2024-01-01`, `>=2024-01-01T10:00:00Z`, `<...`,
 * `A..B` with `*` for an open end. Returns null when the value is not that syntax.
 */
export function createdFilter(q: string): ((iso: string) => boolean) | null {
  const t = (s: string, end: boolean) => {
    if (s === "*") return end ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
    const ms = Date.parse(dateOnly ? `${s}T00:00:00Z` : s);
    if (Number.isNaN(ms)) return Number.NaN;
    return dateOnly && end ? ms + 86_399_999 : ms;
  };
  const range = /^(.+)\.\.(.+)$/.exec(q);
  if (range) {
    const a = t(range[1] ?? "", false);
    const b = t(range[2] ?? "", true);
    if (Number.isNaN(a) || Number.isNaN(b)) return null;
    return (iso) => Date.parse(iso) >= a && Date.parse(iso) <= b;
  }
  const cmp = /^(>=|<=|>|<)(.+)$/.exec(q);
  if (cmp) {
    const op = cmp[1];
    const v = t(cmp[2] ?? "", op === ">" || op === "<=");
    if (Number.isNaN(v)) return null;
    return (iso) => {
      const x = Date.parse(iso);
      return op === ">=" ? x >= v : op === ">" ? x > v : op === "<=" ? x <= v : x < v;
    };
  }
  const a = t(q, false);
  const b = t(q, true);
  if (Number.isNaN(a)) return null;
  return (iso) => Date.parse(iso) >= a && Date.parse(iso) <= b;
}

const RUN_STATUSES = new Set(["queued", "pending", "in_progress", "completed", "requested", "waiting"]);

export function registerActionsRoutes(router: Router, gh: FakeGitHub): void {
  const { site, state } = gh;

  /** The workflow named by id or file name, if its file is on the default branch. */
  const findWorkflow = async (idOrFile: string): Promise<WorkflowRecord> => {
    const all = await gh.workflowsOnDefaultBranch();
    const w = all.find((x) => String(x.id) === idOrFile || x.path === `.github/workflows/${idOrFile}`);
    if (!w) throw notFound();
    return w;
  };

  router.add("GET", "/repos/{owner}/{repo}/actions/workflows", "installation", async (ctx) => {
    const all = await gh.workflowsOnDefaultBranch();
    const page = paginate(
      ctx,
      site.api,
      all.map((w) => workflow(site, w)),
    );
    return json(200, { total_count: all.length, workflows: page.items }, page.headers);
  });

  router.add("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}", "installation", async (ctx) =>
    json(200, workflow(site, await findWorkflow(ctx.params.workflow_id ?? ""))),
  );

  router.add("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", "installation", async (ctx) => {
    const w = await findWorkflow(ctx.params.workflow_id ?? "");
    const ref = String(ctx.body.ref);
    const branch = ref.replace(/^refs\/heads\//, "");
    await gh.control.runs.beforeDispatch?.({ ref, inputs: (ctx.body.inputs ?? {}) as Record<string, unknown> });
    const sha = await gh.git.resolveCommit(ref.startsWith("refs/") ? ref : `refs/heads/${ref}`);
    if (!sha) throw unprocessable(`No ref found for: ${ref}`);
    const text = await gh.fileAt(sha, w.path);
    if (text === null) throw new HttpError(404, `Workflow does not exist on ${ref}`);
    const wf = gh.parseWorkflow(text);
    if (!wf.dispatchable) throw unprocessable("Workflow does not have 'workflow_dispatch' trigger");
    const given: Record<string, unknown> = ctx.body.inputs ?? {};
    const unexpected = Object.keys(given).filter((k) => !wf.inputs.has(k));
    if (unexpected.length > 0) throw unprocessable(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    const inputs: Record<string, string> = {};
    for (const [name, spec] of wf.inputs) {
      const v = given[name];
      if (v === undefined || v === "") {
        if (spec.required && spec.default === undefined) throw unprocessable(`Required input '${name}' not provided`);
        if (spec.default !== undefined) inputs[name] = spec.default;
        continue;
      }
      inputs[name] = typeof v === "string" ? v : JSON.stringify(v);
      if (spec.options && !spec.options.includes(inputs[name]))
        throw unprocessable(`Provided value '${inputs[name]}' for input '${name}' not in the list of allowed values`);
    }
    const created = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
    const id = gh.nextId();
    const run: RunRecord = {
      id,
      workflow_id: w.id,
      run_number: w.next_run_number++,
      run_attempt: 1,
      display_title: "",
      head_branch: branch,
      head_sha: sha,
      event: "workflow_dispatch",
      status: "queued",
      conclusion: null,
      inputs,
      actor: gh.botLogin,
      created_at: created,
      updated_at: created,
      run_started_at: created,
      concurrency_group: null,
      t_created: performance.now(),
      jobs: [],
      check_suite_id: gh.nextId(),
    };
    const exprCtx = {
      inputs,
      matrix: {},
      github: { ref: `refs/heads/${branch}`, ref_name: branch, sha, actor: run.actor, event_name: run.event, run_id: String(id) },
    };
    const unknown = (e: string) => gh.problem("suspicious", ctx.method, ctx.path, `the fake cannot evaluate \${{ ${e} }} in ${w.path}`);
    run.display_title = wf.runName ? evaluate(wf.runName, exprCtx, unknown) : (wf.name ?? w.path);
    run.concurrency_group = wf.concurrencyGroup ? evaluate(wf.concurrencyGroup, exprCtx, unknown) : null;
    state.runs.push(run);
    gh.actions.start(run, wf);
    if (ctx.body.return_run_details === true && gh.actions.dispatchResponse === "as-requested") {
      return json(200, {
        workflow_run_id: id,
        run_url: `${site.api}/repos/${site.owner}/${site.repo}/actions/runs/${id}`,
        html_url: `${site.web}/${site.owner}/${site.repo}/actions/runs/${id}`,
      });
    }
    return json(204);
  });

  const listRuns = async (ctx: Parameters<Parameters<Router["add"]>[3]>[0], workflowId: number | null) => {
    const q = ctx.query;
    const t = performance.now();
    let runs = state.runs.filter((r) => t - r.t_created >= gh.actions.runAppearsAfterMs && (workflowId === null || r.workflow_id === workflowId));
    const branch = q.get("branch");
    if (branch !== null) runs = runs.filter((r) => r.head_branch === branch);
    const event = q.get("event");
    if (event !== null) runs = runs.filter((r) => r.event === event);
    const actor = q.get("actor");
    if (actor !== null) runs = runs.filter((r) => r.actor === actor);
    const headSha = q.get("head_sha");
    if (headSha !== null) runs = runs.filter((r) => r.head_sha === headSha);
    const suite = q.get("check_suite_id");
    if (suite !== null) runs = runs.filter((r) => String(r.check_suite_id) === suite);
    const status = q.get("status");
    if (status !== null) runs = runs.filter((r) => (RUN_STATUSES.has(status) ? r.status === status : r.conclusion === status));
    const created = q.get("created");
    if (created !== null) {
      const f = createdFilter(created);
      if (!f) gh.problem("suspicious", ctx.method, ctx.path, `created=${created} is not GitHub's date syntax (the fake ignores it)`);
      else runs = runs.filter((r) => f(r.created_at));
    }
    runs = [...runs].sort((a, b) => b.id - a.id);
    const page = paginate(ctx, site.api, runs);
    const items = await Promise.all(page.items.map(async (r) => workflowRun(site, state, r, await gh.git.readCommit(r.head_sha))));
    return json(200, { total_count: runs.length, workflow_runs: items }, page.headers);
  };

  router.add("GET", "/repos/{owner}/{repo}/actions/runs", "installation", (ctx) => listRuns(ctx, null));

  router.add("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", "installation", async (ctx) =>
    listRuns(ctx, (await findWorkflow(ctx.params.workflow_id ?? "")).id),
  );

  const findRun = (id: string | undefined) => {
    const r = state.runs.find((x) => x.id === Number(id));
    if (!r) throw notFound();
    return r;
  };

  router.add("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}", "installation", async (ctx) => {
    const r = findRun(ctx.params.run_id);
    return json(200, workflowRun(site, state, r, await gh.git.readCommit(r.head_sha)));
  });

  router.add("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", "installation", (ctx) => {
    const r = findRun(ctx.params.run_id);
    const page = paginate(
      ctx,
      site.api,
      r.jobs.map((j) => job(site, state, r, j)),
    );
    return json(200, { total_count: r.jobs.length, jobs: page.items }, page.headers);
  });

  router.add("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", "installation", (ctx) => {
    const r = findRun(ctx.params.run_id);
    const name = ctx.query.get("name");
    const list = state.artifacts.filter((a) => a.run_id === r.id && a.finalized && (name === null || a.name === name));
    const page = paginate(
      ctx,
      site.api,
      list.map((a) => artifact(site, a, r)),
    );
    return json(200, { total_count: list.length, artifacts: page.items }, page.headers);
  });

  router.add("GET", "/repos/{owner}/{repo}/actions/artifacts", "installation", (ctx) => {
    const name = ctx.query.get("name");
    const list = state.artifacts.filter((a) => a.finalized && (name === null || a.name === name)).sort((a, b) => b.id - a.id);
    const page = paginate(
      ctx,
      site.api,
      list.map((a) => artifact(site, a, findRun(String(a.run_id)))),
    );
    return json(200, { total_count: list.length, artifacts: page.items }, page.headers);
  });

  const findArtifact = (id: string | undefined) => {
    const a = state.artifacts.find((x) => x.id === Number(id) && x.finalized);
    if (!a) throw notFound();
    return a;
  };

  router.add("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}", "installation", (ctx) => {
    const a = findArtifact(ctx.params.artifact_id);
    return json(200, artifact(site, a, findRun(String(a.run_id))));
  });

  router.add("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", "installation", (ctx) => {
    if (ctx.params.archive_format !== "zip") throw notFound();
    const a = findArtifact(ctx.params.artifact_id);
    return { status: 302, headers: { location: gh.artifactsService.downloadUrl(a.id) } };
  });
}
