/**
 * Helpers for tests that talk to the fake as the App would: the App's JWT signed with the fake's
 * key, an installation Octokit, and a webhook receiver that verifies signatures.
 */
import { createSign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Octokit } from "@octokit/rest";
import { verify } from "@octokit/webhooks-methods";
import type { FakeGitHub } from "./index.js";

/** The App's JWT (RS256, iat 30 s in the past, exp 9 minutes ahead), as @octokit/auth-app makes it. */
export function appJwt(gh: FakeGitHub, claims: Record<string, unknown> = {}): string {
  const t = Math.floor(Date.now() / 1000);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ iat: t - 30, exp: t + 540, iss: gh.appId, ...claims })}`;
  const sig = createSign("RSA-SHA256").update(body).sign(gh.privateKey).toString("base64url");
  return `${body}.${sig}`;
}

/** An Octokit authenticated as the App (JWT). */
export function appOctokit(gh: FakeGitHub): Octokit {
  return new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(gh), log: quiet });
}

/** An Octokit authenticated as the installation, with a token from the fake's access_tokens endpoint. */
export async function installationOctokit(gh: FakeGitHub): Promise<Octokit> {
  const r = await appOctokit(gh).rest.apps.createInstallationAccessToken({ installation_id: gh.installationId });
  return new Octokit({ baseUrl: gh.apiUrl, auth: r.data.token, log: quiet });
}

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A webhook receiver on loopback that checks x-hub-signature-256 with @octokit/webhooks-methods, like Probot. */
export interface Receiver {
  url: string;
  secret: string;
  received: { event: string; delivery: string; verified: boolean; payload: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }[];
  close(): Promise<void>;
}

export async function startReceiver(secret = "fake-webhook-secret"): Promise<Receiver> {
  const received: Receiver["received"] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const signature = String(req.headers["x-hub-signature-256"] ?? "");
    const verified = signature !== "" && (await verify(secret, body, signature));
    received.push({
      event: String(req.headers["x-github-event"]),
      delivery: String(req.headers["x-github-delivery"]),
      verified,
      payload: JSON.parse(body),
      headers: req.headers,
    });
    res.writeHead(verified ? 200 : 400).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`,
    secret,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
