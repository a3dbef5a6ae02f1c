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
  ...over,
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
  run(experiment: number, commit: string, seed: number, metric: number | null, status: "ok" | "crash" = "ok", guards?: Record<string, number>) {
    return this.add(
      { type: "run_started", experiment, commit, seed },
      { type: "run_finished", experiment, commit, seed, status, metric, seconds: 1, exit_code: status === "ok" ? 0 : 1, ...(guards ? { guards } : {}) },
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
  /**
   * A campaign some way in: the baseline measured on seeds 1..7 and experiment 1 discarded after 7
   * paired seeds, so the pooled noise of a paired difference has 6 degrees of freedom and later
   * candidates are judged on `repeats` pairs (a young campaign asks for more: see pairsNeeded).
   */
  seasoned() {
    this.baseline(1, 1.01, 0.99);
    for (const [i, m] of [1.0, 1.02, 0.98, 1.0].entries()) this.run(0, "c0", 4 + i, m);
    this.proposed(1);
    for (const [i, d] of [0.01, -0.01, 0.005, -0.005, 0.0, 0.01, -0.01].entries())
      this.run(1, "c1", i + 1, ([1, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0][i] as number) + d);
    return this.judged(1, "discard");
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
  /** The plan; a change of judging (scale, deterministic) it asks for first is recorded, as a driver would. */
  plan(now = T0): Command[] {
    for (;;) {
      const cmds = plan(fold(this.events), now);
      const j = cmds[0];
      if (cmds.length !== 1 || j?.kind !== "judging") return cmds;
      this.add({ type: "judging_changed", scale: j.scale, deterministic: j.deterministic, reason: j.reason });
    }
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

  it("gives a promising candidate its remaining seeds, on the best's seeds", () => {
    // Experiment 2 starts at place 2 x 3 mod 7 = 6 of the best's seeds 1..7: seed 7, then 1 and 2.
    const l = new Ledger(config({ budget: { patience: 10 } })).seasoned().proposed(2);
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [7] });
    l.run(2, "c2", 7, 0.5);
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [1, 2] });
  });

  it("in a young campaign, a promising candidate runs on up to twice repeats seeds, the best on those it lacks, interleaved", () => {
    // No pooled noise yet: 6 pairs are needed (pairsNeeded), the baseline has seeds 1..3 only.
    const l = new Ledger(config({ budget: { parallel: 8 } })).baseline(1, 1.01, 0.99).proposed(1).run(1, "c1", 1, 0.5);
    expect(l.plan().filter((c) => c.kind === "start_runs")).toEqual([
      { kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [2, 3, 4] },
      { kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [4] },
      { kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [5] },
      { kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [5] },
      { kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [6] },
      { kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [6] },
    ]);
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
    const l = new Ledger(config({ budget: { patience: 10 } })).seasoned().proposed(2).run(2, "c2", 7, 0.5).run(2, "c2", 1, 0.51).run(2, "c2", 2, 0.49);
    const cmds = l.plan();
    expect(cmds[0]).toMatchObject({ kind: "judge", experiment: 2, verdict: "keep", commit: "c2", pairs: 3 });
    // The means are over the paired seeds 7, 1, 2: the best's 1.0, 1.0 and 1.01.
    expect(cmds[0]?.kind === "judge" && cmds[0].baselineMean).toBeCloseTo(3.01 / 3, 12);
    // No proposal on the old best while a keep is about to land.
    expect(kinds(cmds)).not.toContain("propose");
    l.judged(2, "keep");
    expect(fold(l.events).best).toEqual({ experiment: 2, commit: "c2" });
  });

  it("rebases a winning candidate whose parent is no longer the best", () => {
    const l = new Ledger(config({ budget: { patience: 10 } }))
      .seasoned()
      .proposed(2)
      .proposed(3)
      .run(2, "c2", 7, 0.8)
      .run(2, "c2", 1, 0.8)
      .run(2, "c2", 2, 0.8)
      .judged(2, "keep")
      .run(3, "c3", 1, 0.5)
      .run(3, "c3", 2, 0.5)
      .run(3, "c3", 3, 0.5);
    // The new best is measured again (winner's curse): 3 fresh seeds, the smallest it lacks.
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [3, 4] });
    l.run(2, "c2", 3, 0.81).run(2, "c2", 4, 0.79).run(2, "c2", 5, 0.8);
    expect(l.plan()[0]).toEqual({ kind: "rebase", experiment: 3, onto: "c2" });
    // After the rebase the candidate is measured in full on the new commit, on the new best's seeds.
    l.add({ type: "experiment_rebased", experiment: 3, parent: "c2", commit: "c3b", diff: "", lines_added: 1, lines_removed: 1 });
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 3, commit: "c3b", parent: "c2", seeds: [4, 5] });
  });

  it("replaces the best as a whole with a candidate whose change conflicts with it, when its own commit wins on paired seeds", () => {
    const l = new Ledger(config({ budget: { patience: 10 } }))
      .seasoned()
      .proposed(2)
      .proposed(3)
      .run(2, "c2", 7, 0.8)
      .run(2, "c2", 1, 0.8)
      .run(2, "c2", 2, 0.8)
      .judged(2, "keep")
      .run(3, "c3", 1, 0.5)
      .run(3, "c3", 2, 0.5)
      .run(3, "c3", 3, 0.5)
      .run(2, "c2", 3, 0.81)
      .run(2, "c2", 4, 0.79)
      .run(2, "c2", 5, 0.8)
      .add({ type: "rebase_conflicted", experiment: 3, onto: "c2", conflicts: ["train.py"] });
    const keep = l.plan()[0];
    expect(keep).toMatchObject({ kind: "judge", experiment: 3, commit: "c3", verdict: "keep", supersedes: 2, pairs: 3 });
    expect(keep?.kind === "judge" && keep.reason).toContain("replaces #2 as a whole");
    l.add({
      type: "experiment_judged",
      experiment: 3,
      commit: "c3",
      verdict: "keep",
      reason: "r",
      baseline_mean: 0.8,
      candidate_mean: 0.5,
      improvement: 0.3,
      p_value: 0,
      supersedes: 2,
    });
    const s = fold(l.events);
    expect(s.best).toEqual({ experiment: 3, commit: "c3" });
    // The superseded keep stays in the ledger, marked.
    expect(s.experiments[2]).toMatchObject({ phase: "kept", supersededBy: 3 });
  });

  it("measures a newly kept best again with fresh seeds before it judges other candidates", () => {
    const l = new Ledger(config({ budget: { patience: 10 } }))
      .seasoned()
      .proposed(2)
      .proposed(3, "c0")
      .run(2, "c2", 7, 0.5)
      .run(2, "c2", 1, 0.51)
      .run(2, "c2", 2, 0.49)
      .judged(2, "keep")
      .run(3, "c3", 2, 0.3);
    const cmds = l.plan();
    // Fresh seeds 3 and 4 of the kept commit take the free slots; candidate 3 waits for its verdict.
    expect(cmds[0]).toEqual({ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [3, 4] });
    expect(kinds(cmds)).not.toContain("judge");
    l.run(2, "c2", 3, 0.5).run(2, "c2", 4, 0.5).run(2, "c2", 5, 0.5);
    // Judged against the new best on seed 2 (both have it): promising. Its next seeds are the best's
    // (1, 2, 3, 4, 5, 7), from place 3 x 3 mod 6 = 3: 4 and 5.
    expect(l.plan()[0]).toMatchObject({ kind: "start_runs", experiment: 3, seeds: [4, 5] });
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
    // Experiments 2 and 3 run on the best's seeds from their own places: 7, 1, 2 and 3, 4, 5.
    const l = new Ledger(config({ budget: { parallel: 4, patience: 10 } }))
      .seasoned()
      .proposed(2)
      .proposed(3)
      .run(2, "c2", 7, 0.8)
      .run(2, "c2", 1, 0.81)
      .run(2, "c2", 2, 0.79)
      .run(3, "c3", 3, 0.5)
      .run(3, "c3", 4, 0.51)
      .run(3, "c3", 5, 0.49);
    const cmds = l.plan();
    expect(keeps(cmds)).toEqual([expect.objectContaining({ experiment: 3, commit: "c3" })]);
    // Nothing is proposed or rebased onto the best that is about to be replaced.
    expect(kinds(cmds)).not.toContain("propose");
    expect(kinds(cmds)).not.toContain("rebase");
    l.judged(3, "keep", "c3");
    // The new best is measured again first (winner's curse), and on the seeds experiment 2 ran on
    // (an extra run of the best for each); then experiment 2, which passed against the old best, is
    // judged against the new one on its own seeds: worse than it, it is discarded, never kept on its
    // old parent (one that still wins is rebased: see "rebases a winning candidate").
    expect(l.plan().filter((c) => c.kind === "start_runs")).toEqual([{ kind: "start_runs", experiment: 3, commit: "c3", parent: "c0", seeds: [1, 2, 6, 7] }]);
    l.run(3, "c3", 1, 0.5).run(3, "c3", 2, 0.5).run(3, "c3", 6, 0.5).run(3, "c3", 7, 0.5);
    expect(keeps(l.plan())).toEqual([]);
    expect(l.plan()).toContainEqual(expect.objectContaining({ kind: "judge", experiment: 2, verdict: "discard", baselineMean: 0.5, pairs: 3 }));
  });

  it("chooses a candidate's seeds by which have results: a seed in flight at a restart is run again, a finished one never", () => {
    const l = new Ledger(config({ budget: { parallel: 3, patience: 10 } }))
      .seasoned()
      .proposed(2)
      .run(2, "c2", 7, 0.5)
      .add({ type: "run_started", experiment: 2, commit: "c2", seed: 1 })
      .run(2, "c2", 2, 0.5)
      .add({ type: "campaign_resumed", reason: "resumed" });
    const runs = l.plan().filter((c) => c.kind === "start_runs");
    expect(runs).toEqual([{ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [1] }]);
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

describe("plan: paired seeds", () => {
  // Seeds with large effects shared by every configuration (spread 0.2), and little noise within a
  // seed (0.005): experiment 1 is history that gives the pooled paired noise 6 degrees of freedom.
  const SEEDS = [1.0, 1.3, 0.7, 1.15, 0.85, 1.2, 0.8];
  const withSeedEffects = (l: Ledger) => {
    l.baseline(...SEEDS.slice(0, 3));
    for (const [i, m] of SEEDS.slice(3).entries()) l.run(0, "c0", 4 + i, m);
    l.proposed(1);
    for (const [i, d] of [0.005, -0.005, 0.004, -0.004, 0.0, 0.005, -0.005].entries()) l.run(1, "c1", i + 1, (SEEDS[i] as number) + d);
    return l.judged(1, "discard");
  };

  it("keeps a candidate better on every seed by far less than the seed-to-seed spread", () => {
    // Experiment 2 runs on seeds 7, 1, 2 (its place among the best's seeds): 0.03 better on each.
    const l = withSeedEffects(new Ledger(config({ budget: { patience: 10 } }))).proposed(2);
    const better = (seed: number, d: number) => (SEEDS[seed - 1] as number) - 0.03 + d;
    l.run(2, "c2", 7, better(7, 0.002)).run(2, "c2", 1, better(1, -0.003)).run(2, "c2", 2, better(2, 0.001));
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 2, verdict: "keep", pairs: 3 });
  });

  it("a candidate whose seeds happen to be the easy ones is not kept for it", () => {
    // No better on any seed than the best on the same seed, though its mean (seeds 7, 1, 2 are
    // easier than the best's average over all seven) is lower than the best's overall mean.
    const l = withSeedEffects(new Ledger(config({ budget: { patience: 10 } }))).proposed(2);
    l.run(2, "c2", 7, 0.802);
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 2, verdict: "discard" });
  });

  it("a seed the best crashed on is not paired: the candidate runs on another seed, which the best runs on too", () => {
    const l = new Ledger(config({ budget: { patience: 10, parallel: 4 } })).seasoned();
    // The best (the baseline) crashes on seed 8, which the candidate ran on.
    l.proposed(2).run(2, "c2", 7, 0.5).run(2, "c2", 1, 0.5).run(2, "c2", 8, 0.5).run(0, "c0", 8, null, "crash");
    // Two pairs (7 and 1) of the three needed: one more seed of the best's, 2.
    expect(l.plan().filter((c) => c.kind === "start_runs")).toEqual([{ kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [2] }]);
    l.run(2, "c2", 2, 0.5);
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 2, verdict: "keep", pairs: 3 });
  });

  it("a seed the candidate crashed on discards it, naming the run", () => {
    const l = new Ledger(config({ budget: { patience: 10 } })).seasoned();
    l.proposed(2).run(2, "c2", 7, 0.5).run(2, "c2", 1, null, "crash");
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 2, verdict: "discard", reason: "run (seed 1) crashed" });
  });

  it("runs the best on a seed a candidate needs, once, and pairs every later candidate with it", () => {
    const l = new Ledger(config({ budget: { parallel: 1 }, accept: { repeats: 1, baseline_repeats: 1 } })).baseline(1).proposed(1);
    // Greedy judging: experiment 1 starts at place 1 x 1 mod 1 = 0 of the best's one seed.
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [1] });
    // A result on a seed the best lacks (handed out before the baseline was done, say): the best runs it too.
    l.run(1, "c1", 5, 0.9);
    expect(l.plan()[0]).toEqual({ kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [5] });
  });
});

