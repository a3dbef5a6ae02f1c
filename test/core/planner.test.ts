import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { type LedgerEvent, type NewEventInput, stamp } from "../../src/core/events.js";
import { type Command, experimentsSinceKeep, plan } from "../../src/core/planner.js";
import { fold, tally } from "../../src/core/state.js";

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
      { kind: "propose", experiment: 1, parent: "c0" },
      { kind: "propose", experiment: 2, parent: "c0" },
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
    expect(cmds).toContainEqual({ kind: "propose", experiment: 2, parent: "c0" });
  });
});
