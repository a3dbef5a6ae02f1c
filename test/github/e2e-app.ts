/**
 * The App's end-to-end pieces that need no test runner (the benchmarks use them too): the fake
 * GitHub seeded with the tiny-regression example, the App in this process, and what is read back
 * (the ledger on the fake's ledger branch, the status comment, the branches).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { renderWorkflow } from "../../src/cli/templates.js";
import type { ConfigInput } from "../../src/core/config.js";
import { type LedgerEvent, parseLedger } from "../../src/core/events.js";
import { statusMarker } from "../../src/core/publish.js";
import { type CampaignState, fold } from "../../src/core/state.js";
import { type AppSettings, autoresearchApp, type Registry } from "../../src/github/app.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./fake/index.js";

/** The package root: the nearest folder above this file with action.yml (from test/ and from dist/test/). */
const PACKAGE_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "action.yml")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

export const SECRET = "e2e-webhook-secret";

/**
 * The campaign of these tests: the tiny-regression example, 8 experiments, two runners (the
 * mutate seed is one whose 8 experiments keep two changes when the local CLI runs them).
 */
export function campaignConfig(over: { budget?: Record<string, unknown>; accept?: Record<string, unknown> } = {}): ConfigInput {
  return {
    metric: { name: "val_loss", goal: "minimize" },
    run: "node train.mjs",
    outputs: ["model.json"],
    eval: "node eval.mjs",
    editable: ["train.mjs"],
    budget: { experiment_timeout: "30s", max_experiments: 8, max_hours: 1, max_cost_usd: 0, parallel: 2, patience: 20, ...over.budget },
    // The final confirmation runs on 2 fresh paired seeds (5 by default): exercised, within the tests' time.
    accept: { repeats: 2, baseline_repeats: 3, min_improvement: "1%", confirm_repeats: 2, ...over.accept },
    proposer: { kind: "mutate", knobs: ["LEARNING_RATE", "HIDDEN", "BATCH_SIZE", "WEIGHT_DECAY", "INIT_SCALE"], seed: 5 },
    runner: { workflow: "autoresearch.yml", runs_on: ["ubuntu-latest"] },
  } as ConfigInput;
}

/** A fake GitHub whose default branch holds the example, its configuration and the experiment workflow. */
export async function fakeWithExample(config: ConfigInput = campaignConfig(), opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const { stringify } = await import("yaml");
  return startFakeGitHub({
    seedDir: join(PACKAGE_ROOT, "examples", "tiny-regression"),
    seedFiles: {
      ".github/autoresearch.yml": stringify(config),
      ".github/workflows/autoresearch.yml": renderWorkflow("hosted", { experimentTimeoutSeconds: 30, runsOn: ["ubuntu-latest"] }),
    },
    runners: 2,
    ...opts,
  });
}

