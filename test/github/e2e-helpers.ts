/**
 * The App as a user runs it (`npm start`, a child process) against the loopback fake of GitHub,
 * and what the tests read back: the ledger on the fake's ledger branch, the status comment, the
 * pull request, the branches.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { renderWorkflow } from "../../src/cli/templates.js";
import type { ConfigInput } from "../../src/core/config.js";
import { type LedgerEvent, parseLedger } from "../../src/core/events.js";
import { statusMarker } from "../../src/core/publish.js";
import { type CampaignState, fold } from "../../src/core/state.js";
import { PACKAGE_ROOT } from "../cli/helpers.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./fake/index.js";

export const SECRET = "e2e-webhook-secret";

/**
 * The campaign of these tests: the tiny-regression example, 6 experiments, two runners (the
 * mutate seed is one whose 6 experiments keep two changes when the local CLI runs them).
 */
export function campaignConfig(over: { budget?: Record<string, unknown>; accept?: Record<string, unknown> } = {}): ConfigInput {
  return {
    metric: { name: "val_loss", goal: "minimize" },
    run: "node train.mjs",
    outputs: ["model.json"],
    eval: "node eval.mjs",
    editable: ["train.mjs"],
    budget: { experiment_timeout: "30s", max_experiments: 6, max_hours: 1, max_cost_usd: 0, parallel: 2, patience: 20, ...over.budget },
    // The final confirmation runs on 2 fresh paired seeds (5 by default): exercised, within the test's time.
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

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** A running App (`npm start`). */
export interface RunningApp {
  port: number;
  child: ChildProcess;
  /** What it printed (JSON log lines). */
  output(): string;
  /** Kills it (SIGKILL by default: as a crash would). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the built App with `npm start`, configured through the environment only (Probot's
 * variables), pointed at the fake through GHE_HOST, and points the fake's webhooks at it.
 */
export async function startApp(gh: FakeGitHub, env: Record<string, string> = {}): Promise<RunningApp> {
  const port = await freePort();
  const child = spawn("npm", ["start", "--silent"], {
    cwd: PACKAGE_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      APP_ID: String(gh.appId),
      PRIVATE_KEY: gh.privateKey,
      WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      HOST: "127.0.0.1",
      GHE_HOST: gh.host,
      GHE_PROTOCOL: "http",
      LOG_LEVEL: (process.env.E2E_LOG_LEVEL ?? "info") as "info",
      LOG_FORMAT: "json",
      NODE_ENV: "production",
      AUTORESEARCH_RECONCILE_SECONDS: "3",
      AUTORESEARCH_PROPOSAL_LEASE_SECONDS: "15",
      ...env,
    },
    // Its own process group: npm, its shell and node are killed together.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const app: RunningApp = {
    port,
    child,
    output: () => out,
    kill: async (signal = "SIGKILL") => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ping`);
      if (r.ok && (await r.text()) === "PONG") break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the App did not start (exit ${child.exitCode}):\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  gh.setWebhook({ url: `http://127.0.0.1:${port}/api/github/webhooks`, secret: SECRET });
  return app;
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

/** Waits until the campaign's ledger says it stopped; returns its state. */
export async function untilStopped(gh: FakeGitHub, id: number, app: RunningApp | undefined, timeoutMs = 330_000): Promise<CampaignState> {
  try {
    await gh.waitFor(() => campaignState(gh, id)?.stopped !== undefined, timeoutMs, `campaign ${id} to stop`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nApp output:\n${app?.output().slice(-8000) ?? ""}`);
  }
  return campaignState(gh, id) as CampaignState;
}
