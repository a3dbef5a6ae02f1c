/**
 * Issues, comments, reactions, labels and pull requests through a real Octokit, and the webhooks
 * GitHub sends for them, the App's own actions included.
 */
import type { Octokit } from "@octokit/rest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./index.js";
import { installationOctokit, type Receiver, startReceiver } from "./testing.js";

let gh: FakeGitHub;
let o: Octokit;
let app: Receiver;
const where = { owner: "octo-org", repo: "tiny" };

beforeAll(async () => {
  app = await startReceiver();
  gh = await startFakeGitHub({ seedFiles: { "train.mjs": "const LR = 0.1;\n" }, webhook: { url: app.url, secret: app.secret } });
  o = await installationOctokit(gh);
});
afterAll(async () => {
  await gh?.close();
  await app?.close();
});
afterEach(async () => {
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

/** The deliveries the App received since the test began: `event.action by sender`. */
const seen = () => app.received.map((r) => `${r.event}.${String(r.payload.action)} by ${(r.payload.sender as { login: string }).login}`);

async function branchWithCommit(name: string, content: string): Promise<string> {
  const main = (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
  const tree = (await o.rest.git.getCommit({ ...where, commit_sha: main })).data.tree.sha;
  const t = await o.rest.git.createTree({ ...where, base_tree: tree, tree: [{ path: "train.mjs", mode: "100644", type: "blob", content }] });
  const c = await o.rest.git.createCommit({ ...where, message: content, tree: t.data.sha, parents: [main] });
  await o.rest.git.createRef({ ...where, ref: `refs/heads/${name}`, sha: c.data.sha });
  return c.data.sha;
}

describe("issues and comments", () => {
  it("delivers what people do: an issue opened with a label, a comment, a close", async () => {
    const i = gh.openIssue({ title: "Lower val_loss", body: "Try a wider layer.", labels: ["autoresearch"], by: "mona" });
    gh.comment(i.number, "/autoresearch status", { by: "wes" });
    gh.closeIssue(i.number, { by: "mona" });
    await gh.idle();
    expect(seen()).toEqual(["issues.opened by mona", "issues.labeled by mona", "issue_comment.created by wes", "issues.closed by mona"]);
    const labeled = app.received[1]?.payload as {
      issue: { number: number; labels: { name: string }[] };
      label: { name: string };
      installation: { id: number };
    };
    expect(labeled.issue.number).toBe(i.number);
    expect(labeled.label.name).toBe("autoresearch");
    expect(labeled.installation.id).toBe(gh.installationId);
    expect(app.received[0]?.headers["x-github-event"]).toBe("issues");
    expect(app.received[0]?.headers["x-github-hook-installation-target-type"]).toBe("integration");
  });

  it("posts, lists, edits (keeping the history) and reacts to comments; the App's own are echoed with the bot as sender", async () => {
    const i = gh.openIssue({ title: "Campaign", by: "mona" });
    const made = await o.rest.issues.createComment({ ...where, issue_number: i.number, body: "status: starting" });
    expect(made.status).toBe(201);
    expect(made.data.user?.login).toBe("autoresearch[bot]");
    expect(made.data.performed_via_github_app?.slug).toBe("autoresearch");
    const edited = await o.rest.issues.updateComment({ ...where, comment_id: made.data.id, body: "status: running" });
    expect(edited.data.body).toBe("status: running");
    await o.rest.issues.updateComment({ ...where, comment_id: made.data.id, body: "status: done" });
    const record = gh.state.comments.find((c) => c.id === made.data.id);
    expect(record?.edits.map((e) => e.body)).toEqual(["status: starting", "status: running"]);
    const list = await o.rest.issues.listComments({ ...where, issue_number: i.number });
    expect(list.data.map((c) => c.body)).toEqual(["status: done"]);
    const human = gh.comment(i.number, "/autoresearch stop", { by: "wes" });
    const r1 = await o.rest.reactions.createForIssueComment({ ...where, comment_id: human.id, content: "+1" });
    const r2 = await o.rest.reactions.createForIssueComment({ ...where, comment_id: human.id, content: "+1" });
    expect([r1.status, r2.status]).toEqual([201, 200]);
    expect(gh.state.comments.find((c) => c.id === human.id)?.reactions.map((r) => `${r.content} ${r.user}`)).toEqual(["+1 autoresearch[bot]"]);
    expect(await status(o.rest.reactions.createForIssueComment({ ...where, comment_id: human.id, content: "thumbsup" as "+1" }))).toMatch(/^422/);
    gh.problems.splice(0); // the invalid content is also a request problem, by design
    expect(await status(o.rest.issues.updateComment({ ...where, comment_id: 999_999_999, body: "x" }))).toMatch(/^404/);
    await gh.idle();
    expect(seen()).toEqual([
      "issues.opened by mona",
      "issue_comment.created by autoresearch[bot]",
      "issue_comment.edited by autoresearch[bot]",
      "issue_comment.edited by autoresearch[bot]",
      "issue_comment.created by wes",
    ]);
    expect(app.received[2]?.payload.changes).toEqual({ body: { from: "status: starting" } });
  });

  it("refuses a comment over GitHub's 65536 characters", async () => {
    const i = gh.openIssue({ title: "Long", by: "mona" });
    expect(await status(o.rest.issues.createComment({ ...where, issue_number: i.number, body: "x".repeat(65_537) }))).toMatch(/^422 Body is too long/);
    expect((await o.rest.issues.createComment({ ...where, issue_number: i.number, body: "x".repeat(65_536) })).status).toBe(201);
  });

  it("creates issues, filters them by label and state, and edits them", async () => {
    const made = await o.rest.issues.create({ ...where, title: "Nightly campaign", body: "from repository_dispatch", labels: ["autoresearch"] });
    expect(made.status).toBe(201);
    const open = await o.rest.issues.listForRepo({ ...where, labels: "autoresearch", state: "open" });
    expect(open.data.map((x) => x.number)).toContain(made.data.number);
    await o.rest.issues.update({ ...where, issue_number: made.data.number, state: "closed", state_reason: "completed" });
    const got = await o.rest.issues.get({ ...where, issue_number: made.data.number });
    expect(got.data.state).toBe("closed");
    const labels = await o.rest.issues.addLabels({ ...where, issue_number: made.data.number, labels: ["keep"] });
    expect(labels.data.map((l) => l.name)).toEqual(["autoresearch", "keep"]);
    await o.rest.issues.removeLabel({ ...where, issue_number: made.data.number, name: "keep" });
    expect(gh.issue(made.data.number).labels).toEqual(["autoresearch"]);
    expect(await status(o.rest.issues.removeLabel({ ...where, issue_number: made.data.number, name: "keep" }))).toMatch(/^404/);
    await gh.idle();
    expect(seen()).toEqual([
      "issues.opened by autoresearch[bot]",
      "issues.labeled by autoresearch[bot]",
      "issues.closed by autoresearch[bot]",
      "issues.labeled by autoresearch[bot]",
      "issues.unlabeled by autoresearch[bot]",
    ]);
  });
});

describe("pull requests", () => {
  it("opens, finds by owner:branch, updates, follows its branch, and merges for real", async () => {
    await branchWithCommit("autoresearch/9/best", "const LR = 0.3;\n");
    const pr = await o.rest.pulls.create({
      ...where,
      head: "autoresearch/9/best",
      base: "main",
      title: "autoresearch: val_loss 0.45 -> 0.26",
      body: "table",
      maintainer_can_modify: true,
    });
    expect(pr.status).toBe(201);
    expect(pr.data.head.ref).toBe("autoresearch/9/best");
    expect(await status(o.rest.pulls.create({ ...where, head: "autoresearch/9/best", base: "main", title: "again" }))).toMatch(/^422/);
    const found = await o.rest.pulls.list({ ...where, head: "octo-org:autoresearch/9/best", state: "open" });
    expect(found.data.map((p) => p.number)).toEqual([pr.data.number]);
    expect((await o.rest.pulls.list({ ...where, head: "octo-org:autoresearch/10/best", state: "open" })).data).toEqual([]);
    await o.rest.pulls.update({ ...where, pull_number: pr.data.number, title: "autoresearch: val_loss 0.45 -> 0.03", body: "table v2" });
    expect(gh.issue(pr.data.number).pull?.edits.map((e) => e.body)).toEqual(["table"]);
    // The App pushes a new best to the head branch: the pull request follows it (synchronize).
    const head = (await o.rest.git.getRef({ ...where, ref: "heads/autoresearch/9/best" })).data.object.sha;
    const tree = (await o.rest.git.getCommit({ ...where, commit_sha: head })).data.tree.sha;
    const next = await o.rest.git.createCommit({ ...where, message: "keep 2", tree, parents: [head] });
    await o.rest.git.updateRef({ ...where, ref: "heads/autoresearch/9/best", sha: next.data.sha, force: false });
    expect((await o.rest.pulls.get({ ...where, pull_number: pr.data.number })).data.head.sha).toBe(next.data.sha);
    // The issues API sees the pull request too, with its pull_request field.
    expect((await o.rest.issues.get({ ...where, issue_number: pr.data.number })).data.pull_request?.url).toContain(`/pulls/${pr.data.number}`);

    const merge = await gh.mergePull(pr.data.number, { by: "mona" });
    const mainNow = (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
    expect(mainNow).toBe(merge);
    const mergeCommit = await o.rest.git.getCommit({ ...where, commit_sha: merge });
    expect(mergeCommit.data.parents.map((p) => p.sha)[1]).toBe(next.data.sha);
    const merged = await o.rest.pulls.get({ ...where, pull_number: pr.data.number });
    expect(merged.data).toMatchObject({ state: "closed", merged: true, merge_commit_sha: merge });
    await gh.idle();
    expect(seen()).toEqual([
      "pull_request.opened by autoresearch[bot]",
      "pull_request.edited by autoresearch[bot]",
      "pull_request.synchronize by autoresearch[bot]",
      "pull_request.closed by mona",
    ]);
    const closed = app.received[3]?.payload as { pull_request: { merged: boolean; merged_by: { login: string } } };
    expect(closed.pull_request.merged).toBe(true);
    expect(closed.pull_request.merged_by.login).toBe("mona");
  });

  it("closes a pull request by a person, and when its head branch is deleted", async () => {
    await branchWithCommit("autoresearch/11/best", "const LR = 0.4;\n");
    await branchWithCommit("autoresearch/12/best", "const LR = 0.5;\n");
    const a = await o.rest.pulls.create({ ...where, head: "autoresearch/11/best", base: "main", title: "a" });
    const b = await o.rest.pulls.create({ ...where, head: "octo-org:autoresearch/12/best", base: "main", title: "b" });
    // A body set where there was none: the edited webhook's changes.body.from is "" (the description wants a string).
    await o.rest.pulls.update({ ...where, pull_number: b.data.number, body: "now with a body" });
    gh.closePull(a.data.number, { by: "mona" });
    await o.rest.git.deleteRef({ ...where, ref: "heads/autoresearch/12/best" });
    expect((await o.rest.pulls.get({ ...where, pull_number: a.data.number })).data).toMatchObject({ state: "closed", merged: false });
    expect((await o.rest.pulls.get({ ...where, pull_number: b.data.number })).data).toMatchObject({ state: "closed", merged: false });
    await gh.idle();
    expect(seen()).toEqual([
      "pull_request.opened by autoresearch[bot]",
      "pull_request.opened by autoresearch[bot]",
      "pull_request.edited by autoresearch[bot]",
      "pull_request.closed by mona",
      "pull_request.closed by autoresearch[bot]",
    ]);
    expect(app.received[2]?.payload.changes).toEqual({ body: { from: "" } });
  });

  it("ignores a head filter without an owner, as GitHub does, and says so", async () => {
    const all = await o.rest.pulls.list({ ...where, head: "autoresearch/9/best", state: "all" });
    expect(all.data.length).toBeGreaterThan(1);
    expect(gh.problems.splice(0).map((p) => p.kind)).toEqual(["suspicious"]);
  });
});
