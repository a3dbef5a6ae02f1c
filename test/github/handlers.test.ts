/**
 * The App's webhook handlers against nock, with real webhook payloads: who may do what, bad
 * configurations and runs that are not the App's, each with what a user sees and nothing else.
 */
import nock from "nock";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { API, installationToken, OWNER, payload, REPO, testApp, unmatched, user } from "./helpers.js";

const repoPath = `/repos/${OWNER}/${REPO}`;

/** The path of `GET git/ref/heads/<branch>`, however the client encodes its slashes. */
const ref = (branch: string) => new RegExp(`${repoPath}/git/ref/heads(%2F|/)${branch.replace(/\//g, "(%2F|/)")}$`);

beforeAll(() => {
  nock.disableNetConnect();
});
let strays: string[] = [];
beforeEach(() => {
  strays = unmatched();
});
afterEach(() => {
  expect(strays, "requests with no interceptor").toEqual([]);
  expect(nock.pendingMocks(), "interceptors not used").toEqual([]);
  nock.cleanAll();
  nock.emitter.removeAllListeners("no match");
});

/** The permission GitHub reports for `login`. */
function permission(login: string, role: "admin" | "maintain" | "write" | "triage" | "read" | "none") {
  nock(API)
    .get(`${repoPath}/collaborators/${login}/permission`)
    .reply(200, { permission: role === "maintain" ? "write" : role === "triage" ? "read" : role, role_name: role, user: { login } });
}

const labeled = (by: string, type: "User" | "Bot" = "User") =>
  payload("issues", "labeled", {
    label: { id: 1, node_id: "L", url: "", name: "autoresearch", color: "ededed", default: false, description: null },
    issue: { ...(payload("issues", "labeled").issue as object), number: 12, title: "Lower val_loss", body: "Try a smaller learning rate." },
    sender: user(by, type),
  });

describe("who may start or command a campaign", () => {
  it("a reader who adds the label is refused politely, once", async () => {
    const { probot, registry } = await testApp();
    installationToken();
    permission("reader", "read");
    const posted: string[] = [];
    nock(API)
      .post(`${repoPath}/issues/12/comments`, (b: { body: string }) => posted.push(b.body) > 0)
      .reply(201, { id: 1, html_url: "https://github.com/c/1" });
    await probot.receive({ id: "d1", name: "issues", payload: labeled("reader") } as never);
    permission("reader", "read");
    await probot.receive({ id: "d2", name: "issues", payload: labeled("reader") } as never);
    await registry.idle();
    expect(posted).toEqual(["@reader thanks, but only people with write access to this repository can start an autoresearch campaign."]);
  });

  it("bots are ignored, the App itself included: no request at all", async () => {
    const { probot, registry } = await testApp();
    await probot.receive({ id: "d1", name: "issues", payload: labeled("autoresearch[bot]", "Bot") } as never);
    await probot.receive({
      id: "d2",
      name: "issue_comment",
      payload: payload("issue_comment", "created", { sender: user("dependabot[bot]", "Bot"), comment: { id: 5, body: "/autoresearch stop" } }),
    } as never);
    await registry.idle();
  });

  it("a reader's comment command is refused; a writer's on an issue without a campaign is answered", async () => {
    const { probot, registry } = await testApp();
    installationToken();
    const issue = { ...(payload("issue_comment", "created").issue as object), number: 12, pull_request: undefined };
    const comment = (by: string, body: string) => payload("issue_comment", "created", { issue, comment: { id: 77, body, user: user(by) }, sender: user(by) });
    permission("reader", "read");
    const posted: string[] = [];
    nock(API)
      .post(`${repoPath}/issues/12/comments`, (b: { body: string }) => posted.push(b.body) > 0)
      .times(2)
      .reply(201, { id: 2, html_url: "https://github.com/c/2" });
    await probot.receive({ id: "d1", name: "issue_comment", payload: comment("reader", "/autoresearch stop") } as never);
    permission("writer", "write");
    // The campaign's ledger does not exist: no branch yet.
    nock(API).get(ref("autoresearch/ledger")).reply(404, { message: "Not Found" });
    await probot.receive({ id: "d2", name: "issue_comment", payload: comment("writer", "/autoresearch pause") } as never);
    await registry.idle();
    expect(posted).toEqual([
      "@reader thanks, but only people with write access to this repository can command an autoresearch campaign.",
      "There is no autoresearch campaign on #12 yet: add the `autoresearch` label to its issue to start one.",
    ]);
  });

  it("ordinary comments cost nothing", async () => {
    const { probot, registry } = await testApp();
    await probot.receive({
      id: "d1",
      name: "issue_comment",
      payload: payload("issue_comment", "created", { comment: { id: 1, body: "Nice! Try /autoresearch later." }, sender: user("writer") }),
    } as never);
    await registry.idle();
  });
});

