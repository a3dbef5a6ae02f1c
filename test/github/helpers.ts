/** Shared pieces of the App's tests: a Probot that talks to nock, real webhook payloads, a key. */
import { generateKeyPairSync } from "node:crypto";
import examples from "@octokit/webhooks-examples";
import nock from "nock";
import { Probot, ProbotOctokit } from "probot";
import { type AppSettings, autoresearchApp, type Registry } from "../../src/github/app.js";

export const API = "https://api.github.com";
export const OWNER = "octo-org";
export const REPO = "tiny";
export const INSTALLATION = 7;

/** One RSA key for every test: the App signs its JWTs with it (nock does not check them). */
export const PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

type Example = { name: string; examples: ({ action?: string } & Record<string, unknown>)[] };

/**
 * A real payload of `event` (and `action`) from @octokit/webhooks-examples, moved to this test's
 * repository and installation, with `over` merged in at the top level.
 */
export function payload(event: string, action: string | undefined, over: Record<string, unknown> = {}): Record<string, unknown> {
  const found = (examples as unknown as Example[]).find((e) => e.name === event)?.examples.find((x) => action === undefined || x.action === action);
  if (!found) throw new Error(`no example of ${event}.${action}`);
  const p = structuredClone(found) as Record<string, unknown>;
  const repository = p.repository as Record<string, unknown> & { owner: Record<string, unknown> };
  Object.assign(repository, { name: REPO, full_name: `${OWNER}/${REPO}`, html_url: `https://github.com/${OWNER}/${REPO}`, default_branch: "main" });
  Object.assign(repository.owner, { login: OWNER });
  p.installation = { id: INSTALLATION, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNw==" };
  return { ...p, ...over };
}

/** A sender of a payload. */
export function user(login: string, type: "User" | "Bot" = "User"): Record<string, unknown> {
  return {
    login,
    id: 1000 + login.length,
    node_id: "U",
    type,
    site_admin: false,
    avatar_url: "",
    gravatar_id: "",
    url: "",
    html_url: "",
    followers_url: "",
    following_url: "",
    gists_url: "",
    starred_url: "",
    subscriptions_url: "",
    organizations_url: "",
    repos_url: "",
    events_url: "",
    received_events_url: "",
  };
}

/** A Probot with the App loaded, whose Octokit retries and throttles nothing (tests answer at once). */
export async function testApp(settings: Partial<AppSettings> = {}): Promise<{ probot: Probot; registry: Registry }> {
  let registry: Registry | undefined;
  const probot = new Probot({
    appId: 1,
    privateKey: PRIVATE_KEY,
    // The function form: an object form does not turn Probot's throttling off.
    Octokit: ProbotOctokit.defaults((o: Record<string, unknown>) => ({ ...o, retry: { enabled: false }, throttle: { enabled: false } })),
    logLevel: "fatal",
  });
  await probot.load(
    autoresearchApp({ limits: {}, env: {}, reconcileSeconds: 0, proposalLeaseSeconds: 1800, ...settings }, (r) => {
      registry = r;
    }),
  );
  if (!registry) throw new Error("the App did not make its registry");
  return { probot, registry };
}

/** Answers the installation token request the App makes before its first call. */
export function installationToken(): void {
  nock(API).post(`/app/installations/${INSTALLATION}/access_tokens`).reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
}

/** Records requests nock had no interceptor for (the network is off: each would be an error). */
export function unmatched(): string[] {
  const seen: string[] = [];
  nock.emitter.on("no match", (req: { method?: string; path?: string }) => seen.push(`${req.method} ${req.path}`));
  return seen;
}