describe("plan: how the campaign judges", () => {
  it("treats a target whose baseline runs are identical as deterministic: one run per candidate, one re-check of a new best", () => {
    const l = new Ledger(config({ budget: { patience: 10 } }));
    for (const seed of [1, 2, 3]) l.run(0, "c0", seed, 0.5);
    l.add({
      type: "experiment_judged",
      experiment: 0,
      commit: "c0",
      verdict: "keep",
      reason: "baseline",
      baseline_mean: 0.5,
      candidate_mean: 0.5,
      improvement: 0,
      p_value: null,
    });
    expect(plan(fold(l.events), T0)).toEqual([
      { kind: "judging", scale: "linear", deterministic: true, reason: expect.stringContaining("the baseline's 3 runs are identical") },
    ]);
    l.plan();
    l.proposed(1).run(1, "c1", 1, 0.4);
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 1, verdict: "keep", pairs: 1 });
    l.judged(1, "keep");
    // One re-check on a second seed; nothing is judged against it before.
    l.proposed(2, "c1").run(2, "c2", 1, 0.3);
    const cmds = l.plan();
    expect(cmds[0]).toEqual({ kind: "start_runs", experiment: 1, commit: "c1", parent: "c0", seeds: [2] });
    expect(kinds(cmds)).not.toContain("judge");
    // The re-check differs: no longer deterministic, recorded, and judged on repeats again.
    l.run(1, "c1", 2, 0.41);
    expect(plan(fold(l.events), T0)).toEqual([
      { kind: "judging", scale: "linear", deterministic: false, reason: expect.stringContaining("experiment 1 measured 0.4 on seed 1 and 0.41 on seed 2") },
    ]);
    l.plan();
    expect(fold(l.events).judging.deterministic).toBe(false);
  });

  it("switches to the log scale once every value is positive and they span more than 10x (accept.scale: auto), and records it", () => {
    const l = new Ledger(config({ budget: { patience: 10 } })).baseline(2.4e-6, 2.5e-6, 2.3e-6);
    expect(plan(fold(l.events), T0)[0]?.kind).not.toBe("judging");
    l.proposed(1).run(1, "c1", 1, 7.3e-12);
    expect(plan(fold(l.events), T0)).toEqual([{ kind: "judging", scale: "log", deterministic: false, reason: expect.stringMatching(/span \d+x .*log scale/) }]);
    l.plan();
    expect(fold(l.events).judging.scale).toBe("log");
  });

  it("stays on the linear scale with accept.scale: linear", () => {
    const l = new Ledger(config({ accept: { scale: "linear" } })).baseline(2.4e-6, 2.5e-6, 2.3e-6).proposed(1).run(1, "c1", 1, 7.3e-12);
    expect(plan(fold(l.events), T0).map((c) => c.kind)).not.toContain("judging");
  });

  it.each([
    ["log", "keep"],
    ["linear", "discard"],
  ] as const)("on the %s scale, a later candidate twice as good as a best at 1e-12: %s", (scale, want) => {
    // The early experiments scatter by about 1e-7 around 2.4e-6 (4%); the best is now near 1e-12 (5%).
    const l = new Ledger(config({ budget: { patience: 10, max_experiments: 10 }, accept: { scale } })).baseline(2.4e-6, 2.5e-6, 2.3e-6);
    for (const n of [1, 2]) {
      l.proposed(n);
      for (const [i, v] of [2.45e-6, 2.4e-6, 2.4e-6].entries()) l.run(n, `c${n}`, i + 1, v + n * 1e-8);
      l.judged(n, "discard");
    }
    l.proposed(3);
    for (const [i, v] of [1.0e-12, 1.1e-12, 0.9e-12, 1.05e-12, 0.95e-12, 1.0e-12].entries()) l.run(3, "c3", i + 1, v);
    l.judged(3, "keep");
    l.proposed(4, "c3");
    for (const [i, v] of [0.5e-12, 0.52e-12, 0.48e-12].entries()) l.run(4, "c4", [1, 2, 3][i] as number, v);
    expect(l.plan().find((c) => c.kind === "judge" && c.experiment === 4)).toMatchObject({ verdict: want });
  });
});

