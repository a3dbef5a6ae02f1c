// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are GitHub Actions expressions, not template strings
/**
 * Actions through a real Octokit: a dispatch of the workflow template runs the real bundled Action
 * on a checkout of the experiment branch, its result.json comes back as a downloadable artifact
 * zip, and signed workflow_run webhooks report the run. Knobs: the dispatch answer, a listing that
 * lags, a run that fails before its upload, a fleet of N runners.
 */
import { readFileSync } from "node:fs";
import type { Octokit } from "@octokit/rest";
import { unzipSync } from "fflate";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseExperimentResult } from "../../../src/core/result.js";
import { ensureBundled } from "../../action/helpers.js";
import { allBusyShare, type FakeGitHub, startFakeGitHub } from "./index.js";
import { createdFilter } from "./routes-actions.js";
import { installationOctokit, type Receiver, startReceiver } from "./testing.js";

const TEMPLATE = readFileSync("templates/workflows/autoresearch.yml", "utf8");
/**
 * The template with the optional `parent` input the App passes (a full commit id) and hands to
 * the Action; as it stands when the template has them already.
 */
const WITH_PARENT = /^ {6}parent:$/m.test(TEMPLATE)
  ? TEMPLATE
  : TEMPLATE.replace(
      "      runs_on:\n",
      '      parent:\n        description: Parent commit\n        type: string\n        required: false\n        default: ""\n      runs_on:\n',
    ).replace("          seed: ${{ matrix.seed }}\n", "          seed: ${{ matrix.seed }}\n          parent: ${{ inputs.parent }}\n");

let gh: FakeGitHub;
let o: Octokit;
let app: Receiver;
const where = { owner: "octo-org", repo: "tiny" };

beforeAll(async () => {
  ensureBundled();
  app = await startReceiver();
  gh = await startFakeGitHub({
    seedDir: "examples/tiny-regression",
    seedFiles: { ".github/workflows/autoresearch.yml": WITH_PARENT, ".github/workflows/plain.yml": TEMPLATE },
    webhook: { url: app.url, secret: app.secret },
    runners: 2,
  });
  o = await installationOctokit(gh);
});
afterAll(async () => {
  await gh?.close();
  await app?.close();
});
afterEach(async () => {
  gh.control.runs.release();
  await gh.idle();
  const problems = gh.problems.splice(0);
  const received = app.received.splice(0);
  expect(problems).toEqual([]);
  expect(received.every((r) => r.verified)).toBe(true);
});

const status = async (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { status: number; response?: { data?: { message?: string } } }) => `${e.status} ${e.response?.data?.message ?? ""}`,
  );

