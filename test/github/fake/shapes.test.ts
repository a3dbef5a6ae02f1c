/**
 * Every endpoint the fake serves, called once through Octokit: each answer is checked against
 * GitHub's description, so no response shape of the fake goes unchecked.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./index.js";
import { appOctokit, installationOctokit } from "./testing.js";

let gh: FakeGitHub;

beforeAll(async () => {
  gh = await startFakeGitHub({
    seedFiles: { "a.txt": "a\n", ".github/workflows/w.yml": "name: w\non:\n  workflow_dispatch:\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps: []\n" },
  });
});
afterAll(async () => {
  await gh?.close();
});

it("answers every endpoint it serves in GitHub's shape", async () => {
  const where = { owner: "octo-org", repo: "tiny" };
  const app = appOctokit(gh);
  const o = await installationOctokit(gh);
  await app.rest.apps.getAuthenticated();
  await app.rest.apps.listInstallations();
  await app.rest.apps.getInstallation({ installation_id: gh.installationId });
  await app.rest.apps.getRepoInstallation(where);
  await o.rest.apps.listReposAccessibleToInstallation();
  await o.rest.repos.get(where);
  await o.rest.repos.getContent({ ...where, path: "a.txt" });
  await o.rest.repos.getCollaboratorPermissionLevel({ ...where, username: "mona" });

  const main = (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
  await o.rest.git.listMatchingRefs({ ...where, ref: "heads/" });
  const commit = await o.rest.git.getCommit({ ...where, commit_sha: main });
  const tree = await o.rest.git.getTree({ ...where, tree_sha: commit.data.tree.sha });
  const blob = await o.rest.git.createBlob({ ...where, content: "b\n" });
  await o.rest.git.getBlob({ ...where, file_sha: tree.data.tree.find((e) => e.type === "blob")?.sha ?? "" });
  const t = await o.rest.git.createTree({
    ...where,
    base_tree: commit.data.tree.sha,
    tree: [{ path: "b.txt", mode: "100644", type: "blob", sha: blob.data.sha }],
  });
  const c = await o.rest.git.createCommit({ ...where, message: "b", tree: t.data.sha, parents: [main] });
  await o.rest.git.createRef({ ...where, ref: "refs/heads/b", sha: main });
  await o.rest.git.updateRef({ ...where, ref: "heads/b", sha: c.data.sha });
  await o.rest.repos.compareCommitsWithBasehead({ ...where, basehead: "main...b" });

  await o.rest.issues.createLabel({ ...where, name: "autoresearch", color: "0e8a16" });
  await o.rest.issues.listLabelsForRepo(where);
  await o.rest.issues.getLabel({ ...where, name: "autoresearch" });
  const issue = await o.rest.issues.create({ ...where, title: "t", labels: ["autoresearch"] });
  const n = issue.data.number;
  await o.rest.issues.get({ ...where, issue_number: n });
  await o.rest.issues.update({ ...where, issue_number: n, body: "b" });
  await o.rest.issues.listForRepo(where);
  await o.rest.issues.addLabels({ ...where, issue_number: n, labels: ["x"] });
  await o.rest.issues.listLabelsOnIssue({ ...where, issue_number: n });
  await o.rest.issues.removeLabel({ ...where, issue_number: n, name: "x" });
  await o.rest.reactions.createForIssue({ ...where, issue_number: n, content: "eyes" });
  const comment = await o.rest.issues.createComment({ ...where, issue_number: n, body: "c" });
  await o.rest.issues.getComment({ ...where, comment_id: comment.data.id });
  await o.rest.issues.updateComment({ ...where, comment_id: comment.data.id, body: "d" });
  await o.rest.issues.listComments({ ...where, issue_number: n });
  await o.rest.issues.listCommentsForRepo(where);
  await o.rest.reactions.createForIssueComment({ ...where, comment_id: comment.data.id, content: "rocket" });
  await o.rest.reactions.listForIssueComment({ ...where, comment_id: comment.data.id });
  await o.rest.issues.deleteComment({ ...where, comment_id: comment.data.id });

  const pr = await o.rest.pulls.create({ ...where, head: "b", base: "main", title: "p" });
  await o.rest.pulls.get({ ...where, pull_number: pr.data.number });
  await o.rest.pulls.update({ ...where, pull_number: pr.data.number, body: "q" });
  await o.rest.pulls.list({ ...where, head: "octo-org:b" });
  await o.rest.git.deleteRef({ ...where, ref: "heads/b" });

  gh.control.runs.executor = async ({ upload }) => {
    await upload("out", { "result.json": "{}" });
    return { ok: true };
  };
  await o.rest.actions.listRepoWorkflows(where);
  await o.rest.actions.getWorkflow({ ...where, workflow_id: "w.yml" });
  const d = await o.rest.actions.createWorkflowDispatch({ ...where, workflow_id: "w.yml", ref: "main", return_run_details: true });
  await gh.idle();
  const runId = (d.data as unknown as { workflow_run_id: number }).workflow_run_id;
  await o.rest.actions.listWorkflowRunsForRepo(where);
  await o.rest.actions.listWorkflowRuns({ ...where, workflow_id: "w.yml" });
  await o.rest.actions.getWorkflowRun({ ...where, run_id: runId });
  await o.rest.actions.listJobsForWorkflowRun({ ...where, run_id: runId });
  const arts = await o.rest.actions.listWorkflowRunArtifacts({ ...where, run_id: runId });
  await o.rest.actions.listArtifactsForRepo(where);
  const id = arts.data.artifacts[0]?.id ?? 0;
  await o.rest.actions.getArtifact({ ...where, artifact_id: id });
  await o.rest.actions.downloadArtifact({ ...where, artifact_id: id, archive_format: "zip" });

  expect(gh.problems).toEqual([]);
  const called = new Set(gh.calls.map((x) => `${x.method} ${x.template}`));
  expect(gh.routes.map((r) => `${r.method} ${r.template}`).filter((r) => !called.has(r))).toEqual([]);
  expect(gh.calls.filter((x) => x.status >= 400)).toEqual([]);
});
