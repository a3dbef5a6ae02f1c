/**
 * The GitHub App's benchmarks, with the App in this process against the loopback fake of GitHub
 * (test/github/fake; Probot's one-second spacing of writes off, which GitHub's rate limits need
 * and a loopback fake does not).
 *
 * - github_api_calls_per_experiment: REST calls the App makes (reads included) over a campaign of
 *   8 experiments on examples/tiny-regression whose runs execute the real bundled Action,
 *   divided by 8.
 * - webhook_handler_ms_p50: the median time the App's queued work for a `workflow_run.completed`
 *   delivery takes (read the artifacts, record, judge, dispatch, append; the proposal runs outside
 *   the queue and is not in it), in a campaign 10 experiments old, less the time some request to
 *   GitHub was in flight or the proposer was working (the issue's "proposer excluded"): the App's
 *   own time. The App runs with its production settings: the
 *   status comment is edited at most every 10 s, by work of its own (`publish`), whose median is
 *   in the line too. (The fake answers slowly, each Git Data write being several git processes,
 *   and GitHub's own latency is not the App's; the wall time with the fake's answers is in the
 *   line too.)
 * - webhook_handler_growth_1000_vs_10: that median in a campaign 1,000 experiments old (its
 *   ledger written beforehand) divided by the median at 10, measured alternately in one process;
 *   the same ratio for the publish work beside it.
 * - app_runner_utilization: `parallel: 4`, a fleet of 4 runners whose jobs take a fixed 20 s and
 *   upload a result (no training), 24 experiments: the share of wall time, from the first moment
 *   all 4 runners are busy to the last dispatch, during which all 4 are busy (after the last
 *   dispatch the campaign winds down and fewer runs remain by design; the whole span is reported
 *   too), and the App's turnaround from a job's end to the next job's start.
 */

import { performance } from "node:perf_hooks";
import type { ConfigInput } from "../src/core/config.js";
import { type NewEventInput, stamp } from "../src/core/events.js";
import { RESULT_VERSION } from "../src/core/result.js";
import { DEFAULT_RECONCILE_SECONDS, DEFAULT_STATUS_EDIT_SECONDS, reconcileAll } from "../src/github/app.js";
import { shardPath } from "../src/github/ledger.js";
import { artifactName } from "../src/github/results.js";
import { campaignConfig, campaignState, fakeWithExample, type InProcessApp, startAppInProcess, startCampaign } from "../test/github/e2e-app.js";
import { allBusyShare, type FakeGitHub, type JobExecutor } from "../test/github/fake/index.js";
import { type BenchResult, round } from "./result.js";

