import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { type LedgerEvent, type NewEventInput, stamp } from "../../src/core/events.js";
import { type Command, experimentsSinceKeep, plan, requestedCount } from "../../src/core/planner.js";
import { activeMs, fold, tally } from "../../src/core/state.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const config = (over: Partial<ConfigInput> = {}): ConfigInput => ({
  metric: { name: "loss", goal: "minimize" },
  run: "true",
  editable: ["train.py"],
  budget: { parallel: 2, max_experiments: 5, patience: 3, ...(over.budget ?? {}) },
  accept: { repeats: 3, baseline_repeats: 3, ...(over.accept ?? {}) },
});

class Ledger {
  events: LedgerEvent[] = [];
  constructor(cfg: ConfigInput = config()) {
    this.add({ type: "campaign_started", campaign: "1", config: cfg, base_commit: "c0", goal: "g", source: "cli" });
  }
  add(...evs: NewEventInput[]) {
    this.events.push(...stamp(evs, this.events.at(-1)?.seq ?? 0, T0));
    return this;
  }
  run(experiment: number, commit: string, seed: number, metric: number | null, status: "ok" | "crash" = "ok") {
    return this.add(
      { type: "run_started", experiment, commit, seed },
      { type: "run_finished", experiment, commit, seed, status, metric, seconds: 1, exit_code: status === "ok" ? 0 : 1 },
    );
  }
  baseline(...metrics: number[]) {
    for (const [i, m] of metrics.entries()) this.run(0, "c0", i + 1, m);
    return this.add({
      type: "experiment_judged",
      experiment: 0,
      commit: "c0",
      verdict: "keep",
      reason: "baseline",
      baseline_mean: null,
      candidate_mean: null,
      improvement: 0,
      p_value: null,
    });
  }
  proposed(experiment: number, parent = "c0", commit = `c${experiment}`) {
    return this.add(
      { type: "experiment_requested", experiment, parent },
      {
        type: "experiment_proposed",
        experiment,
        parent,
        commit,
        branch: `autoresearch/1/${experiment}`,
        title: `t${experiment}`,
        hypothesis: "h",
        edits: [{ kind: "write", path: "train.py", content: String(experiment) }],
        diff: "",
        lines_added: 1,
        lines_removed: 1,
      },
    );
  }
  judged(experiment: number, verdict: "keep" | "discard", commit = `c${experiment}`) {
    return this.add({
      type: "experiment_judged",
      experiment,
      commit,
      verdict,
      reason: "r",
      baseline_mean: null,
      candidate_mean: null,
      improvement: null,
      p_value: null,
    });
  }
  plan(now = T0): Command[] {
    return plan(fold(this.events), now);
  }
}

const kinds = (cmds: Command[]) => cmds.map((c) => c.kind);

