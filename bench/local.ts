/**
 * The local driver (`drive`, src/local/driver.ts) with in-memory fakes and timed runs.
 *
 * - local_slot_utilization: `parallel: 2`, 20 experiments, runs sleep RUN_MS, the proposer takes
 *   PROPOSE_MS (shorter than a run) and always returns a valid edit. The executor records each
 *   run's start and end; the figure is the share of the window from the first run start to the
 *   last run end during which both slots are busy.
 * - local_overhead_ms_per_experiment: `parallel: 1`, a zero-time proposer, runs sleeping
 *   OVERHEAD_RUN_MS: (wall time of drive() - sum of measured run time) / experiments, with the
 *   real FileLedgerStore in a temp dir (fsync per append); the in-memory ledger as an extra key.
 *   Median of OVERHEAD_REPEATS campaigns each. The driver's default tickMs (as the CLI uses).
 *
 * The metric: train.py holds `X = <number>`; a run's metric is X plus seeded noise (sd 0.05),
 * minimized. The proposer picks X uniformly in [0, 1) from a stream seeded by the experiment
 * number, so some candidates are kept and most are not, as in a real campaign.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { ConfigInput } from "../src/core/config.js";
import { type LedgerEvent, type LedgerProblem, type NewEventInput, stamp } from "../src/core/events.js";
import { campaignBranch } from "../src/core/names.js";
import { tally } from "../src/core/state.js";
import { drive } from "../src/local/driver.js";
import { LocalFleet } from "../src/local/fleet.js";
import { FileLedgerStore } from "../src/local/ledger.js";
import type { LedgerStore, Proposal, ProposalContext, Proposer, RunResult, RunRunner, RunSpec } from "../src/ports.js";
import { silentLogger } from "../src/ports.js";
import { createRng } from "../src/proposers/rng.js";
import { sleep } from "../src/sleep.js";
import { FakeRepoHost } from "../test/fakes/index.js";
import { type BenchResult, round } from "./result.js";

const RUN_MS = 200;
const PROPOSE_MS = 80;
const EXPERIMENTS = 20;
const OVERHEAD_RUN_MS = 30;
const OVERHEAD_REPEATS = 3;

/** Sleeps `runMs` per run and records when each run started and ended (performance.now()). */
class TimedExecutor implements RunRunner {
  intervals: { start: number; end: number }[] = [];
  constructor(
    readonly repo: FakeRepoHost,
    readonly runMs: number,
  ) {}
  async run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    const start = performance.now();
    await sleep(this.runMs, signal);
    const end = performance.now();
    if (signal.aborted) return { status: "cancelled", metric: null, seconds: 0, exitCode: null, reason: "cancelled", tail: "" };
    this.intervals.push({ start, end });
    const x = Number(/X = ([0-9.eE+-]+)/.exec(this.repo.tree(spec.commit)["train.py"] ?? "")?.[1]);
    const metric = x + 0.05 * createRng(`run:${spec.commit}:${spec.seed}`).normal();
    return { status: "ok", metric, seconds: (end - start) / 1000, exitCode: 0, reason: "", tail: `val: ${metric}` };
  }
}

/** Takes `delayMs`, then proposes `X = <uniform>` seeded by the experiment number: always a valid edit. */
class TimedProposer implements Proposer {
  calls = 0;
  constructor(readonly delayMs: number) {}
  async propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal> {
    this.calls++;
    await sleep(this.delayMs, signal);
    const x = createRng(`propose:${ctx.experiment}`).uniform();
    return { title: `X -> ${x.toFixed(4)}`, hypothesis: "a different X", trace: "bench", edits: [{ kind: "write", path: "train.py", content: `X = ${x}\n` }] };
  }
}

/** In memory, stamped with the real time (the planner's max_hours budget reads the stamps). */
class MemLedger implements LedgerStore {
  events: LedgerEvent[] = [];
  problems: LedgerProblem[] = [];
  async read() {
    return { events: [...this.events], problems: [...this.problems] };
  }
  async append(events: NewEventInput[], expectedSeq: number) {
    const last = this.events.at(-1)?.seq ?? 0;
    if (last !== expectedSeq) throw new Error(`CAS mismatch: ${last} != ${expectedSeq}`);
    const stamped = stamp(events, last, new Date());
    this.events.push(...stamped);
    return stamped;
  }
  async writeTrace(n: number, _md: string) {
    return `traces/${n}.md`;
  }
}