let experiments = 0;
/** An experiment branch `autoresearch/1/<n>`: main with train.mjs's learning rate changed. */
async function experimentBranch(
  edit = (s: string) => s.replace("const LEARNING_RATE = 0.002;", "const LEARNING_RATE = 0.02;"),
  more: Record<string, string> = {},
): Promise<{ branch: string; sha: string; parent: string }> {
  const n = ++experiments;
  const parent = (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
  const tree = (await o.rest.git.getCommit({ ...where, commit_sha: parent })).data.tree.sha;
  const train = edit(readFileSync("examples/tiny-regression/train.mjs", "utf8"));
  const files = { "train.mjs": train, ...more };
  const entries = Object.entries(files).map(([path, content]) => ({ path, mode: "100644" as const, type: "blob" as const, content }));
  const t = await o.rest.git.createTree({ ...where, base_tree: tree, tree: entries });
  const c = await o.rest.git.createCommit({ ...where, message: `experiment ${n}`, tree: t.data.sha, parents: [parent] });
  const branch = `autoresearch/1/${n}`;
  await o.rest.git.createRef({ ...where, ref: `refs/heads/${branch}`, sha: c.data.sha });
  return { branch, sha: c.data.sha, parent };
}

async function completed(runId: number) {
  await gh.waitFor(() => gh.state.runs.find((r) => r.id === runId)?.status === "completed", 90_000, `run ${runId} to complete`);
  await gh.idle();
  return (await o.rest.actions.getWorkflowRun({ ...where, run_id: runId })).data;
}

describe("workflows", () => {
  it("finds a workflow by file name or id on the default branch, and 404s otherwise", async () => {
    const w = await o.rest.actions.getWorkflow({ ...where, workflow_id: "autoresearch.yml" });
    expect(w.data).toMatchObject({ name: "autoresearch", path: ".github/workflows/autoresearch.yml", state: "active" });
    expect((await o.rest.actions.getWorkflow({ ...where, workflow_id: w.data.id })).data.id).toBe(w.data.id);
    expect(await status(o.rest.actions.getWorkflow({ ...where, workflow_id: "missing.yml" }))).toMatch(/^404/);
    const all = await o.rest.actions.listRepoWorkflows(where);
    expect(all.data.workflows.map((x) => x.path).sort()).toEqual([".github/workflows/autoresearch.yml", ".github/workflows/plain.yml"]);
  });

  it("refuses dispatches GitHub refuses: unknown ref, unexpected or missing inputs", async () => {
    const d = (ref: string, inputs: Record<string, string>) =>
      status(o.rest.actions.createWorkflowDispatch({ ...where, workflow_id: "plain.yml", ref, inputs }));
    expect(await d("no-such-branch", { experiment: "x", seeds: "[1]" })).toBe("422 No ref found for: no-such-branch");
    expect(await d("main", { experiment: "x", seeds: "[1]", bogus: "abc" })).toBe('422 Unexpected inputs provided: ["bogus"]');
    expect(await d("main", { seeds: "[1]" })).toBe("422 Required input 'experiment' not provided");
    expect(gh.state.runs).toEqual([]);
  });
});

describe("a dispatched run", () => {
  it("runs the bundled Action per seed on the experiment commit and serves result.json as an artifact zip", async () => {
    const exp = await experimentBranch();
    const d = await o.rest.actions.createWorkflowDispatch({
      ...where,
      workflow_id: "autoresearch.yml",
      ref: exp.branch,
      inputs: { experiment: "1-1", seeds: "[1,2]", parent: exp.parent },
      return_run_details: true,
    });
    expect(d.status).toBe(200);
    const details = d.data as unknown as { workflow_run_id: number; run_url: string; html_url: string };
    expect(details.run_url).toBe(`${gh.apiUrl}/repos/octo-org/tiny/actions/runs/${details.workflow_run_id}`);
    const run = await completed(details.workflow_run_id);
    const record = gh.state.runs.find((r) => r.id === details.workflow_run_id);
    expect(run, JSON.stringify(record?.jobs.map((j) => ({ failure: j.failure, stdout: j.stdout.slice(-2000), stderr: j.stderr.slice(-2000) })))).toMatchObject({
      status: "completed",
      conclusion: "success",
      display_title: "autoresearch experiment 1-1",
      head_branch: exp.branch,
      head_sha: exp.sha,
      event: "workflow_dispatch",
      path: ".github/workflows/autoresearch.yml@autoresearch/1/1",
    });
    expect(record?.jobs.map((j) => j.name)).toEqual(["seed 1", "seed 2"]);

    const arts = await o.paginate(o.rest.actions.listWorkflowRunArtifacts, { ...where, run_id: run.id, per_page: 100 });
    expect(arts.map((a) => a.name).sort()).toEqual(["autoresearch-result-1-1-1", "autoresearch-result-1-1-2"]);
    for (const a of arts) {
      expect(a.workflow_run).toMatchObject({ id: run.id, head_branch: exp.branch, head_sha: exp.sha });
      const zip = await o.rest.actions.downloadArtifact({ ...where, artifact_id: a.id, archive_format: "zip" });
      expect(zip.status).toBe(200);
      const files = unzipSync(new Uint8Array(zip.data as ArrayBuffer));
      expect(Object.keys(files)).toEqual(["result.json"]);
      const result = parseExperimentResult(new TextDecoder().decode(files["result.json"]));
      expect(result).toMatchObject({ experiment: "1-1", commit: exp.sha, parent: exp.parent, status: "ok" });
      expect(result.seed).toBe(a.name.endsWith("-1") ? 1 : 2);
      expect(result.metric).toBeGreaterThan(0);
      expect(result.runner.name).toMatch(/^fake-runner-\d$/);
    }
    // The 302 goes to a signed URL on the same server, which needs no token.
    const redirect = gh.calls.find((c) => c.operationId === "actions/download-artifact");
    expect(redirect?.status).toBe(302);

    const hooks = app.received
      .filter((r) => r.event === "workflow_run")
      .map((r) => r.payload as { action: string; workflow_run: { id: number; status: string; conclusion: string | null } });
    expect(hooks.map((h) => `${h.action} ${h.workflow_run.status} ${h.workflow_run.conclusion}`)).toEqual([
      "requested queued null",
      "in_progress in_progress null",
      "completed completed success",
    ]);
    expect(hooks.every((h) => h.workflow_run.id === run.id)).toBe(true);
  });

  it("runs the Action's surface check: an experiment that touches a locked file is rejected, and says so in its result", async () => {
    const exp = await experimentBranch(undefined, { "eval.mjs": "console.log('val_loss: 0');\n" });
    const d = await o.rest.actions.createWorkflowDispatch({
      ...where,
      workflow_id: "autoresearch.yml",
      ref: exp.branch,
      inputs: { experiment: "1-9", seeds: "[1]", parent: exp.parent },
      return_run_details: true,
    });
    const run = await completed((d.data as unknown as { workflow_run_id: number }).workflow_run_id);
    const arts = (await o.rest.actions.listWorkflowRunArtifacts({ ...where, run_id: run.id })).data.artifacts;
    expect(arts.map((a) => a.name)).toEqual(["autoresearch-result-1-9-1"]);
    const zip = await o.rest.actions.downloadArtifact({ ...where, artifact_id: arts[0]?.id ?? 0, archive_format: "zip" });
    const result = parseExperimentResult(new TextDecoder().decode(unzipSync(new Uint8Array(zip.data as ArrayBuffer))["result.json"]));
    expect(result).toMatchObject({ status: "rejected", commit: exp.sha, parent: exp.parent, metric: null });
    expect(result.reason).toContain("eval.mjs");
  });

  it("fails a job whose parent is not in the depth-2 checkout, with the Action's message", async () => {
    const first = await experimentBranch();
    // A second commit on the branch: the dispatch's parent (main) is now two commits back.
    const tree = (await o.rest.git.getCommit({ ...where, commit_sha: first.sha })).data.tree.sha;
    const c = await o.rest.git.createCommit({ ...where, message: "second", tree, parents: [first.sha] });
    await o.rest.git.updateRef({ ...where, ref: `heads/${first.branch}`, sha: c.data.sha, force: false });
    const d = await o.rest.actions.createWorkflowDispatch({
      ...where,
      workflow_id: "autoresearch.yml",
      ref: first.branch,
      inputs: { experiment: "1-10", seeds: "[1]", parent: first.parent },
      return_run_details: true,
    });
    const run = await completed((d.data as unknown as { workflow_run_id: number }).workflow_run_id);
    expect(run.conclusion).toBe("failure");
    expect(gh.state.runs.find((r) => r.id === run.id)?.jobs[0]?.stdout).toContain(`the parent "${first.parent}" is not in the checkout`);
  });

  it("answers 204 without run details, and the run shows in the listing (after a lag) under its run-name", async () => {
    const exp = await experimentBranch();
    gh.control.runs.runAppearsAfterMs = 1500;
    gh.control.runs.hold();
    try {
      const d = await o.rest.actions.createWorkflowDispatch({
        ...where,
        workflow_id: "plain.yml",
        ref: exp.branch,
        inputs: { experiment: "1-2", seeds: "[3]" },
      });
      expect(d.status).toBe(204);
      const list = () =>
        o.rest.actions.listWorkflowRunsForRepo({
          ...where,
          branch: exp.branch,
          event: "workflow_dispatch",
          created: `>=${new Date(Date.now() - 60_000).toISOString()}`,
        });
      expect((await list()).data.total_count).toBe(0);
      await new Promise((r) => setTimeout(r, 1600));
      const found = (await list()).data.workflow_runs.find((r) => r.display_title === "autoresearch experiment 1-2");
      expect(found).toMatchObject({ status: "queued", head_sha: exp.sha });
      // A run that is held never starts: it stays queued, and idle() does not wait for it.
      expect((await o.rest.actions.listWorkflowRunsForRepo({ ...where, status: "queued" })).data.workflow_runs.map((r) => r.id)).toContain(found?.id);
      await gh.idle();
      expect(gh.state.runs.find((r) => r.id === found?.id)?.status).toBe("queued");
      // The mode for a GitHub that does not return details: 204 even when asked.
      gh.control.runs.dispatchResponse = "no-content";
      const again = await o.rest.actions.createWorkflowDispatch({
        ...where,
        workflow_id: "plain.yml",
        ref: exp.branch,
        inputs: { experiment: "1-2b", seeds: "[3]" },
        return_run_details: true,
      });
      expect(again.status).toBe(204);
    } finally {
      gh.control.runs.runAppearsAfterMs = 0;
      gh.control.runs.dispatchResponse = "as-requested";
      gh.control.runs.release();
    }
    await gh.idle();
    expect(gh.state.runs.filter((r) => r.head_branch === exp.branch).map((r) => r.conclusion)).toEqual(["success", "success"]);
  });

  it("fails a run before its upload when told to: conclusion failure, no artifact, the webhook says so", async () => {
    const exp = await experimentBranch();
    gh.control.runs.fail({ title: "experiment 1-3" });
    const d = await o.rest.actions.createWorkflowDispatch({
      ...where,
      workflow_id: "plain.yml",
      ref: exp.branch,
      inputs: { experiment: "1-3", seeds: "[1]" },
      return_run_details: true,
    });
    const id = (d.data as unknown as { workflow_run_id: number }).workflow_run_id;
    const run = await completed(id);
    expect(run.conclusion).toBe("failure");
    expect((await o.rest.actions.listWorkflowRunArtifacts({ ...where, run_id: id })).data.total_count).toBe(0);
    const last = app.received.filter((r) => r.event === "workflow_run").at(-1)?.payload as { action: string; workflow_run: { conclusion: string } };
    expect(last).toMatchObject({ action: "completed", workflow_run: { conclusion: "failure" } });
    expect(gh.state.runs.find((r) => r.id === id)?.jobs[0]?.failure).toMatch(/injected/);
  });

  it("drops a run's completed webhook when told to, so only a listing finds it", async () => {
    const exp = await experimentBranch();
    gh.control.webhooks.drop({ event: "workflow_run", action: "completed" });
    gh.control.runs.executor = async ({ upload }) => {
      await upload("autoresearch-result-1-4-1", { "result.json": "{}" });
      return { ok: true };
    };
    try {
      await o.rest.actions.createWorkflowDispatch({ ...where, workflow_id: "plain.yml", ref: exp.branch, inputs: { experiment: "1-4", seeds: "[1]" } });
      await gh.idle();
    } finally {
      gh.control.runs.executor = null;
    }
    expect(app.received.filter((r) => r.event === "workflow_run").map((r) => r.payload.action)).toEqual(["requested", "in_progress"]);
    expect(gh.state.deliveries.filter((d) => d.outcome === "dropped").map((d) => `${d.event}.${d.action}`)).toEqual(["workflow_run.completed"]);
    const listed = await o.rest.actions.listWorkflowRunsForRepo({ ...where, branch: exp.branch, status: "completed" });
    expect(listed.data.workflow_runs.map((r) => r.conclusion)).toEqual(["success"]);
  });
});

describe("the fleet", () => {
  it("runs jobs of several dispatches in parallel, never more than N at once", async () => {
    gh.control.runs.runners = 2;
    gh.control.runs.executor = async ({ job, upload }) => {
      await new Promise((r) => setTimeout(r, 300));
      await upload(`autoresearch-result-fleet-${String(job.seed)}`, { "result.json": JSON.stringify({ seed: job.seed }) });
      return { ok: true };
    };
    try {
      const exp = await experimentBranch();
      const ids: number[] = [];
      // Both runs wait until both are dispatched, so the fleet has four jobs to take at once.
      gh.control.runs.hold();
      for (const e of ["f1", "f2"]) {
        const d = await o.rest.actions.createWorkflowDispatch({
          ...where,
          workflow_id: "plain.yml",
          ref: exp.branch,
          inputs: { experiment: e, seeds: "[1,2]" },
          return_run_details: true,
        });
        ids.push((d.data as unknown as { workflow_run_id: number }).workflow_run_id);
      }
      gh.control.runs.release();
      await gh.idle();
      const jobs = gh.state.runs.filter((r) => ids.includes(r.id)).flatMap((r) => r.jobs);
      expect(jobs).toHaveLength(4);
      const events = jobs.flatMap((j) => [
        { t: j.t_start ?? 0, d: 1 },
        { t: j.t_end ?? 0, d: -1 },
      ]);
      events.sort((a, b) => a.t - b.t || a.d - b.d);
      let busy = 0;
      let peak = 0;
      for (const e of events) {
        busy += e.d;
        peak = Math.max(peak, busy);
      }
      expect(peak).toBe(2);
      const from = Math.min(...jobs.map((j) => j.t_start ?? 0));
      const to = Math.max(...jobs.map((j) => j.t_end ?? 0));
      // Four 300 ms jobs on two runners: both busy nearly all the time.
      expect(allBusyShare(jobs, 2, from, to)).toBeGreaterThan(0.7);
      expect(new Set(jobs.map((j) => j.runner))).toEqual(new Set(["fake-runner-1", "fake-runner-2"]));
      expect(gh.state.runs.filter((r) => ids.includes(r.id)).map((r) => r.conclusion)).toEqual(["success", "success"]);
    } finally {
      gh.control.runs.executor = null;
    }
  });

  it("queues a duplicate dispatch of one concurrency group behind the first", async () => {
    gh.control.runs.executor = async () => {
      await new Promise((r) => setTimeout(r, 200));
      return { ok: true };
    };
    try {
      const exp = await experimentBranch();
      for (let i = 0; i < 2; i++)
        await o.rest.actions.createWorkflowDispatch({ ...where, workflow_id: "plain.yml", ref: exp.branch, inputs: { experiment: "dup", seeds: "[1]" } });
      await gh.idle();
      const [a, b] = gh.state.runs.filter((r) => r.display_title === "autoresearch experiment dup");
      expect(a?.concurrency_group).toBe("autoresearch-dup-[1]");
      expect((b?.jobs[0]?.t_start ?? 0) >= (a?.jobs[0]?.t_end ?? Number.POSITIVE_INFINITY)).toBe(true);
    } finally {
      gh.control.runs.executor = null;
    }
  });
});

it.each([
  ["one runner busy all along", [[0, 10]], 1, 10, 1],
  [
    "two runners together from 5 to 10 of 15",
    [
      [0, 10],
      [5, 15],
    ],
    2,
    15,
    5 / 15,
  ],
  [
    "two runners never together",
    [
      [0, 5],
      [5, 10],
    ],
    2,
    10,
    0,
  ],
  [
    "a job before the window counts nothing",
    [
      [-10, -5],
      [0, 5],
    ],
    1,
    10,
    0.5,
  ],
  ["a job longer than the window is clipped", [[-5, 25]], 1, 20, 1],
] as const)("runner utilization: %s", (_what, spans, runners, to, share) => {
  expect(
    allBusyShare(
      spans.map(([a, b]) => ({ t_start: a, t_end: b })),
      runners,
      0,
      to,
    ),
  ).toBeCloseTo(share);
});

it.each([
  ["2024-05-01", "2024-05-01T12:00:00Z", true],
  ["2024-05-01", "2024-05-02T00:00:00Z", false],
  [">=2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", true],
  [">2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", false],
  ["<2024-05-01", "2024-04-30T23:59:59Z", true],
  ["2024-05-01..2024-05-03", "2024-05-03T23:00:00Z", true],
  ["2024-05-01..*", "2030-01-01T00:00:00Z", true],
  ["*..2024-05-01", "2024-05-02T00:00:00Z", false],
])("the runs listing's created=%s filter keeps %s: %s", (q, at, keep) => {
  expect(createdFilter(q)?.(at)).toBe(keep);
});
