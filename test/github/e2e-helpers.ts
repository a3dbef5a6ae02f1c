/**
 * The App as a user runs it (`npm start`, a child process) against the loopback fake of GitHub,
 * and what every campaign's end must show (expectTruthfulEnd); the rest is in e2e-app.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { expect } from "vitest";
import type { LedgerEvent } from "../../src/core/events.js";
import { renderStatusComment } from "../../src/core/publish.js";
import { type CampaignState, fold } from "../../src/core/state.js";
import { publishLinks } from "../../src/github/campaign.js";
import { PACKAGE_ROOT } from "../cli/helpers.js";
import { branches, campaignState, ledgerEvents, SECRET, statusComment } from "./e2e-app.js";
import type { FakeGitHub } from "./fake/index.js";

export * from "./e2e-app.js";

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

/** Waits until the campaign's ledger says it stopped; returns its state. */
export async function untilStopped(gh: FakeGitHub, id: number, app: RunningApp | undefined, timeoutMs = 330_000): Promise<CampaignState> {
  try {
    await gh.waitFor(() => campaignState(gh, id)?.stopped !== undefined, timeoutMs, `campaign ${id} to stop`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nApp output:\n${app?.output().slice(-8000) ?? ""}`);
  }
  return campaignState(gh, id) as CampaignState;
}

/**
 * What every campaign's end must show, however its webhooks came: the ledger folds without
 * problems to `experiments` judged experiments; every result it records is a job that ran (its
 * seed, its commit, the metric the Action printed) and none twice; no experiment branch is left;
 * the best branch is the ledger's best; the status comment is what the ledger folds to; a pull
 * request exists exactly when something was kept; the fake saw nothing GitHub would not do.
 */
export async function expectTruthfulEnd(gh: FakeGitHub, id: number, experiments: number, opts: { left?: string[] } = {}): Promise<CampaignState> {
  // The App has settled when its status comment shows what the ledger folds to now (it publishes
  // last, after what a stop still records: runs cancelled, branches deleted).
  const links = (s: CampaignState) => publishLinks(`${gh.site.web}/${gh.site.owner}/${gh.site.repo}`, s);
  const settled = () => {
    const s = campaignState(gh, id);
    return s?.stopped !== undefined && statusComment(gh, id) === renderStatusComment(s, links(s));
  };
  await gh.waitFor(settled, 30_000, "the status comment to show the stopped campaign").catch(() => undefined);
  const events = ledgerEvents(gh, id);
  try {
    return await truthfulEnd(gh, id, experiments, opts, events);
  } catch (err) {
    // E2E_APP_LOG=<file>: the ledger is kept beside the App's output (the fake is gone after the test).
    if (process.env.E2E_APP_LOG) writeFileSync(`${process.env.E2E_APP_LOG}.ledger.jsonl`, events.map((e) => JSON.stringify(e)).join("\n"));
    throw err;
  }
}

async function truthfulEnd(gh: FakeGitHub, id: number, experiments: number, opts: { left?: string[] }, events: LedgerEvent[]): Promise<CampaignState> {
  const s = fold(events);
  expect(s.problems).toEqual([]);
  expect(s.stopped).toBeDefined();
  const judged = s.experiments.filter((e) => e && e.experiment > 0);
  expect(judged).toHaveLength(experiments);
  for (const e of judged) expect(["kept", "discarded", "failed"]).toContain(e?.phase);
  const jobs = gh.state.runs.flatMap((r) => r.jobs.map((j) => ({ sha: r.head_sha, seed: Number(j.seed), outputs: j.outputs, conclusion: j.conclusion })));
  const finished = events.filter((e) => e.type === "run_finished");
  expect(new Set(finished.map((e) => `${e.experiment}:${e.seed}:${e.commit}`)).size).toBe(finished.length);
  for (const r of finished) {
    const ran = jobs.filter((j) => j.sha === r.commit && j.seed === r.seed);
    if (r.status === "ok") {
      expect(
        ran.some((j) => j.outputs.status === "ok" && Number(j.outputs.metric) === r.metric),
        `experiment ${r.experiment} seed ${r.seed}: ${r.metric}`,
      ).toBe(true);
    } else if (r.status === "rejected" && /which someone pushed to/.test(r.reason)) {
      // What ran was another commit, pushed to the experiment's branch.
      expect(gh.state.runs.some((x) => x.head_branch === `autoresearch/${id}/${r.experiment}` && x.head_sha !== r.commit)).toBe(true);
    } else if (r.status === "cancelled") {
      // Cancelled when the campaign stopped: no job of it gave a metric (one that did is recorded as it happened).
      expect(
        ran.some((j) => j.conclusion === "success" && j.outputs.status === "ok"),
        `experiment ${r.experiment} seed ${r.seed} recorded cancelled, but a job of it gave a metric`,
      ).toBe(false);
    } else if (r.status !== "lost") {
      // A failed result names a job that ran and did not give a metric.
      expect(
        ran.some((j) => j.conclusion !== "success" || j.outputs.status !== "ok"),
        `experiment ${r.experiment} seed ${r.seed} recorded ${r.status} (${r.reason}), but its jobs gave a metric`,
      ).toBe(true);
    }
  }
  expect(statusComment(gh, id)).toBe(renderStatusComment(s, publishLinks(`${gh.site.web}/${gh.site.owner}/${gh.site.repo}`, s)));
  // (after the status comment: the App cleans up before it publishes)
  expect(branches(gh, "autoresearch/")).toEqual([...(opts.left ?? []), `autoresearch/${id}/best`, "autoresearch/ledger"].sort());
  expect(await gh.git.resolveCommit(`refs/heads/autoresearch/${id}/best`)).toBe(s.best.commit);
  const kept = judged.filter((e) => e?.phase === "kept");
  expect(gh.pulls.length).toBe(kept.length > 0 ? 1 : 0);
  if (kept.length) expect(gh.pulls[0]?.pull?.head).toBe(`autoresearch/${id}/best`);
  await gh.idle();
  expect(gh.problems).toEqual([]);
  return s;
}