const CALLS_GOAL = 20;
const HANDLER_GOAL_MS = 50;
const GROWTH_GOAL = 2;
const UTILIZATION_GOAL = 0.9;
/** The App's settings in production (main.ts's defaults). */
const PRODUCTION = { reconcileSeconds: DEFAULT_RECONCILE_SECONDS, statusEditSeconds: DEFAULT_STATUS_EDIT_SECONDS };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A deterministic noise source (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A job that trains nothing: after `ms` it uploads a valid result.json for its experiment, seed,
 * commit and parent with a metric around 1 (noise 1%), as the Action would.
 */
function syntheticJobs(ms: number, seed: number): JobExecutor {
  const rnd = random(seed);
  return async ({ run, inputs, upload }) => {
    await new Promise((r) => setTimeout(r, ms));
    const [campaign, experiment] = (inputs.experiment ?? "").split("-");
    const s = Number(inputs.seed);
    const metric = 1 + 0.01 * (rnd() + rnd() + rnd() - 1.5);
    const result = {
      version: RESULT_VERSION,
      experiment: inputs.experiment,
      commit: run.head_sha,
      parent: inputs.parent,
      seed: s,
      status: "ok",
      metric,
      seconds: ms / 1000,
      timed_out: false,
      exit_code: 0,
      reason: "",
      tail: `val_loss: ${metric}`,
      runner: { name: "bench", os: "Linux", arch: "X64" },
      gpu: null,
      peak_memory_mb: null,
      action_version: "bench",
    };
    await upload(artifactName(campaign ?? "", Number(experiment), s), { "result.json": JSON.stringify(result) });
    return { ok: true };
  };
}

async function until(gh: FakeGitHub, predicate: () => boolean, ms: number, what: string): Promise<void> {
  await gh.waitFor(predicate, ms, what);
}

/** REST calls per experiment over a campaign of 8 real experiments. */
async function callsPerExperiment(): Promise<BenchResult> {
  const gh = await fakeWithExample();
  let app: InProcessApp | undefined;
  try {
    // The App's production settings (main.ts): reconciliation at start-up only, here; status edits spaced.
    app = await startAppInProcess(gh, PRODUCTION);
    const id = startCampaign(gh);
    await until(gh, () => campaignState(gh, id)?.stopped !== undefined, 600_000, "the campaign to stop");
    await app.registry.idle();
    const s = campaignState(gh, id);
    const experiments = s?.experiments.filter((e) => e && e.experiment > 0).length ?? 0;
    const calls = gh.calls.filter((c) => c.auth !== "none");
    const writes = calls.filter((c) => c.method !== "GET").length;
    const runs = s?.experiments.reduce((n, e) => n + (e?.runs.length ?? 0), 0) ?? 0;
    const value = calls.length / experiments;
    return {
      name: "github_api_calls_per_experiment",
      value: round(value, 3),
      unit: "calls",
      better: "lower",
      goal: `<= ${CALLS_GOAL}`,
      pass: value <= CALLS_GOAL,
      experiments,
      runs,
      calls: calls.length,
      writes,
    };
  } finally {
    await app?.close();
    await gh.close();
  }
}

/**
 * A campaign `n` experiments old, written on the fake's ledger branch: a baseline of 2 runs and
 * `n` discarded experiments of one run each (commits that are never read), nothing in flight.
 */
async function seedLedger(gh: FakeGitHub, config: ConfigInput, n: number): Promise<void> {
  const base = (await gh.git.refSha("refs/heads/main")) as string;
  const events: NewEventInput[] = [
    { type: "campaign_started", campaign: "1", config, base_commit: base, goal: "bench", source: "label" },
    ...[1, 2].map((seed): NewEventInput => ({ type: "run_started", experiment: 0, commit: base, seed })),
    ...[1, 2].map(
      (seed): NewEventInput => ({ type: "run_finished", experiment: 0, commit: base, seed, status: "ok", metric: 1 + seed / 1000, seconds: 1, exit_code: 0 }),
    ),
    {
      type: "experiment_judged",
      experiment: 0,
      commit: base,
      verdict: "keep",
      reason: "baseline over 2 runs",
      baseline_mean: 1.0015,
      candidate_mean: 1.0015,
      improvement: 0,
      p_value: null,
    },
  ];
  for (let i = 1; i <= n; i++) {
    const commit = i.toString(16).padStart(40, "a");
    events.push(
      { type: "experiment_requested", experiment: i, parent: base },
      {
        type: "experiment_proposed",
        experiment: i,
        parent: base,
        commit,
        branch: `autoresearch/1/${i}`,
        title: `LEARNING_RATE 0.002 -> 0.00${i}`,
        hypothesis: "bench",
        edits: [],
        diff: "",
        lines_added: 1,
        lines_removed: 1,
      },
      { type: "run_started", experiment: i, commit, seed: 1 },
      { type: "run_finished", experiment: i, commit, seed: 1, status: "ok", metric: 1.2, seconds: 1, exit_code: 0 },
      {
        type: "experiment_judged",
        experiment: i,
        commit,
        verdict: "discard",
        reason: "worse",
        baseline_mean: 1.0015,
        candidate_mean: 1.2,
        improvement: -0.2,
        p_value: null,
      },
    );
  }
  const stamped = stamp(events, 0, new Date(Date.now() - 60_000));
  const files = new Map<string, string[]>();
  for (const e of stamped) {
    const path = shardPath("1", Math.floor((e.seq - 1) / 100));
    files.set(path, [...(files.get(path) ?? []), JSON.stringify(e)]);
  }
  const tree = await gh.git.writeTree(
    null,
    [...files].map(([path, lines]) => ({ path, mode: "100644", type: "blob" as const, content: `${lines.join("\n")}\n` })),
  );
  const who = { name: "bench", email: "bench@example.com", date: new Date().toISOString() };
  const commit = await gh.git.writeCommit({ tree, parents: [], author: who, committer: who, message: `campaign 1: ${n} experiments` });
  await gh.git.updateRef("refs/heads/autoresearch/ledger", commit, async () => {});
}

/** A campaign `n` experiments old, continued by the App; the handler times of its next results. */
export async function oldCampaign(n: number): Promise<Campaign> {
  const config = campaignConfig({ budget: { max_experiments: 100_000, patience: 100_000, parallel: 1 }, accept: { repeats: 1, baseline_repeats: 2 } });
  // Its own installation: Probot's token cache is keyed by installation.
  const gh = await fakeWithExample(config, { installationId: 70_000 + n });
  gh.control.runs.executor = syntheticJobs(0, n);
  // The campaign's issue (#1), its best branch (the base: nothing kept), then its ledger.
  gh.openIssue({ title: "bench", body: "", by: "mona" });
  const base = (await gh.git.refSha("refs/heads/main")) as string;
  await gh.git.updateRef("refs/heads/autoresearch/1/best", base, async () => {});
  await seedLedger(gh, config, n);
  const requests: { start: number; end: number }[] = [];
  const c: Campaign = { gh, app: undefined as unknown as InProcessApp, times: [], wall: [], publish: [] };
  c.app = await startAppInProcess(
    gh,
    {
      reconcileSeconds: 0,
      proposalLeaseSeconds: 3600,
      statusEditSeconds: DEFAULT_STATUS_EDIT_SECONDS,
      // The proposer's own time (mutate replays the whole history) is not the handler's: its spans
      // are left out like the requests'.
      wrapProposer: (p) => ({
        propose: async (ctx, signal) => {
          const start = performance.now();
          try {
            return await p.propose(ctx, signal);
          } finally {
            requests.push({ start, end: performance.now() });
          }
        },
      }),
      onWork: (w) => {
        const end = performance.now();
        const own = w.ms - covered(requests, end - w.ms, end);
        if (w.what === "publish") c.publish.push(own);
        if (w.what !== "results") return;
        c.wall.push(w.ms);
        c.times.push(own);
      },
    },
    { onRequest: (r) => requests.push(r) },
  );
  return c;
}

/** A campaign the handler benchmark drives: its App-side times and wall times of results work. */
interface Campaign {
  gh: FakeGitHub;
  app: InProcessApp;
  /** Milliseconds of each results work with no request to GitHub in flight (the App's own time). */
  times: number[];
  /** Milliseconds of each, wall clock (with the fake's answers, whose git subprocesses are slow). */
  wall: number[];
  /** The App's own milliseconds of each status comment edit held back and made by its timer. */
  publish: number[];
}

/** How much of [from, to] the spans cover (their union). */
function covered(spans: readonly { start: number; end: number }[], from: number, to: number): number {
  const parts = spans
    .filter((s) => s.end > from && s.start < to)
    .map((s) => [Math.max(from, s.start), Math.min(to, s.end)] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = from;
  for (const [a, b] of parts) {
    if (b <= reach) continue;
    total += b - Math.max(a, reach);
    reach = b;
  }
  return total;
}

/** Handler times at 10 and at 1,000 experiments, in rounds that alternate between the two. */
async function handlerTimes(): Promise<BenchResult[]> {
  const small = await oldCampaign(10);
  const large = await oldCampaign(1000);
  const rounds = 5;
  const perRound = 6;
  try {
    const step = async (c: Campaign, want: number) => {
      await until(c.gh, () => c.times.length >= want, 120_000, `${want} results handled`);
    };
    small.gh.control.runs.hold();
    large.gh.control.runs.hold();
    // The first pass loads each campaign from its ledger (a start-up, not a delivery).
    await reconcileAll(small.app.probot, small.app.registry);
    await reconcileAll(large.app.probot, large.app.registry);
    // Alternate: let each campaign handle `perRound` more results in turn, so machine load hits both.
    for (let r = 1; r <= rounds; r++) {
      for (const c of [small, large]) {
        c.gh.control.runs.release();
        await step(c, r * perRound);
        c.gh.control.runs.hold();
      }
    }
    // The first results of each campaign also pay for reading its ledger: left out.
    const p50 = (xs: number[]) => median(xs.slice(2));
    const at10 = p50(small.times);
    const at1000 = p50(large.times);
    const wall10 = p50(small.wall);
    const wall1000 = p50(large.wall);
    const growth = at1000 / at10;
    return [
      {
        name: "webhook_handler_ms_p50",
        value: round(at10, 3),
        unit: "ms",
        better: "lower",
        goal: `<= ${HANDLER_GOAL_MS}`,
        pass: at10 <= HANDLER_GOAL_MS,
        samples: small.times.length - 2,
        experiments: 10,
        wall_ms_with_fake_answers: round(wall10, 3),
        publish_ms_p50: round(median(small.publish), 3),
        publish_samples: small.publish.length,
      },
      {
        name: "webhook_handler_growth_1000_vs_10",
        value: round(growth, 3),
        unit: "ratio",
        better: "lower",
        goal: `<= ${GROWTH_GOAL}`,
        pass: growth <= GROWTH_GOAL,
        ms_at_10: round(at10, 3),
        ms_at_1000: round(at1000, 3),
        wall_growth: round(wall1000 / wall10, 3),
        publish_ms_at_1000: round(median(large.publish), 3),
        publish_growth: round(median(large.publish) / median(small.publish), 3),
        samples: Math.min(small.times.length, large.times.length) - 2,
      },
    ];
  } finally {
    for (const c of [small, large]) {
      c.gh.control.runs.release();
      await c.app.close();
      await c.gh.close();
    }
  }
}

/**
 * Runner utilization with parallel 4 on 4 runners whose jobs take a fixed time: 20 s, where a job
 * on Actions takes minutes (a runner's start alone is tens of seconds). What it measures is the
 * App's turnaround (a job's end to the next job's start: reading the result, judging, the ledger
 * append, the dispatch) against the job's time; `turnaround_ms_p50` gives that turnaround, so what
 * shorter jobs would see can be read off.
 */
async function utilization(): Promise<BenchResult> {
  const JOB_MS = 20_000;
  const config = campaignConfig({ budget: { max_experiments: 24, patience: 1000, parallel: 4 }, accept: { repeats: 2, baseline_repeats: 4 } });
  const gh = await fakeWithExample(config, { runners: 4 });
  gh.control.runs.executor = syntheticJobs(JOB_MS, 7);
  let app: InProcessApp | undefined;
  try {
    app = await startAppInProcess(gh, PRODUCTION);
    const id = startCampaign(gh);
    await until(gh, () => campaignState(gh, id)?.stopped !== undefined, 900_000, "the campaign to stop");
    await app.registry.idle();
    await gh.idle();
    const jobs = gh.state.runs.flatMap((r) => r.jobs).filter((j) => j.t_start !== null && j.t_end !== null);
    const starts = jobs.map((j) => j.t_start as number);
    const ends = jobs.map((j) => j.t_end as number);
    // The first moment all 4 were busy, and the last dispatch (the last job start).
    const events = jobs.flatMap((j) => [
      { t: j.t_start as number, d: 1 },
      { t: j.t_end as number, d: -1 },
    ]);
    events.sort((a, b) => a.t - b.t || a.d - b.d);
    let busy = 0;
    let full = Number.POSITIVE_INFINITY;
    for (const e of events) {
      busy += e.d;
      if (busy >= 4) {
        full = e.t;
        break;
      }
    }
    const lastStart = Math.max(...starts);
    // For each job that ended before the last start: how long until the next job started.
    const sortedStarts = [...starts].sort((a, b) => a - b);
    const turnaround = ends.filter((e) => e < lastStart).map((e) => (sortedStarts.find((t) => t >= e) as number) - e);
    const steady = allBusyShare(jobs, 4, full, lastStart);
    const whole = allBusyShare(jobs, 4, Math.min(...starts), Math.max(...ends));
    return {
      name: "app_runner_utilization",
      value: round(steady, 3),
      unit: "share",
      better: "higher",
      goal: `>= ${UTILIZATION_GOAL}`,
      pass: steady >= UTILIZATION_GOAL,
      whole_span: round(whole, 3),
      jobs: jobs.length,
      job_ms: JOB_MS,
      turnaround_ms_p50: round(median(turnaround), 1),
      seconds: round((lastStart - full) / 1000, 3),
    };
  } finally {
    await app?.close();
    await gh.close();
  }
}

export async function appBenchmarks(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  out.push(await callsPerExperiment());
  out.push(...(await handlerTimes()));
  out.push(await utilization());
  return out;
}

// `node dist/bench/app.js` runs these alone; `... calls|handler|utilization` runs one.
if (process.argv[1]?.endsWith("bench/app.js")) {
  const only = process.argv[2];
  const one: Record<string, () => Promise<BenchResult | BenchResult[]>> = { calls: callsPerExperiment, handler: handlerTimes, utilization };
  (only && one[only] ? one[only]().then((r) => (Array.isArray(r) ? r : [r])) : appBenchmarks())
    .then((rows) => {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
