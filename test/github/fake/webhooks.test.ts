/**
 * Webhook deliveries: GitHub's headers and signatures (checked by @octokit/webhooks-methods, as
 * Probot checks them), payloads of every event the App handles in the description's shape, and
 * the knobs that drop, duplicate, hold and reorder deliveries.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, sign, startFakeGitHub } from "./index.js";
import { type Receiver, startReceiver } from "./testing.js";

let gh: FakeGitHub;
let app: Receiver;

beforeAll(async () => {
  app = await startReceiver();
  gh = await startFakeGitHub({ webhook: { url: app.url, secret: app.secret } });
});
afterAll(async () => {
  await gh?.close();
  await app?.close();
});
afterEach(async () => {
  await gh.control.webhooks.release();
  await gh.idle();
  gh.control.webhooks.duplicate.enabled = false;
  const problems = gh.problems.splice(0);
  app.received.length = 0;
  gh.state.deliveries.length = 0;
  expect(problems).toEqual([]);
});

/** A real payload from @octokit/webhooks-examples. */
function example(event: string, action: string): Record<string, unknown> {
  const file = createRequire(import.meta.url).resolve("@octokit/webhooks-examples/api.github.com/index.json");
  const all = JSON.parse(readFileSync(file, "utf8")) as { name: string; examples: Record<string, unknown>[] }[];
  const found = all.find((e) => e.name === event)?.examples.find((x) => x.action === action);
  if (!found) throw new Error(`no example of ${event}.${action}`);
  return found;
}