describe("plan", () => {
  it("starts the baseline runs up to the parallel slots", () => {
    expect(new Ledger().plan()).toEqual([{ kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [1, 2] }]);
  });

  it("proposes for the free slot and one ahead while the last baseline run is in flight", () => {
    const l = new Ledger().run(0, "c0", 1, 1.0).run(0, "c0", 2, 1.0).add({ type: "run_started", experiment: 0, commit: "c0", seed: 3 });
    expect(l.plan()).toEqual([
      { kind: "propose", experiment: 1, parent: "c0", reserveUsd: 0 },
      { kind: "propose", experiment: 2, parent: "c0", reserveUsd: 0 },
    ]);
    // Once both are asked for, nothing more is proposed until something finishes.
    l.add({ type: "experiment_requested", experiment: 1, parent: "c0" }, { type: "experiment_requested", experiment: 2, parent: "c0" });
    expect(l.plan()).toEqual([]);
  });

  it("records the baseline once its runs are done", () => {
    const l = new Ledger().run(0, "c0", 1, 1.0).run(0, "c0", 2, 1.01).run(0, "c0", 3, 0.99);
    const cmds = l.plan();
    expect(cmds[0]).toMatchObject({ kind: "judge", experiment: 0, verdict: "keep" });
    expect(cmds[0]?.kind === "judge" && cmds[0].baselineMean).toBeCloseTo(1.0, 12);
  });

  it("stops when every baseline run failed, with the run's reason", () => {
    const l = new Ledger();
    for (const seed of [1, 2, 3])
      l.add(
        { type: "run_started", experiment: 0, commit: "c0", seed },
        {
          type: "run_finished",
          experiment: 0,
          commit: "c0",
          seed,
          status: "no_metric",
          metric: null,
          seconds: 1,
          exit_code: 0,
          reason: "no line 'loss: <number>'",
        },
      );
    expect(l.plan()).toEqual([{ kind: "stop", reason: "the baseline failed: run (seed 1) printed no metric: no line 'loss: <number>'" }]);
  });

  it("gives a new candidate one run", () => {
    const l = new Ledger().baseline(1, 1.01, 0.99).proposed(1);
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [1] });
  });

  it("gives a promising candidate its remaining seeds", () => {
    const l = new Ledger().baseline(1, 1.01, 0.99).proposed(1).run(1, "c1", 1, 0.5);
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [2, 3] });
  });

  it("discards a candidate whose first run is worse", () => {
    const l = new Ledger().baseline(1, 1.01, 0.99).proposed(1).run(1, "c1", 1, 1.5);
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 1, verdict: "discard" });
  });

  it("discards a candidate whose run crashed, naming the failure", () => {
    const l = new Ledger().baseline(1, 1.01, 0.99).proposed(1).run(1, "c1", 1, null, "crash");
    expect(l.plan()[0]).toMatchObject({ kind: "judge", verdict: "discard", reason: expect.stringContaining("crashed") });
  });

  it("keeps a confirmed candidate and moves the best", () => {
    const l = new Ledger().baseline(1, 1.01, 0.99).proposed(1).run(1, "c1", 1, 0.5).run(1, "c1", 2, 0.51).run(1, "c1", 3, 0.49);
    const cmds = l.plan();
    expect(cmds[0]).toMatchObject({ kind: "judge", experiment: 1, verdict: "keep", commit: "c1" });
    // No proposal on the old best while a keep is about to land.
    expect(kinds(cmds)).not.toContain("propose");
    l.judged(1, "keep");
    expect(fold(l.events).best).toEqual({ experiment: 1, commit: "c1" });
  });

  it("rebases a winning candidate whose parent is no longer the best", () => {
    const l = new Ledger()
      .baseline(1, 1.01, 0.99)
      .proposed(1)
      .proposed(2)
      .run(1, "c1", 1, 0.8)
      .run(1, "c1", 2, 0.8)
      .run(1, "c1", 3, 0.8)
      .judged(1, "keep")
      .run(2, "c2", 1, 0.5)
      .run(2, "c2", 2, 0.5)
      .run(2, "c2", 3, 0.5)
      .run(1, "c1", 4, 0.81)
      .run(1, "c1", 5, 0.79)
      .run(1, "c1", 6, 0.8);
    expect(l.plan()[0]).toEqual({ kind: "rebase", experiment: 2, onto: "c1" });
    // After the rebase the candidate is measured in full on the new commit.
    l.add({ type: "experiment_rebased", experiment: 2, parent: "c1", commit: "c2b", diff: "", lines_added: 1, lines_removed: 1 });
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 2, commit: "c2b", parent: "c1", seeds: [1, 2] });
  });

  it("measures a newly kept best again with fresh seeds before it judges other candidates", () => {
    const l = new Ledger()
      .baseline(1, 1.01, 0.99)
      .proposed(1)
      .proposed(2, "c0")
      .run(1, "c1", 1, 0.5)
      .run(1, "c1", 2, 0.51)
      .run(1, "c1", 3, 0.49)
      .judged(1, "keep")
      .run(2, "c2", 1, 0.3);
    const cmds = l.plan();
    // Fresh seeds 4 and 5 of the kept commit take the free slots; candidate 2 waits for its verdict.
    expect(cmds[0]).toEqual({ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [4, 5] });
    expect(kinds(cmds)).not.toContain("judge");
    l.run(1, "c1", 4, 0.5).run(1, "c1", 5, 0.5).run(1, "c1", 6, 0.5);
    expect(l.plan()[0]).toMatchObject({ kind: "start_runs", experiment: 2, seeds: [2, 3] });
  });

  it("stops on patience", () => {
    const l = new Ledger().baseline(1, 1, 1);
    for (const n of [1, 2, 3]) l.proposed(n).run(n, `c${n}`, 1, 2).judged(n, "discard");
    expect(experimentsSinceKeep(fold(l.events))).toBe(3);
    expect(l.plan()).toEqual([{ kind: "stop", reason: expect.stringContaining("patience exhausted: 3") }]);
  });

  it("lets experiments in flight finish when patience runs out, without proposing more", () => {
    const l = new Ledger().baseline(1, 1, 1);
    for (const n of [1, 2, 3]) l.proposed(n).run(n, `c${n}`, 1, 2).judged(n, "discard");
    l.proposed(4).add({ type: "run_started", experiment: 4, commit: "c4", seed: 1 });
    expect(l.plan()).toEqual([]);
  });

  it("counts experiments cut short by a hard stop as unfinished, not in flight", () => {
    const l = new Ledger()
      .baseline(1, 1, 1)
      .proposed(1)
      .add({ type: "run_started", experiment: 1, commit: "c1", seed: 1 }, { type: "campaign_stopped", reason: "time budget spent (max_hours: 1)" });
    expect(tally(fold(l.events))).toMatchObject({ experiments: 1, inFlight: 0, unfinished: 1 });
  });

  it("stops on the time budget", () => {
    const l = new Ledger(config({ budget: { max_hours: 1 } })).baseline(1, 1, 1);
    expect(l.plan(new Date(T0.getTime() + 3_600_001))).toEqual([{ kind: "stop", reason: "time budget spent (max_hours: 1)" }]);
  });

  it("stops after max_experiments once nothing is in flight", () => {
    const l = new Ledger(config({ budget: { max_experiments: 2, patience: 10 } })).baseline(1, 1, 1);
    l.proposed(1).run(1, "c1", 1, 2);
    l.proposed(2);
    expect(kinds(l.plan())).not.toContain("propose");
    l.judged(1, "discard").run(2, "c2", 1, 2).judged(2, "discard");
    expect(l.plan()).toEqual([{ kind: "stop", reason: "max_experiments reached (2)" }]);
  });

  it("plans nothing once stopped", () => {
    expect(new Ledger().add({ type: "campaign_stopped", reason: "stop" }).plan()).toEqual([]);
  });

  it("never starts more runs than parallel slots", () => {
    const l = new Ledger(config({ budget: { parallel: 3 } })).baseline(1, 1.01, 0.99).proposed(1).proposed(2).proposed(3).proposed(4);
    const runs = l.plan().filter((c) => c.kind === "start_runs");
    expect(runs.reduce((n, c) => n + (c.kind === "start_runs" ? c.seeds.length : 0), 0)).toBe(3);
  });

  it("re-proposes an experiment abandoned by a killed process, and re-queues its lost runs", () => {
    const l = new Ledger()
      .baseline(1, 1, 1)
      .proposed(1)
      .add(
        { type: "run_started", experiment: 1, commit: "c1", seed: 1 },
        { type: "experiment_requested", experiment: 2, parent: "c0" },
        { type: "campaign_resumed", reason: "resumed" },
      );
    const cmds = l.plan();
    expect(cmds).toContainEqual({ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [1] });
    expect(cmds).toContainEqual({ kind: "propose", experiment: 2, parent: "c0", reserveUsd: 0 });
  });
});