describe("plan: guards", () => {
  const guarded = () =>
    new Ledger(
      config({
        budget: { patience: 10 },
        guards: [{ name: "acc", goal: "maximize", tolerance: "1%" }],
      }),
    );
  const baselineWithAcc = (l: Ledger) => {
    for (const [i, m] of [1, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0].entries()) l.run(0, "c0", i + 1, m, "ok", { acc: 0.9 });
    l.add({
      type: "experiment_judged",
      experiment: 0,
      commit: "c0",
      verdict: "keep",
      reason: "baseline",
      baseline_mean: 1,
      candidate_mean: 1,
      improvement: 0,
      p_value: null,
    });
    l.proposed(1);
    for (const [i, d] of [0.01, -0.01, 0.005, -0.005, 0.0, 0.01, -0.01].entries()) l.run(1, "c1", i + 1, 1 + d, "ok", { acc: 0.9 + d / 10 });
    return l.judged(1, "discard");
  };

  it("discards a better candidate that breaks a guard beyond its tolerance, naming the guard", () => {
    const l = baselineWithAcc(guarded()).proposed(2);
    for (const seed of [7, 1, 2]) l.run(2, "c2", seed, 0.5, "ok", { acc: 0.8 });
    const j = l.plan()[0];
    expect(j).toMatchObject({ kind: "judge", experiment: 2, verdict: "discard", reason: expect.stringMatching(/^guard acc worse by 0\.1 /) });
    expect(j?.kind === "judge" && j.guards?.[0]).toMatchObject({ name: "acc", ok: false, best: 0.9, candidate: expect.closeTo(0.8, 12) });
  });

  it("keeps it when the guard stays within its tolerance (1% of the best's 0.9)", () => {
    const l = baselineWithAcc(guarded()).proposed(2);
    for (const seed of [7, 1, 2]) l.run(2, "c2", seed, 0.5, "ok", { acc: 0.895 });
    expect(l.plan()[0]).toMatchObject({ kind: "judge", experiment: 2, verdict: "keep", guards: [{ name: "acc", ok: true }] });
  });
});