describe("signatures and headers", () => {
  it("signs with the secret (sha256 and the legacy sha1), a bad signature and no signature fail verification", async () => {
    const payload = example("issues", "labeled");
    const good = await gh.deliver("issues", payload);
    const bad = await gh.deliver("issues", payload, { signature: "bad" });
    const none = await gh.deliver("issues", payload, { signature: "none" });
    expect([good.status, bad.status, none.status]).toEqual([200, 400, 400]);
    expect(app.received.map((r) => r.verified)).toEqual([true, false, false]);
    const h = app.received[0]?.headers ?? {};
    const body = JSON.stringify(payload);
    expect(h["x-hub-signature-256"]).toBe(sign(app.secret, body));
    expect(h["x-hub-signature"]).toBe(sign(app.secret, body, "sha1"));
    expect(h["x-github-event"]).toBe("issues");
    expect(h["x-github-delivery"]).toBe(good.guid);
    expect(h["x-github-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(h["user-agent"]).toMatch(/^GitHub-Hookshot\//);
    expect(h["content-type"]).toBe("application/json");
    expect(app.received[2]?.headers["x-hub-signature-256"]).toBeUndefined();
  });

  it("records a payload that is not GitHub's shape as a problem", async () => {
    await gh.deliver("issues", { action: "labeled", issue: { number: 1 } });
    await gh.deliver("workflow_run", { action: "finished" });
    const problems = gh.problems.splice(0).map((p) => p.message);
    expect(problems).toEqual(
      expect.arrayContaining([
        "webhook issues: must have required property 'repository'",
        expect.stringMatching(/^webhook issues\/issue: must have required property/),
      ]),
    );
    expect(problems).toContain("webhook workflow_run.finished: no such event in GitHub's description");
  });
});

describe("payloads of the App's events", () => {
  it("gives every event the App handles GitHub's shape, with the installation Probot needs", async () => {
    const i = gh.openIssue({ title: "Lower val_loss", body: "ideas", labels: ["autoresearch"], by: "mona" });
    gh.comment(i.number, "/autoresearch try a wider layer", { by: "mona" });
    gh.unlabelIssue(i.number, "autoresearch", { by: "mona" });
    gh.closeIssue(i.number, { by: "mona", reason: "not_planned" });
    gh.repositoryDispatch("autoresearch", { issue: i.number }, { by: "mona" });
    gh.installationCreated({ by: "mona" });
    await gh.idle();
    expect(app.received.map((r) => `${r.event}.${String(r.payload.action)}`)).toEqual([
      "issues.opened",
      "issues.labeled",
      "issue_comment.created",
      "issues.unlabeled",
      "issues.closed",
      "repository_dispatch.autoresearch",
      "installation.created",
    ]);
    for (const r of app.received) expect((r.payload.installation as { id: number }).id).toBe(gh.installationId);
    for (const r of app.received) expect((r.payload.sender as { login: string }).login).toBe("mona");
    expect(app.received[4]?.payload).toMatchObject({ issue: { state: "closed", state_reason: "not_planned" } });
    expect(app.received[5]?.payload).toMatchObject({ branch: "main", client_payload: { issue: i.number }, repository: { full_name: "octo-org/tiny" } });
    expect(app.received[6]?.payload).toMatchObject({
      installation: { app_id: gh.appId, account: { login: "octo-org" } },
      repositories: [{ full_name: "octo-org/tiny" }],
    });
    // No problems: afterEach checks every payload against the description.
  });

  it("sends only subscribed events, and the App's own actions only when echoing", async () => {
    const quiet = await startFakeGitHub({ webhook: { url: app.url, secret: app.secret }, events: ["issues"], echoAppActions: false });
    try {
      const i = quiet.openIssue({ title: "x", by: "mona" });
      quiet.comment(i.number, "not subscribed", { by: "mona" });
      quiet.createComment(i.number, "by the App", quiet.botLogin);
      quiet.addLabel(i, "by-the-app", quiet.botLogin);
      await quiet.idle();
      expect(app.received.map((r) => `${r.event}.${String(r.payload.action)}`)).toEqual(["issues.opened"]);
      expect(quiet.problems).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});

describe("knobs", () => {
  it("sends each delivery twice with the same GUID", async () => {
    gh.control.webhooks.duplicate.enabled = true;
    gh.openIssue({ title: "twice", by: "mona" });
    await gh.idle();
    expect(app.received.map((r) => r.event)).toEqual(["issues", "issues"]);
    expect(app.received[0]?.delivery).toBe(app.received[1]?.delivery);
    expect(gh.state.deliveries.map((d) => d.redelivery)).toEqual([false, true]);
  });

  it("drops the matching deliveries, as many as told", async () => {
    gh.control.webhooks.drop({ event: "issue_comment", where: (p) => String(p.comment.body).startsWith("/autoresearch") }, 2);
    const i = gh.openIssue({ title: "drops", by: "mona" });
    for (const body of ["/autoresearch stop", "hello", "/autoresearch resume", "/autoresearch status"]) gh.comment(i.number, body, { by: "mona" });
    await gh.idle();
    const comments = app.received.filter((r) => r.event === "issue_comment").map((r) => (r.payload.comment as { body: string }).body);
    expect(comments).toEqual(["hello", "/autoresearch status"]);
    expect(gh.state.deliveries.filter((d) => d.outcome === "dropped")).toHaveLength(2);
  });

  it("holds deliveries and releases them reversed or shuffled", async () => {
    const i = gh.openIssue({ title: "order", by: "mona" });
    await gh.idle();
    app.received.length = 0;
    gh.control.webhooks.hold();
    for (const n of [1, 2, 3, 4]) gh.comment(i.number, `c${n}`, { by: "mona" });
    await gh.idle();
    expect(app.received).toEqual([]);
    expect(gh.control.webhooks.heldCount).toBe(4);
    await gh.control.webhooks.release("reverse");
    expect(app.received.map((r) => (r.payload.comment as { body: string }).body)).toEqual(["c4", "c3", "c2", "c1"]);
    app.received.length = 0;
    gh.control.webhooks.hold();
    for (const n of [1, 2, 3, 4, 5, 6]) gh.comment(i.number, `s${n}`, { by: "mona" });
    await gh.control.webhooks.release({ seed: 7 });
    const shuffled = app.received.map((r) => (r.payload.comment as { body: string }).body);
    expect([...shuffled].sort()).toEqual(["s1", "s2", "s3", "s4", "s5", "s6"]);
    expect(shuffled).not.toEqual(["s1", "s2", "s3", "s4", "s5", "s6"]);
  });

  it("records deliveries the App could not take, and redelivers them with their GUIDs once it is back", async () => {
    const other = await startFakeGitHub({ webhook: { url: "http://127.0.0.1:9/", secret: app.secret } });
    try {
      const i = other.openIssue({ title: "while the App was down", by: "mona" });
      other.comment(i.number, "/autoresearch status", { by: "mona" });
      await other.idle();
      expect(other.state.deliveries.map((d) => d.outcome)).toEqual(["error", "error"]);
      other.setWebhook({ url: app.url, secret: app.secret });
      const again = await other.redeliverFailed();
      expect(again.map((d) => `${d.event} ${d.outcome} ${d.status} ${d.redelivery}`)).toEqual(["issues sent 200 true", "issue_comment sent 200 true"]);
      expect(app.received.map((r) => r.delivery)).toEqual(other.state.deliveries.slice(0, 2).map((d) => d.guid));
      expect(await other.redeliverFailed()).toEqual([]);
      expect(other.problems).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