describe("plan: what the engine promises under parallel runs, resumes and budgets", () => {
  const keeps = (cmds: Command[]) => cmds.filter((c) => c.kind === "judge" && c.verdict === "keep");

  it("keeps at most one candidate per plan (the larger improvement); the other is rebased onto it", () => {
    const l = new Ledger(config({ budget: { parallel: 4 } }))
      .baseline(1, 1.01, 0.99)
      .proposed(1)
      .proposed(2)
      .run(1, "c1", 1, 0.8)
      .run(1, "c1", 2, 0.81)
      .run(1, "c1", 3, 0.79)
      .run(2, "c2", 1, 0.5)
      .run(2, "c2", 2, 0.51)
      .run(2, "c2", 3, 0.49);
    const cmds = l.plan();
    expect(keeps(cmds)).toEqual([expect.objectContaining({ experiment: 2, commit: "c2" })]);
    // Nothing is proposed or rebased onto the best that is about to be replaced.
    expect(kinds(cmds)).not.toContain("propose");
    expect(kinds(cmds)).not.toContain("rebase");
    l.judged(2, "keep", "c2");
    // The new best is measured again first (winner's curse); then experiment 1, which passed
    // against the old best, is judged against the new one: worse than it, it is discarded, never
    // kept on its old parent (one that still wins is rebased: see "rebases a winning candidate").
    expect(l.plan()).toContainEqual({ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [4, 5, 6] });
    l.run(2, "c2", 4, 0.5).run(2, "c2", 5, 0.5).run(2, "c2", 6, 0.5);
    expect(keeps(l.plan())).toEqual([]);
    expect(l.plan()).toContainEqual(expect.objectContaining({ kind: "judge", experiment: 1, verdict: "discard", baselineMean: 0.5 }));
  });

  it("chooses a candidate's seeds by which have results: a seed in flight at a restart is run again, a finished one never", () => {
    const l = new Ledger(config({ budget: { parallel: 3 } }))
      .baseline(1, 1.01, 0.99)
      .proposed(1)
      .run(1, "c1", 1, 0.5)
      .add({ type: "run_started", experiment: 1, commit: "c1", seed: 2 })
      .run(1, "c1", 3, 0.5)
      .add({ type: "campaign_resumed", reason: "resumed" });
    const runs = l.plan().filter((c) => c.kind === "start_runs");
    expect(runs).toEqual([{ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [2] }]);
  });

  it("re-runs the baseline seed that was in flight, not one that finished", () => {
    const l = new Ledger(config({ budget: { parallel: 1 } }))
      .run(0, "c0", 1, 1)
      .add({ type: "run_started", experiment: 0, commit: "c0", seed: 2 }, { type: "campaign_resumed", reason: "resumed" });
    expect(l.plan()).toEqual([{ kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [2] }]);
  });

  it("never proposes beyond max_experiments, counting experiments a restart abandoned", () => {
    const l = new Ledger(config({ budget: { parallel: 4, max_experiments: 4, patience: 100 } }))
      .baseline(1, 1, 1)
      .proposed(1)
      .proposed(2)
      .add({ type: "experiment_requested", experiment: 3, parent: "c0" }, { type: "campaign_resumed", reason: "resumed" });
    const proposals = l.plan().filter((c) => c.kind === "propose");
    // #3 is asked for again and #4 is the last one the budget allows: never #5.
    expect(proposals.map((c) => c.kind === "propose" && c.experiment)).toEqual([3, 4]);
    expect(requestedCount(fold(l.events))).toBe(3);
  });

  it("asks again for a proposal whose lease passed, once, then gives it up", () => {
    const lease = new Date(T0.getTime() + 60_000).toISOString();
    const later = new Date(T0.getTime() + 120_000);
    const l = new Ledger(config({ budget: { parallel: 1 } }))
      .baseline(1, 1, 1)
      .add({ type: "experiment_requested", experiment: 1, parent: "c0", lease_until: lease });
    // Within the lease: nothing to do for it.
    expect(l.plan(T0).filter((c) => c.kind === "propose" && c.experiment === 1)).toEqual([]);
    expect(l.plan(later)).toContainEqual({ kind: "propose", experiment: 1, parent: "c0", reserveUsd: 0 });
    l.add({ type: "experiment_requested", experiment: 1, parent: "c0", lease_until: new Date(later.getTime() + 60_000).toISOString() });
    expect(l.plan(new Date(later.getTime() + 120_000))).toContainEqual({ kind: "proposal_lost", experiment: 1, reason: expect.stringContaining("twice") });
  });

  it("hands a run out again when its lease passes with no result, once, then records it as lost", () => {
    const l = new Ledger(config({ budget: { parallel: 1 } }))
      .baseline(1, 1, 1)
      .proposed(1)
      .add({ type: "run_started", experiment: 1, commit: "c1", seed: 1, lease_until: new Date(T0.getTime() + 1000).toISOString() });
    const runCommands = (now: Date) => l.plan(now).filter((c) => c.kind === "start_runs" || c.kind === "run_lost");
    expect(runCommands(T0)).toEqual([]);
    const after = new Date(T0.getTime() + 2000);
    expect(runCommands(after)).toEqual([{ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [1] }]);
    l.add({ type: "run_started", experiment: 1, commit: "c1", seed: 1, lease_until: new Date(T0.getTime() + 3000).toISOString() });
    // Handed out again: the same run, counted once for the slots.
    expect(fold(l.events).experiments[1]?.runs).toHaveLength(1);
    expect(runCommands(new Date(T0.getTime() + 4000))).toEqual([
      { kind: "run_lost", experiment: 1, commit: "c1", seed: 1, reason: "no result within its lease, 2 times" },
    ]);
    // A lost run is a failed run: the candidate is discarded with the reason.
    l.add({ type: "run_finished", experiment: 1, commit: "c1", seed: 1, status: "lost", metric: null, seconds: 0, exit_code: null, reason: "no result" });
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 1, verdict: "discard", reason: "run (seed 1) was lost: no result" });
  });

  it("starts nothing while paused, and counts only the time the campaign ran against max_hours", () => {
    const hour = 3_600_000;
    const l = new Ledger(config({ budget: { max_hours: 1 } })).baseline(1, 1, 1);
    l.events.push(...stamp([{ type: "campaign_paused", reason: "interrupted" }], l.events.at(-1)?.seq ?? 0, new Date(T0.getTime() + 0.5 * hour)));
    expect(l.plan(new Date(T0.getTime() + 30 * hour))).toEqual([]);
    // Resumed the next day: half an hour was used, half an hour is left.
    const resumedAt = new Date(T0.getTime() + 24 * hour);
    l.events.push(...stamp([{ type: "campaign_resumed", reason: "resumed" }], l.events.at(-1)?.seq ?? 0, resumedAt));
    expect(kinds(l.plan(new Date(resumedAt.getTime() + 0.4 * hour)))).toContain("propose");
    expect(l.plan(new Date(resumedAt.getTime() + 0.5 * hour))).toEqual([{ kind: "stop", reason: "time budget spent (max_hours: 1)" }]);
  });

  it("after a crash, the running stretch ends at the last recorded event", () => {
    const hour = 3_600_000;
    const l = new Ledger(config({ budget: { max_hours: 1 } }));
    l.events.push(...stamp([{ type: "run_started", experiment: 0, commit: "c0", seed: 1 }], 1, new Date(T0.getTime() + 0.25 * hour)));
    // Killed without a trace; resumed two days later.
    const resumedAt = new Date(T0.getTime() + 48 * hour);
    l.events.push(...stamp([{ type: "campaign_resumed", reason: "resumed" }], 2, resumedAt));
    expect(activeMs(fold(l.events), new Date(resumedAt.getTime() + 0.1 * hour))).toBeCloseTo(0.35 * hour, -2);
  });

  it("applies a budget change recorded in the ledger, and extends a stopped campaign once resumed", () => {
    const l = new Ledger(config({ budget: { max_experiments: 1, patience: 10 } })).baseline(1, 1, 1);
    l.proposed(1).run(1, "c1", 1, 2).judged(1, "discard");
    expect(l.plan()).toEqual([{ kind: "stop", reason: "max_experiments reached (1)" }]);
    l.add({ type: "campaign_stopped", reason: "max_experiments reached (1)" });
    l.add({ type: "budget_changed", budget: { max_experiments: 3 } }, { type: "campaign_resumed", reason: "extended" });
    const s = fold(l.events);
    expect(s.config.budget.max_experiments).toBe(3);
    expect(s.stopped).toBeUndefined();
    expect(l.plan().filter((c) => c.kind === "propose")).toHaveLength(2);
  });

  it("stops with the proposer's message when it reported it cannot work at all", () => {
    const l = new Ledger().baseline(1, 1, 1).add({ type: "experiment_requested", experiment: 1, parent: "c0" });
    l.add({ type: "proposal_failed", experiment: 1, reason: "no API key", fatal: true });
    expect(l.plan()).toEqual([{ kind: "stop", reason: "proposer: no API key" }]);
  });
});