describe("plan: confirmation of the final number", () => {
  /** A campaign at its end: experiment 2 kept and re-measured, no experiments left. */
  const ended = (confirmRepeats?: number) => {
    const l = new Ledger(
      config({ budget: { max_experiments: 2, patience: 10 }, accept: confirmRepeats === undefined ? {} : { confirm_repeats: confirmRepeats } }),
    );
    l.seasoned().proposed(2);
    for (const seed of [7, 1, 2]) l.run(2, "c2", seed, 0.5);
    return l.judged(2, "keep");
  };

  it("runs the base and the best interleaved on fresh seeds, records the result, then stops", () => {
    const l = ended(3);
    // Seeds 1..7 are the base's: 8, 9 and 10 are fresh for both.
    expect(l.plan()).toEqual([
      { kind: "start_confirmation", baseCommit: "c0", bestCommit: "c2", bestExperiment: 2, seeds: [8, 9, 10], reason: "the campaign ended with a keep" },
    ]);
    l.add({ type: "confirmation_started", base_commit: "c0", best_commit: "c2", best_experiment: 2, seeds: [8, 9, 10], reason: "r" });
    expect(l.plan()).toEqual([
      { kind: "start_runs", experiment: 0, commit: "c0", parent: "c0", seeds: [8] },
      { kind: "start_runs", experiment: 2, commit: "c2", parent: "c0", seeds: [8] },
    ]);
    for (const [i, seed] of [8, 9, 10].entries()) l.run(0, "c0", seed, 1 + i * 0.01).run(2, "c2", seed, 0.5 + i * 0.01);
    const [confirm] = l.plan();
    expect(confirm).toMatchObject({ kind: "confirm", bestCommit: "c2", confirmed: true, pairs: 3, baseMean: 1.01, bestMean: 0.51 });
    expect(confirm?.kind === "confirm" && confirm.changePct).toBeCloseTo(-49.505, 2);
    if (confirm?.kind !== "confirm") throw new Error("unreachable");
    l.add({
      type: "confirmation_judged",
      best_commit: "c2",
      confirmed: confirm.confirmed,
      pairs: 3,
      base_mean: confirm.baseMean,
      best_mean: confirm.bestMean,
      change_pct: confirm.changePct,
      interval_pct: confirm.intervalPct,
      p_value: confirm.pValue,
      scale: confirm.scale,
      reason: confirm.reason,
    });
    expect(fold(l.events).confirmation).toMatchObject({ phase: "done", bestCommit: "c2", result: { confirmed: true, pairs: 3 } });
    expect(l.plan()).toEqual([{ kind: "stop", reason: "max_experiments reached (2)" }]);
  });

  it("says plainly when the confirmation does not show an improvement", () => {
    const l = ended(3);
    l.add({ type: "confirmation_started", base_commit: "c0", best_commit: "c2", best_experiment: 2, seeds: [8, 9, 10], reason: "r" });
    for (const [seed, base, best] of [
      [8, 1, 0.9],
      [9, 1, 1.1],
      [10, 1, 1.0],
    ] as const)
      l.run(0, "c0", seed, base).run(2, "c2", seed, best);
    expect(l.plan()[0]).toMatchObject({ kind: "confirm", confirmed: false, reason: expect.stringContaining("not shown better on 3 fresh paired seeds") });
  });

  it("stops at once without a keep, or with confirm_repeats: 0", () => {
    const none = new Ledger(config({ budget: { max_experiments: 1, patience: 10 } })).seasoned();
    expect(none.plan()).toEqual([{ kind: "stop", reason: "max_experiments reached (1)" }]);
    expect(ended(0).plan()).toEqual([{ kind: "stop", reason: "max_experiments reached (2)" }]);
  });

  it("confirms a finished campaign when asked (autoresearch confirm), on new fresh seeds", () => {
    const l = ended(0).add({ type: "campaign_stopped", reason: "max_experiments reached (2)" });
    expect(l.plan()).toEqual([]);
    l.add({ type: "confirmation_requested", reason: "autoresearch confirm" });
    expect(l.plan()).toEqual([
      { kind: "start_confirmation", baseCommit: "c0", bestCommit: "c2", bestExperiment: 2, seeds: [8, 9, 10, 11, 12], reason: "autoresearch confirm" },
    ]);
    l.add({
      type: "confirmation_started",
      base_commit: "c0",
      best_commit: "c2",
      best_experiment: 2,
      seeds: [8, 9, 10, 11, 12],
      reason: "autoresearch confirm",
    });
    expect(l.plan().map((c) => c.kind)).toEqual(["start_runs", "start_runs"]);
  });
});