const config = (parallel: number): ConfigInput => ({
  metric: { name: "loss", goal: "minimize" },
  run: "true",
  editable: ["train.py"],
  budget: { parallel, max_experiments: EXPERIMENTS, patience: 1000 },
});

interface CampaignTiming {
  wallMs: number;
  intervals: { start: number; end: number }[];
  experiments: number;
  kept: number;
}

async function campaign(parallel: number, runMs: number, proposeMs: number, ledger: LedgerStore): Promise<CampaignTiming> {
  const repo = new FakeRepoHost({ "train.py": "X = 0.5\n", "eval.py": "x" });
  // The campaign branch, as `autoresearch run` creates it: a keep moves it with a compare-and-swap.
  repo.branches.set(campaignBranch("1"), "base");
  const executor = new TimedExecutor(repo, runMs);
  await ledger.append([{ type: "campaign_started", campaign: "1", config: config(parallel), base_commit: "base", goal: "lower loss", source: "cli" }], 0);
  const deps = { repo, ledger, executor: new LocalFleet(executor), proposer: new TimedProposer(proposeMs), logger: silentLogger };
  const events = (await ledger.read()).events;
  const t0 = performance.now();
  const { state, interrupted } = await drive({ events, deps, clock: { now: () => new Date() }, signal: new AbortController().signal });
  const wallMs = performance.now() - t0;
  if (interrupted || !state.stopped) throw new Error("bench campaign did not finish");
  const t = tally(state);
  return { wallMs, intervals: executor.intervals, experiments: t.experiments, kept: t.kept };
}

/** Time with at least `k` runs in flight, and the window from the first start to the last end. */
function busyTime(intervals: readonly { start: number; end: number }[], k: number): { busy: number; window: number } {
  const points: [number, number][] = [];
  for (const i of intervals) points.push([i.start, 1], [i.end, -1]);
  // Ends before starts at the same instant: a slot handed over is not counted twice.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let active = 0;
  let busy = 0;
  let prev = points[0]?.[0] ?? 0;
  for (const [t, d] of points) {
    if (active >= k) busy += t - prev;
    active += d;
    prev = t;
  }
  const window = (points.at(-1)?.[0] ?? 0) - (points[0]?.[0] ?? 0);
  return { busy, window };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function overheadPerExperiment(makeLedger: () => Promise<{ ledger: LedgerStore; cleanup: () => Promise<void> }>): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < OVERHEAD_REPEATS; r++) {
    const { ledger, cleanup } = await makeLedger();
    try {
      const c = await campaign(1, OVERHEAD_RUN_MS, 0, ledger);
      const runMs = c.intervals.reduce((s, i) => s + (i.end - i.start), 0);
      samples.push((c.wallMs - runMs) / c.experiments);
    } finally {
      await cleanup();
    }
  }
  return median(samples);
}

export async function localBenchmarks(): Promise<BenchResult[]> {
  const util = await campaign(2, RUN_MS, PROPOSE_MS, new MemLedger());
  const both = busyTime(util.intervals, 2);
  const any = busyTime(util.intervals, 1);
  const utilization = both.busy / both.window;

  const memory = await overheadPerExperiment(async () => ({ ledger: new MemLedger(), cleanup: async () => {} }));
  const file = await overheadPerExperiment(async () => {
    const dir = await mkdtemp(join(tmpdir(), "autoresearch-bench-"));
    return { ledger: new FileLedgerStore(join(dir, "campaign")), cleanup: () => rm(dir, { recursive: true, force: true }) };
  });

  return [
    {
      name: "local_slot_utilization",
      value: round(utilization),
      unit: "ratio",
      better: "higher",
      goal: ">= 0.9",
      pass: utilization >= 0.9,
      any_slot_busy: round(any.busy / any.window),
      runs: util.intervals.length,
      experiments: util.experiments,
      kept: util.kept,
      run_ms: RUN_MS,
      propose_ms: PROPOSE_MS,
      window_ms: round(both.window, 5),
    },
    {
      name: "local_overhead_ms_per_experiment",
      value: round(file, 3),
      unit: "ms",
      better: "lower",
      ledger: "file",
      in_memory_ms: round(memory, 3),
      experiments: EXPERIMENTS,
      run_ms: OVERHEAD_RUN_MS,
      repeats: OVERHEAD_REPEATS,
    },
  ];
}