describe("plan: cost reservations", () => {
  const claude = (budget: Record<string, unknown>) =>
    ({ ...config({ budget: budget as ConfigInput["budget"] }), proposer: { kind: "claude", model: "claude-sonnet-5-5" } }) as ConfigInput;

  /** A ledger whose experiment 1 was proposed at `cost`, with `reserved` held by proposals in flight. */
  const history = (budget: Record<string, unknown>, cost: number, inFlight: number[] = []) => {
    const l = new Ledger(claude({ max_experiments: 50, patience: 50, ...budget })).baseline(1, 1, 1).proposed(1);
    // proposed() records no usage: add the cost of experiment 1 through a second experiment's failure.
    l.add({ type: "experiment_requested", experiment: 2, parent: "c0" }, { type: "proposal_failed", experiment: 2, reason: "r", usage: { cost_usd: cost } });
    for (const [i, r] of inFlight.entries()) l.add({ type: "experiment_requested", experiment: 3 + i, parent: "c0", reserved_usd: r });
    return l;
  };

  it.each<[string, Record<string, unknown>, number, number[], number[]]>([
    ["before any proposal reported: one at a time, with all that is left", { parallel: 2, max_cost_usd: 3 }, 0, [], [3]],
    ["plenty left: an equal share each among parallel + 1 (two wanted: one run slot is taken)", { parallel: 2, max_cost_usd: 3 }, 0.1, [], [0.9667, 0.9667]],
    ["share below twice the largest proposal: one at a time", { parallel: 2, max_cost_usd: 3 }, 0.6, [], [2.4]],
    ["one at a time, and one is in flight: none", { parallel: 2, max_cost_usd: 3 }, 0.6, [2.4], []],
    ["shares, some held by proposals in flight: only what is unreserved", { parallel: 2, max_cost_usd: 3 }, 0.1, [0.9667, 0.9667, 0.9], []],
  ])("%s", (_name, budget, cost, inFlight, want) => {
    const l = history(budget, cost, inFlight);
    const reserves = l
      .plan()
      .flatMap((c) => (c.kind === "propose" ? [c.reserveUsd] : []))
      .map((r) => Number(r.toFixed(4)));
    expect(reserves).toEqual(want);
    const s = fold(l.events);
    expect(s.reservedUsd + s.costUsd + reserves.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3 + 1e-9);
  });

  it("a proposal's spend replaces its reservation; a crash leaves the reservation counted as spent", () => {
    const l = new Ledger(claude({ parallel: 1, max_cost_usd: 2 })).baseline(1, 1, 1);
    l.add(
      { type: "experiment_requested", experiment: 1, parent: "c0", reserved_usd: 1 },
      { type: "experiment_requested", experiment: 2, parent: "c0", reserved_usd: 0.5 },
    );
    l.add({ type: "proposal_interrupted", experiment: 1, reason: "interrupted", usage: { cost_usd: 0.2 } });
    let s = fold(l.events);
    expect(s.costUsd).toBeCloseTo(0.2, 12);
    expect(s.reservedUsd).toBeCloseTo(0.5, 12);
    // Experiment 2's process died without a word: its reservation is spent as far as anyone knows.
    l.add({ type: "campaign_resumed", reason: "resumed" }, { type: "experiment_requested", experiment: 2, parent: "c0", reserved_usd: 0.3 });
    s = fold(l.events);
    expect(s.costUsd).toBeCloseTo(0.7, 12);
    expect(s.costUnknownUsd).toBeCloseTo(0.5, 12);
    expect(s.reservedUsd).toBeCloseTo(0.3, 12);
  });

  it("proposes nothing more once the rest of the budget is reserved, and stops once it is spent", () => {
    const l = new Ledger(claude({ parallel: 1, max_cost_usd: 1 })).baseline(1, 1, 1);
    l.add({ type: "experiment_requested", experiment: 1, parent: "c0", reserved_usd: 1 });
    expect(l.plan().filter((c) => c.kind === "propose")).toEqual([]);
    l.add({ type: "proposal_failed", experiment: 1, reason: "its share is spent", usage: { cost_usd: 1.01 } });
    expect(l.plan()).toEqual([{ kind: "stop", reason: "cost budget spent ($1.01 of max_cost_usd: 1)" }]);
  });
});