/** The events of campaign `id` on the fake's ledger branch ([] when there is none). */
export function ledgerEvents(gh: FakeGitHub, id: number): LedgerEvent[] {
  const git = (...args: string[]) => execFileSync("git", ["--git-dir", gh.repoDir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  let list: string;
  try {
    list = git("ls-tree", "--name-only", "refs/heads/autoresearch/ledger", `campaigns/${id}/events/`);
  } catch {
    return [];
  }
  const events: LedgerEvent[] = [];
  for (const path of list
    .split("\n")
    .filter((p) => p.endsWith(".jsonl"))
    .sort()) {
    const parsed = parseLedger(git("show", `refs/heads/autoresearch/ledger:${path}`));
    if (parsed.problems.length) throw new Error(`ledger ${path}: ${JSON.stringify(parsed.problems)}`);
    events.push(...parsed.events);
  }
  return events;
}

/** The campaign's state as its ledger folds to, or undefined before it started. */
export function campaignState(gh: FakeGitHub, id: number): CampaignState | undefined {
  const events = ledgerEvents(gh, id);
  return events.length ? fold(events) : undefined;
}

/** The branches of the fake repository under `prefix`. */
export function branches(gh: FakeGitHub, prefix: string): string[] {
  return execFileSync("git", ["--git-dir", gh.repoDir, "for-each-ref", "--format=%(refname:short)", `refs/heads/${prefix}`], { encoding: "utf8" })
    .split("\n")
    .filter((b) => b !== "");
}

/** The App's status comment on issue `issue` (its latest text). */
export function statusComment(gh: FakeGitHub, issue: number): string | undefined {
  const c = gh.state.comments.filter((x) => x.issue_number === issue && x.body.startsWith(statusMarker(String(issue))));
  return c.at(-1)?.body;
}

/** Opens an issue as `mona` (admin) and adds the label: what starts a campaign. */
export function startCampaign(gh: FakeGitHub, title = "Lower val_loss", body = "Tune the learning rate and the width of the network."): number {
  const issue = gh.openIssue({ title, body, by: "mona" });
  gh.labelIssue(issue.number, "autoresearch", { by: "mona" });
  return issue.number;
}

/** The App in this process: the same application function, Probot's middleware on a loopback server. */
export interface InProcessApp {
  registry: Registry;
  probot: Probot;
  /** Stops the server (the registry's timers are unref'd; queued work is abandoned as in a crash). */
  close(): Promise<void>;
}

/**
 * Starts the App in this process against `gh`: what `npm start` runs, minus Probot's 1 s spacing of
 * writes (GitHub's secondary rate limits), which a loopback fake does not need and which would make
 * a test of a few experiments take minutes. Retries stay on, as in production.
 */
export async function startAppInProcess(
  gh: FakeGitHub,
  settings: Partial<AppSettings> = {},
  opts: { onRequest?: (ms: { start: number; end: number }) => void } = {},
): Promise<InProcessApp> {
  let registry: Registry | undefined;
  // The function form: an object form does not turn Probot's throttling off.
  let Octokit = ProbotOctokit.defaults((o: Record<string, unknown>) => ({ ...o, throttle: { enabled: false } }));
  const { onRequest } = opts;
  if (onRequest) {
    // Every request's span (performance.now()), for benchmarks that tell the App's time from GitHub's.
    Octokit = Octokit.plugin((octokit) => {
      octokit.hook.wrap("request", async (request, options) => {
        const start = performance.now();
        try {
          return await request(options);
        } finally {
          onRequest({ start, end: performance.now() });
        }
      });
    });
  }
  const probot = new Probot({
    appId: gh.appId,
    privateKey: gh.privateKey,
    secret: SECRET,
    baseUrl: gh.apiUrl,
    Octokit,
    logLevel: (process.env.E2E_LOG_LEVEL ?? "fatal") as "fatal",
  });
  const middleware = await createNodeMiddleware(
    autoresearchApp({ limits: {}, env: {}, reconcileSeconds: 3, proposalLeaseSeconds: 15, ...settings }, (r) => {
      registry = r;
    }),
    { probot },
  );
  const server = createHttpServer((req, res) => {
    void middleware(req, res, () => {
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  if (!registry) throw new Error("the App did not make its registry");
  const port = (server.address() as { port: number }).port;
  gh.setWebhook({ url: `http://127.0.0.1:${port}/api/github/webhooks`, secret: SECRET });
  return {
    registry,
    probot,
    close: async () => {
      registry?.stop();
      gh.setWebhook(undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Commits `files` on top of `branch` and moves it there, as someone with push access would. */
export async function pushCommit(gh: FakeGitHub, branch: string, files: Record<string, string>, message: string): Promise<string> {
  const head = await gh.git.refSha(`refs/heads/${branch}`);
  if (!head) throw new Error(`no branch ${branch}`);
  const tree = await gh.git.writeTree(
    head,
    Object.entries(files).map(([path, content]) => ({ path, mode: "100644", type: "blob" as const, content })),
  );
  const who = { name: "Mallory", email: "mallory@example.com", date: new Date().toISOString() };
  const sha = await gh.git.writeCommit({ tree, parents: [head], author: who, committer: who, message });
  await gh.git.updateRef(`refs/heads/${branch}`, sha, async () => {});
  return sha;
}
