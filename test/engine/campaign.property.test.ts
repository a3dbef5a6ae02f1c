/**
 * A property test of the planner and fold as a webhook-driven driver uses them: fast-check picks
 * the interleaving of planning, run results (some delivered twice, some late from a process that
 * died), proposals arriving, crashes with resumes, and time passing leases. Whatever the order,
 * the ledger never holds two keeps on one parent, more experiments than the budget, or a seed
 * twice for one commit; the branches agree with the state; and the campaign always finishes.
 * Paired seeds: every verdict's pairs are seeds both commits have results on, the best runs only
 * on seeds its own measurement, a candidate or the confirmation needs, and a campaign that ends
 * with a keep ends with a confirmation on fresh seeds.
 *
 * The metric is X (train.py) + Y (other.py) + a seed effect shared by every configuration + a
 * little noise of each configuration and seed; proposals change X or Y, so a stale candidate's
 * merge onto a new best sometimes applies (a different file) and sometimes conflicts (replaced as
 * a whole when it wins).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import type { LedgerEvent, NewEventInput } from "../../src/core/events.js";
import { campaignBranch } from "../../src/core/names.js";
import { type Command, plan } from "../../src/core/planner.js";
import { type CampaignState, fold } from "../../src/core/state.js";
import { applyVerdict, isNewResult, proposeExperiment, rebaseExperiment, recordedEvents, runFinished, runSpecs, runsStarted } from "../../src/engine/steps.js";
import { drive } from "../../src/local/driver.js";
import { type Executor, type Proposal, type ProposalContext, type RunSpec, silentLogger } from "../../src/ports.js";
import { createRng } from "../../src/proposers/rng.js";
import { FakeExecutor, FakeRepoHost, MemoryLedgerStore, ScriptedProposer } from "../fakes/index.js";

type Step =
  | { kind: "plan" }
  | { kind: "deliver"; pick: number; twice: boolean }
  | { kind: "propose"; pick: number }
  | { kind: "crash" }
  | { kind: "late"; pick: number }
  | { kind: "tick"; minutes: number }
  /** A run whose result never arrives (a lost webhook): only a lease finds it. */
  | { kind: "drop"; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "plan" as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat(), twice: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("propose" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "crash" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("late" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("tick" as const), minutes: fc.integer({ min: 1, max: 90 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }) },
);

const settings = fc.record({
  parallel: fc.integer({ min: 1, max: 4 }),
  maxExperiments: fc.integer({ min: 1, max: 7 }),
  repeats: fc.integer({ min: 1, max: 3 }),
  baselineRepeats: fc.integer({ min: 1, max: 3 }),
  /** Seed effect (shared by every configuration on a seed), relative to the spread of the candidates. */
  noise: fc.constantFrom(0, 0.01, 0.3),
  /** Noise of one configuration on one seed. */
  within: fc.constantFrom(0, 0.005, 0.05),
  /** Runs handed out with a lease (as on GitHub) or without (as locally). */
  lease: fc.boolean(),
});

type Settings = typeof settings extends fc.Arbitrary<infer T> ? T : never;

/** X + Y, a seed effect `seedEffect` shared by every configuration, and noise `within` of each configuration and seed. */
const metricOf = (seedEffect: number, within: number) => (files: Record<string, string>, seed: number) =>
  Number(/X = (\S+)/.exec(files["train.py"] ?? "")?.[1]) +
  Number(/Y = (\S+)/.exec(files["other.py"] ?? "")?.[1]) +
  seedEffect * createRng(`n${seed}`).normal() +
  within * createRng(`w${files["train.py"]}${files["other.py"]}:${seed}`).normal();

/** Even experiments change X, odd ones Y (drawn per experiment, so some candidates win). */
const proposal =
  (key: string) =>
  (ctx: ProposalContext): Proposal => {
    const u = createRng(`x${key}${ctx.experiment}`).uniform();
    const edit =
      ctx.experiment % 2 === 0
        ? { kind: "write" as const, path: "train.py", content: `X = ${u}\n` }
        : { kind: "write" as const, path: "other.py", content: `Y = ${u * 0.5 - 0.3}\n` };
    return { title: `${edit.path} ${ctx.experiment}`, hypothesis: "h", trace: "t", edits: [edit] };
  };

/** An executor that hands runs out and lets the test deliver them; leases like the App's. */
class Handout implements Executor {
  constructor(readonly leaseSeconds: number | undefined) {}
  async start(): Promise<void> {}
}

async function simulate(cfg: Settings, steps: Step[]) {
  const config: ConfigInput = {
    metric: { name: "loss", goal: "minimize" },
    run: "true",
    editable: ["train.py", "other.py"],
    budget: { parallel: cfg.parallel, max_experiments: cfg.maxExperiments, patience: 50, max_hours: 1000 },
    accept: { repeats: cfg.repeats, baseline_repeats: cfg.baselineRepeats, prefer_simpler: false },
  };
  const repo = new FakeRepoHost({ "train.py": "X = 0.5\n", "other.py": "Y = 0\n" });
  repo.branches.set(campaignBranch("7"), "base");
  const ledger = new MemoryLedgerStore();
  let now = new Date("2026-01-01T00:00:00Z");
  const append = async (evs: NewEventInput[]) => {
    if (evs.length) await ledger.append(evs, ledger.events.at(-1)?.seq ?? 0);
  };
  await append([{ type: "campaign_started", campaign: "7", config, base_commit: "base", goal: "g", source: "label" }]);
  const runner = new FakeExecutor(repo, metricOf(cfg.noise, cfg.within));
  const proposer = new ScriptedProposer([proposal("")]);
  const executor = new Handout(cfg.lease ? 600 : undefined);
  const deps = { repo, ledger, executor, proposer, logger: silentLogger };
  const state = () => fold(ledger.events);
  let inFlight: RunSpec[] = [];
  const dead: RunSpec[] = [];
  let proposals: Extract<Command, { kind: "propose" }>[] = [];

  const deliver = async (spec: RunSpec) => {
    const r = await runner.run(spec, new AbortController().signal);
    // What the App does with a result: append it only if the run has none yet.
    if (isNewResult(state(), spec)) await append([runFinished(spec, r)]);
  };

  /**
   * Executes every command of one plan, in order, as a naive driver would: the plan itself must be
   * safe to carry out whole (at most one keep, nothing that a keep in it makes stale).
   */
  const execute = async (): Promise<boolean> => {
    const s = state();
    const cmds = plan(s, now);
    for (const cmd of cmds) {
      switch (cmd.kind) {
        case "stop":
          await append([{ type: "campaign_stopped", reason: cmd.reason }]);
          return true;
        case "start_runs":
          await append(runsStarted(cmd, executor, now));
          inFlight.push(...runSpecs(s, cmd));
          break;
        case "propose":
          await append([
            { type: "experiment_requested", experiment: cmd.experiment, parent: cmd.parent, lease_until: new Date(now.getTime() + 1_800_000).toISOString() },
          ]);
          proposals.push(cmd);
          break;
        case "judge":
          await append(await applyVerdict(s, cmd, deps));
          break;
        case "rebase":
          await append(await rebaseExperiment(s, cmd, deps));
          break;
        default:
          await append(recordedEvents(cmd) ?? []);
          break;
      }
    }
    return cmds.length > 0;
  };

  const doStep = async (st: Step) => {
    if (state().stopped) return;
    switch (st.kind) {
      case "plan":
        await execute();
        return;
      case "deliver": {
        if (inFlight.length === 0) return;
        const spec = inFlight.splice(st.pick % inFlight.length, 1)[0] as RunSpec;
        await deliver(spec);
        if (st.twice) await deliver(spec);
        return;
      }
      case "late": {
        if (dead.length === 0) return;
        await deliver(dead.splice(st.pick % dead.length, 1)[0] as RunSpec);
        return;
      }
      case "propose": {
        if (proposals.length === 0) return;
        const cmd = proposals.splice(st.pick % proposals.length, 1)[0] as Extract<Command, { kind: "propose" }>;
        const cur = state();
        // A proposal given up, or asked for again and answered, is not answered twice.
        if (cur.experiments[cmd.experiment]?.phase !== "proposing") return;
        await append(await proposeExperiment(cur, cmd, deps));
        return;
      }
      case "crash":
        // The process dies: what it held in flight is gone, though a run may still report late.
        dead.push(...inFlight);
        inFlight = [];
        proposals = [];
        await append([{ type: "campaign_resumed", reason: "restart", restart: true }]);
        return;
      case "tick":
        now = new Date(now.getTime() + st.minutes * 60_000);
        return;
      case "drop":
        // Locally a run's process always reports (or a restart cancels it): only leased runs get lost.
        if (cfg.lease && inFlight.length) inFlight.splice(st.pick % inFlight.length, 1);
        return;
    }
  };

  for (const st of steps) {
    await doStep(st);
    check(state(), ledger.events, repo, cfg.maxExperiments);
  }
  // Drain: whatever happened, the campaign finishes once everything handed out reports. Results
  // are delivered in batches before each plan, so several candidates can pass at once.
  for (let i = 0; i < 2000 && !state().stopped; i++) {
    while (inFlight.length) await doStep({ kind: "deliver", pick: 0, twice: false });
    if (await execute()) continue;
    if (proposals.length) await doStep({ kind: "propose", pick: 0 });
    else now = new Date(now.getTime() + 600_000);
    check(state(), ledger.events, repo, cfg.maxExperiments);
  }
  const end = state();
  // It finishes on its budget (or because every baseline run was lost), never by stalling until
  // the clock runs out.
  expect(end.stopped?.reason, "the campaign finishes on its budget").toMatch(
    /^(max_experiments reached|patience exhausted|the baseline failed: run \(seed \d+\) was lost)/,
  );
  check(end, ledger.events, repo, cfg.maxExperiments);
}

/** The invariants, on the ledger itself and on what it folds to. */
function check(s: CampaignState, events: LedgerEvent[], repo: FakeRepoHost, maxExperiments: number): void {
  // Keeps form a chain: each kept experiment's parent is the best it replaced, or it replaced that
  // best as a whole (its change conflicted), which the ledger says.
  const kept = s.experiments.filter((e) => e && e.experiment > 0 && e.phase === "kept").sort((a, b) => (a.verdict?.seq ?? 0) - (b.verdict?.seq ?? 0));
  let best = { experiment: 0, commit: s.baseCommit };
  for (const e of kept) {
    if (e.verdict?.supersedes !== undefined) expect(e.verdict.supersedes, `experiment ${e.experiment} supersedes the best`).toBe(best.experiment);
    else expect(e.parent, `keep of experiment ${e.experiment} on its parent`).toBe(best.commit);
    best = { experiment: e.experiment, commit: e.commit };
  }
  expect(s.best.commit).toBe(best.commit);
  expect(repo.branches.get(campaignBranch(s.campaign))).toBe(best.commit);
  // Never more experiments than the budget.
  const numbers = new Set(events.flatMap((e) => (e.type === "experiment_requested" ? [e.experiment] : [])));
  expect(numbers.size).toBeLessThanOrEqual(maxExperiments);
  // Never a seed twice for one commit, in the ledger itself (cancelled runs are run again).
  const results = events.flatMap((e) => (e.type === "run_finished" && e.status !== "cancelled" ? [`${e.experiment}:${e.commit}:${e.seed}`] : []));
  expect(results.length, `duplicate results: ${results.filter((r, i) => results.indexOf(r) !== i).join(", ")}`).toBe(new Set(results).size);
  expect(s.problems).toEqual([]);
  // Branches: the best, and one per experiment still being measured.
  const measuring = s.experiments.filter((e) => e && e.experiment > 0 && e.phase === "running").map((e) => e.branch);
  expect([...repo.branches.keys()].sort()).toEqual([campaignBranch(s.campaign), ...measuring].sort());
  checkPairing(s, events);
}

/**
 * Paired seeds, replayed from the ledger: each verdict's pairs are seeds on which the candidate and
 * the best of the time both had a result; a best runs only on seeds its own measurement, its
 * re-measurement, a candidate's seed or a confirmation needs; a confirmation's seeds are fresh for
 * both commits, and each runs on both.
 */
function checkPairing(s: CampaignState, events: LedgerEvent[]): void {
  const cfg = s.config.accept;
  const ok = new Map<string, Set<number>>();
  const started = new Map<string, number[]>();
  let best = { experiment: 0, commit: s.baseCommit };
  const keptAt = new Map<string, number>([[s.baseCommit, 0]]);
  const confirmSeeds = new Map<string, Set<number>>();
  /** Where each seed of each commit stands: in flight, or its result (a cancelled seed is free again). */
  const status = new Map<string, Map<number, string>>();
  const setStatus = (commit: string, seed: number, st: string) => status.set(commit, (status.get(commit) ?? new Map()).set(seed, st));
  for (const ev of events) {
    if (ev.type === "run_started") setStatus(ev.commit, ev.seed, "running");
    if (ev.type === "run_finished") setStatus(ev.commit, ev.seed, ev.status);
    if (ev.type === "campaign_resumed" && ev.restart)
      for (const bySeed of status.values()) for (const [seed, st] of bySeed) if (st === "running") bySeed.set(seed, "cancelled");
    if (ev.type === "run_started") {
      const list = started.get(ev.commit) ?? [];
      if (!list.includes(ev.seed)) list.push(ev.seed);
      started.set(ev.commit, list);
    }
    if (ev.type === "run_finished" && ev.status === "ok") ok.set(ev.commit, (ok.get(ev.commit) ?? new Set()).add(ev.seed));
    if (ev.type === "experiment_judged" && ev.experiment > 0 && ev.pairs !== undefined) {
      const mine = ok.get(ev.commit) ?? new Set<number>();
      const theirs = ok.get(best.commit) ?? new Set<number>();
      const shared = [...mine].filter((seed) => theirs.has(seed)).length;
      expect(ev.pairs, `experiment ${ev.experiment} judged on ${ev.pairs} pairs`).toBeLessThanOrEqual(shared);
      expect(ev.pairs).toBeGreaterThan(0);
    }
    if (ev.type === "experiment_judged" && ev.verdict === "keep" && ev.experiment > 0) {
      best = { experiment: ev.experiment, commit: ev.commit };
      keptAt.set(ev.commit, started.get(ev.commit)?.length ?? 0);
    }
    if (ev.type === "confirmation_started") {
      for (const commit of [ev.base_commit, ev.best_commit]) {
        const before = status.get(commit) ?? new Map<number, string>();
        expect(
          ev.seeds.filter((seed) => (before.get(seed) ?? "cancelled") !== "cancelled"),
          "confirmation seeds are fresh",
        ).toEqual([]);
        confirmSeeds.set(commit, new Set([...(confirmSeeds.get(commit) ?? []), ...ev.seeds]));
      }
    }
  }
  // A best's runs: its own measurement (before it was kept), at most `repeats + baseline_repeats`
  // in all after it (its re-measurement), and otherwise only seeds another commit ran on or the
  // confirmation chose.
  const byOthers = new Map<string, Set<number>>();
  for (const [commit, seeds] of started)
    for (const [other] of started) if (other !== commit) byOthers.set(other, new Set([...(byOthers.get(other) ?? []), ...seeds]));
  for (const [commit, own] of keptAt) {
    const seeds = started.get(commit) ?? [];
    const after = seeds.slice(commit === s.baseCommit ? cfg.baseline_repeats : own);
    const unneeded = after.filter((seed) => !byOthers.get(commit)?.has(seed) && !confirmSeeds.get(commit)?.has(seed));
    expect(unneeded.length, `runs of best ${commit} on seeds nothing needed: ${unneeded.join(", ")}`).toBeLessThanOrEqual(
      commit === s.baseCommit ? 0 : cfg.repeats + cfg.baseline_repeats,
    );
  }
  // A campaign that ran out of experiments with a keep ends with a confirmation of its final best.
  if (s.stopped && /^(max_experiments reached|patience exhausted)/.test(s.stopped.reason) && s.best.experiment > 0 && cfg.confirm_repeats > 0) {
    expect(s.confirmation?.result, "a confirmation before the stop").toBeDefined();
    expect(s.confirmation?.bestCommit).toBe(s.best.commit);
    const stop = events.findIndex((e) => e.type === "campaign_stopped");
    const judged = events.findIndex((e) => e.type === "confirmation_judged" && e.best_commit === s.best.commit);
    expect(judged).toBeGreaterThan(-1);
    expect(judged).toBeLessThan(stop);
  }
}

describe("campaign property: planner and fold under any interleaving", () => {
  it("keeps its promises whatever the order of results, redeliveries, crashes and leases", async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(step, { maxLength: 120 }), async (cfg, steps) => {
        await simulate(cfg, steps);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 150) },
    );
  }, 120_000);
});

