/**
 * The fake with Probot as the App uses it: configured from the environment (GHE_HOST,
 * GHE_PROTOCOL, APP_ID, PRIVATE_KEY, WEBHOOK_SECRET), receiving signed webhooks over HTTP,
 * authenticating as the installation and calling the API. A bad signature is rejected by Probot.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createNodeMiddleware, createProbot, type Probot } from "probot";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./index.js";

const SECRET = "probot-test-secret";
let gh: FakeGitHub;
let server: Server;
const handled: string[] = [];

beforeAll(async () => {
  // The App's address is needed before the fake starts; the fake's before Probot is made.
  server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  gh = await startFakeGitHub({ seedDir: "examples/tiny-regression", webhook: { url, secret: SECRET } });
  const probot: Probot = createProbot({
    env: {
      APP_ID: String(gh.appId),
      PRIVATE_KEY: gh.privateKey,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: gh.host,
      GHE_PROTOCOL: "http",
      LOG_LEVEL: "fatal",
    },
  });
  const middleware = await createNodeMiddleware(
    (app) => {
      app.on("issues.labeled", async (context) => {
        if (context.isBot) return;
        const config = await context.octokit.rest.repos.getContent(context.repo({ path: ".github/autoresearch.yml", mediaType: { format: "raw" } }));
        const metric = /name: (\w+)/.exec(String(config.data))?.[1];
        await context.octokit.rest.issues.createComment(context.issue({ body: `campaign on ${metric}` }));
        handled.push(`labeled by ${context.payload.sender.login}`);
      });
      app.on("issue_comment.created", async (context) => {
        handled.push(`comment by ${context.payload.sender.login}${context.isBot ? " (bot, ignored)" : ""}`);
      });
    },
    { probot },
  );
  server.on("request", (req, res) => {
    middleware(req, res, () => res.writeHead(404).end());
  });
});
afterAll(async () => {
  await gh?.close();
  await new Promise<void>((r) => server?.close(() => r()));
});

it("receives a signed webhook, authenticates as the installation and comments; sees its own comment as a bot's", async () => {
  const i = gh.openIssue({ title: "Lower val_loss", by: "mona" });
  gh.labelIssue(i.number, "autoresearch", { by: "mona" });
  await gh.waitFor(() => handled.length >= 2, 20_000, "Probot to handle the label and its own comment");
  await gh.idle();
  expect(handled).toEqual(["labeled by mona", "comment by autoresearch[bot] (bot, ignored)"]);
  expect(gh.state.comments.map((c) => `${c.user}: ${c.body}`)).toEqual(["autoresearch[bot]: campaign on val_loss"]);
  expect(gh.calls.map((c) => `${c.method} ${c.operationId} ${c.status} ${c.auth}`)).toEqual([
    "POST apps/create-installation-access-token 201 app",
    "GET repos/get-content 200 installation",
    "POST issues/create-comment 201 installation",
  ]);
  expect(gh.state.deliveries.map((d) => `${d.event}.${d.action} ${d.status}`)).toEqual([
    "issues.opened 200",
    "issues.labeled 200",
    "issue_comment.created 200",
  ]);
  expect(gh.problems).toEqual([]);
});

it("is refused by Probot when the signature is bad", async () => {
  const payload = gh.state.deliveries[1]?.payload ?? {};
  const bad = await gh.deliver("issues", payload, { signature: "bad" });
  const none = await gh.deliver("issues", payload, { signature: "none" });
  expect([bad.status, none.status]).toEqual([400, 400]);
  expect(handled).toHaveLength(2);
  expect(gh.problems).toEqual([]);
});