describe("a label on a repository that is not ready", () => {
  /** The default branch's head and an empty ledger: what every start reads first. */
  function startReads(config: string | undefined) {
    nock(API).get(ref("autoresearch/ledger")).reply(404, { message: "Not Found" });
    nock(API)
      .get(ref("main"))
      .reply(200, { ref: "refs/heads/main", node_id: "R", url: "", object: { sha: "a".repeat(40), type: "commit", url: "" } });
    const contents = nock(API)
      .get(/\/repos\/octo-org\/tiny\/contents\/\.github(%2F|\/)autoresearch\.yml/)
      .query({ ref: "a".repeat(40) });
    if (config === undefined) contents.reply(404, { message: "Not Found" });
    else
      contents.reply(200, {
        type: "file",
        encoding: "base64",
        content: Buffer.from(config).toString("base64"),
        name: "autoresearch.yml",
        path: ".github/autoresearch.yml",
        sha: "b".repeat(40),
        size: config.length,
      });
  }

  async function labelAndCollect(settings: Parameters<typeof testApp>[0] = {}): Promise<string[]> {
    const { probot, registry } = await testApp(settings);
    const posted: string[] = [];
    nock(API)
      .post(`${repoPath}/issues/12/comments`, (b: { body: string }) => posted.push(b.body) > 0)
      .reply(201, { id: 3, html_url: "https://github.com/c/3" });
    await probot.receive({ id: "d1", name: "issues", payload: labeled("writer") } as never);
    await registry.idle();
    return posted;
  }

  it.each([
    ["no configuration", undefined, "there is no .github/autoresearch.yml on the default branch: run `autoresearch init --github`"],
    ["a configuration that does not parse", "metric: [", "`.github/autoresearch.yml` (yaml):"],
    [
      "unknown and missing keys, each with its path",
      "metric: {name: loss, goal: sideways}\nrun: x\neditable: [a]\ncolour: red\n",
      "`.github/autoresearch.yml` metric.goal:",
    ],
  ])("%s: one comment saying what to fix; nothing is started", async (_name, config, message) => {
    installationToken();
    permission("writer", "write");
    startReads(config);
    const posted = await labelAndCollect();
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain("autoresearch cannot start a campaign here yet:");
    expect(posted[0]).toContain(message);
    expect(posted[0]).toContain("then remove and add the `autoresearch` label again");
  });

  it("a configuration asking for more than the operator allows names the limit", async () => {
    installationToken();
    permission("writer", "write");
    startReads("metric: {name: loss, goal: minimize}\nrun: node train.mjs\neditable: [train.mjs]\nbudget: {max_cost_usd: 50, parallel: 8}\n");
    nock(API)
      .get(`${repoPath}/actions/workflows/autoresearch.yml`)
      .reply(200, { id: 1, name: "autoresearch", path: ".github/workflows/autoresearch.yml", state: "active" });
    const posted = await labelAndCollect({ limits: { maxCostUsd: 10, maxParallel: 4 } });
    expect(posted[0]).toContain("budget.max_cost_usd: 50 is above this App's limit of 10 (AUTORESEARCH_MAX_COST_USD)");
    expect(posted[0]).toContain("budget.parallel: 8 is above this App's limit of 4 (AUTORESEARCH_MAX_PARALLEL)");
  });

  it("a repository without the experiment workflow is told to add it", async () => {
    installationToken();
    permission("writer", "write");
    startReads("metric: {name: loss, goal: minimize}\nrun: node train.mjs\neditable: [train.mjs]\n");
    nock(API).get(`${repoPath}/actions/workflows/autoresearch.yml`).reply(404, { message: "Not Found" });
    const posted = await labelAndCollect();
    expect(posted[0]).toContain("the experiment workflow .github/workflows/autoresearch.yml (runner.workflow) is not on the default branch");
  });

  it("a repository the operator did not allow is told so, without reading anything", async () => {
    installationToken();
    permission("writer", "write");
    nock(API).get(ref("autoresearch/ledger")).reply(404, { message: "Not Found" });
    nock(API)
      .get(ref("main"))
      .reply(200, { ref: "refs/heads/main", node_id: "R", url: "", object: { sha: "a".repeat(40), type: "commit", url: "" } });
    const posted = await labelAndCollect({ limits: { allowedRepos: ["someone-else/*"] } });
    expect(posted[0]).toContain(`this App is not enabled for ${OWNER}/${REPO} by its operator (AUTORESEARCH_ALLOWED_REPOS)`);
  });
});

describe("workflow runs that are not the App's", () => {
  const run = (over: Record<string, unknown>) =>
    payload("workflow_run", "completed", { workflow_run: { ...(payload("workflow_run", "completed").workflow_run as object), ...over } });

  it("a run of another workflow costs nothing", async () => {
    const { probot, registry } = await testApp();
    await probot.receive({ id: "d1", name: "workflow_run", payload: run({ display_title: "CI", head_branch: "main" }) } as never);
    await registry.idle();
  });

  it("a forged run naming an experiment on a branch the App did not create is ignored", async () => {
    const { probot, registry } = await testApp();
    await probot.receive({ id: "d1", name: "workflow_run", payload: run({ display_title: "autoresearch experiment 12-3", head_branch: "main" }) } as never);
    await registry.idle();
  });

  it("a run on an experiment branch of a campaign that does not exist reads the ledger and stops there", async () => {
    const { probot, registry } = await testApp();
    installationToken();
    nock(API).get(ref("autoresearch/ledger")).reply(404, { message: "Not Found" });
    await probot.receive({
      id: "d1",
      name: "workflow_run",
      payload: run({ display_title: "autoresearch experiment 99-3", head_branch: "autoresearch/99/3" }),
    } as never);
    await registry.idle();
    // What it must not do (comment, read artifacts) would be a request without an interceptor.
  });
});