describe("campaign property: the local driver, interrupted and resumed at random", () => {
  it("holds the state that the ledger folds to, and keeps the same promises", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ parallel: fc.integer({ min: 1, max: 3 }), maxExperiments: fc.integer({ min: 1, max: 6 }), repeats: fc.integer({ min: 1, max: 3 }) }),
        fc.array(fc.integer({ min: 1, max: 25 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        async (cfg, interruptAfter, seed) => {
          const config: ConfigInput = {
            metric: { name: "loss", goal: "minimize" },
            run: "true",
            editable: ["train.py", "other.py"],
            budget: { parallel: cfg.parallel, max_experiments: cfg.maxExperiments, patience: 50 },
            accept: { repeats: cfg.repeats, baseline_repeats: 2 },
          };
          const repo = new FakeRepoHost({ "train.py": "X = 0.5\n", "other.py": "Y = 0\n" });
          repo.branches.set(campaignBranch("1"), "base");
          const ledger = new MemoryLedgerStore();
          await ledger.append([{ type: "campaign_started", campaign: "1", config, base_commit: "base", goal: "g", source: "cli" }], 0);
          // Runs take 0 to 4 ms, drawn per run, so results arrive in an order of their own.
          const rng = createRng(`delays${seed}`);
          const runner = new FakeExecutor(repo, metricOf(0.01, 0.002));
          const run = runner.run.bind(runner);
          runner.run = async (spec, signal) => {
            await new Promise((r) => setTimeout(r, Math.floor(rng.uniform() * 5)));
            return run(spec, signal);
          };
          // Git takes a few milliseconds too: branch moves and commits are not instant.
          const slow =
            <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
            async (...a: A): Promise<R> => {
              await new Promise((r) => setTimeout(r, Math.floor(rng.uniform() * 4)));
              return f(...a);
            };
          repo.setBranch = slow(repo.setBranch.bind(repo));
          repo.deleteBranch = slow(repo.deleteBranch.bind(repo));
          repo.commit = slow(repo.commit.bind(repo));
          const proposer = new ScriptedProposer([proposal(String(seed))]);
          const deps = { repo, ledger, executor: runner, proposer, logger: silentLogger };
          for (let round = 0; round <= interruptAfter.length; round++) {
            const ac = new AbortController();
            let seen = 0;
            const limit = interruptAfter[round];
            const { state } = await drive({
              events: [...ledger.events],
              deps,
              clock: { now: () => new Date("2026-01-01T00:00:00Z") },
              signal: ac.signal,
              tickMs: 1,
              onUpdate: (_s, _r, ev) => {
                if (ev && limit !== undefined && ++seen >= limit) ac.abort();
              },
            });
            expect(fold(ledger.events)).toEqual(state);
            check(state, ledger.events, repo, cfg.maxExperiments);
            if (state.stopped) break;
            await ledger.append([{ type: "campaign_resumed", reason: "resumed", restart: true }], ledger.events.at(-1)?.seq ?? 0);
          }
          const end = fold(ledger.events);
          if (!end.stopped) {
            // Interrupted more often than there were rounds: one last uninterrupted run finishes it.
            const { state } = await drive({
              events: [...ledger.events],
              deps,
              clock: { now: () => new Date("2026-01-01T00:00:00Z") },
              signal: new AbortController().signal,
              tickMs: 1,
            });
            expect(fold(ledger.events)).toEqual(state);
            expect(state.stopped?.reason).toMatch(/^(max_experiments reached|patience exhausted)/);
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) },
    );
  }, 120_000);
});
