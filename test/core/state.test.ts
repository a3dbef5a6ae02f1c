import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { type LedgerEvent, type NewEventInput, parseLedger, stamp } from "../../src/core/events.js";
import { FoldError, fold } from "../../src/core/state.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const cfg: ConfigInput = { metric: { name: "loss", goal: "minimize" }, run: "true", editable: ["train.py"] };

function ledger(...evs: NewEventInput[]): LedgerEvent[] {
  return stamp([{ type: "campaign_started", campaign: "1", config: cfg, base_commit: "c0", goal: "g", source: "cli" }, ...evs], 0, T0);
}
const started = (seed: number): NewEventInput => ({ type: "run_started", experiment: 0, commit: "c0", seed });
const finished = (seed: number, metric: number, over: Partial<Extract<NewEventInput, { type: "run_finished" }>> = {}): NewEventInput => ({
  type: "run_finished",
  experiment: 0,
  commit: "c0",
  seed,
  status: "ok",
  metric,
  seconds: 1,
  exit_code: 0,
  ...over,
});

describe("fold: duplicate results", () => {
  it("ignores an exact duplicate of a result (a redelivered webhook)", () => {
    const s = fold(ledger(started(1), finished(1, 0.5), finished(1, 0.5)));
    expect(s.experiments[0]?.runs).toHaveLength(1);
    expect(s.problems).toEqual([]);
  });

  it("reports a conflicting second result as a problem and keeps the first", () => {
    const s = fold(ledger(started(1), finished(1, 0.5), finished(1, 0.4)));
    expect(s.experiments[0]?.runs).toEqual([expect.objectContaining({ seed: 1, metric: 0.5, status: "ok" })]);
    expect(s.problems).toEqual([
      expect.stringMatching(/seq 4: a second, different result for experiment 0 seed 1 \(ok 0\.4\) was ignored; the first \(ok 0\.5\) stands/),
    ]);
  });

  it("records a result whose start was lost, once", () => {
    const s = fold(ledger(finished(2, 0.7), finished(2, 0.7)));
    expect(s.experiments[0]?.runs).toEqual([expect.objectContaining({ seed: 2, metric: 0.7 })]);
  });

  it("a seed cancelled by a restart and run again is two runs, only the second counting", () => {
    const s = fold(ledger(started(1), { type: "campaign_resumed", reason: "r" }, started(1), finished(1, 0.5)));
    expect(s.experiments[0]?.runs.map((r) => r.status)).toEqual(["cancelled", "ok"]);
    expect(s.problems).toEqual([]);
  });

  it("a run handed out again is the same run, one more dispatch", () => {
    const s = fold(ledger(started(1), started(1), finished(1, 0.5)));
    expect(s.experiments[0]?.runs).toEqual([expect.objectContaining({ seed: 1, dispatches: 2, status: "ok" })]);
  });

  it("a dispatch's workflow run is recorded on the seeds it holds, not on a later dispatch of the same commit", () => {
    const s = fold(
      ledger(started(1), { type: "runs_dispatched", experiment: 0, commit: "c0", seeds: [1], run_id: 7 }, started(2), {
        type: "runs_dispatched",
        experiment: 0,
        commit: "c0",
        seeds: [2],
        run_id: 8,
      }),
    );
    expect(s.experiments[0]?.runs.map((r) => [r.seed, r.dispatch])).toEqual([
      [1, 7],
      [2, 8],
    ]);
    // A seed that already finished keeps the run it finished in.
    const later = fold(ledger(started(1), finished(1, 0.5), { type: "runs_dispatched", experiment: 0, commit: "c0", seeds: [1], run_id: 9 }));
    expect(later.experiments[0]?.runs[0]?.dispatch).toBeUndefined();
  });

  it("ignores a second verdict and a second proposal, as problems", () => {
    const s = fold(
      ledger(
        { type: "experiment_requested", experiment: 1, parent: "c0" },
        ...[1, 2].map(
          (n): NewEventInput => ({
            type: "experiment_proposed",
            experiment: 1,
            parent: "c0",
            commit: `c1-${n}`,
            branch: "b",
            title: `t${n}`,
            hypothesis: "h",
            edits: [],
            diff: "",
            lines_added: 0,
            lines_removed: 0,
          }),
        ),
      ),
    );
    expect(s.experiments[1]?.commit).toBe("c1-1");
    expect(s.problems).toEqual([expect.stringContaining("a second proposal for experiment 1 was ignored")]);
  });
});

describe("fold: campaign life", () => {
  it("records a pause and a resume, and instructions added while it ran", () => {
    const s = fold(
      ledger(
        { type: "campaign_paused", reason: "/autoresearch pause by @octocat" },
        { type: "instructions_added", text: "try a cosine schedule", by: "octocat" },
      ),
    );
    expect(s.paused?.reason).toBe("/autoresearch pause by @octocat");
    expect(s.instructions).toEqual([{ text: "try a cosine schedule", by: "octocat", at: T0.toISOString() }]);
    expect(
      fold([
        ...ledger(),
        ...stamp(
          [
            { type: "campaign_paused", reason: "p" },
            { type: "campaign_resumed", reason: "r", restart: false },
          ],
          1,
          T0,
        ),
      ]).paused,
    ).toBeUndefined();
  });

  it("a resume that is not a restart leaves work in flight alone", () => {
    const s = fold(ledger(started(1), { type: "campaign_paused", reason: "p" }, { type: "campaign_resumed", reason: "r", restart: false }));
    expect(s.experiments[0]?.runs.map((r) => r.status)).toEqual(["running"]);
  });

  it("refuses a budget change that the schema does not accept, naming the key", () => {
    expect(() => fold(ledger({ type: "budget_changed", budget: { parallel: 0 } }))).toThrow(FoldError);
    expect(() => fold(ledger({ type: "budget_changed", budget: { parallel: 0 } }))).toThrow(/budget\.parallel/);
    expect(() => fold(ledger({ type: "budget_changed", budget: { max_experiments: 9, experiment_timeout: "2m" } }))).not.toThrow();
    expect(fold(ledger({ type: "budget_changed", budget: { experiment_timeout: "2m" } })).config.budget.experiment_timeout).toBe(120);
  });

  it("old ledgers fold as before: a campaign_resumed without `restart` is a restart", () => {
    // A line as an older version wrote it, read like any ledger line.
    const old = `${ledger(started(1))
      .map((e) => JSON.stringify(e))
      .join("\n")}\n{"v":1,"seq":3,"at":"${T0.toISOString()}","type":"campaign_resumed","reason":"resumed"}\n`;
    const { events, problems } = parseLedger(old);
    expect(problems).toEqual([]);
    expect(fold(events).experiments[0]?.runs[0]?.status).toBe("cancelled");
  });
});

describe("fold: paired seeds, confirmation and guards", () => {
  const proposed = (experiment: number, commit: string, parent = "c0"): NewEventInput[] => [
    { type: "experiment_requested", experiment, parent },
    {
      type: "experiment_proposed",
      experiment,
      parent,
      commit,
      branch: "b",
      title: "t",
      hypothesis: "h",
      edits: [],
      diff: "",
      lines_added: 1,
      lines_removed: 1,
    },
  ];

  it("old ledgers fold with the defaults: linear scale, not deterministic, no confirmation, no guards", () => {
    const s = fold(ledger(started(1), finished(1, 0.5)));
    expect(s.judging).toEqual({ scale: "linear", deterministic: false, reason: "" });
    expect(s.confirmation).toBeUndefined();
    expect(s.config.guards).toEqual([]);
    expect(s.config.accept).toMatchObject({ scale: "auto", confirm_repeats: 5 });
    expect(s.experiments[0]?.runs[0]?.guards).toBeUndefined();
  });

  it("records guard values of a run, a merge that conflicted, and a rebase that keeps the earlier commit", () => {
    const s = fold(
      ledger(
        finished(1, 0.5, { guards: { acc: 0.9 } }),
        ...proposed(1, "c1"),
        { type: "rebase_conflicted", experiment: 1, onto: "c9", conflicts: ["train.py"] },
        { type: "experiment_rebased", experiment: 1, parent: "c8", commit: "c1b", diff: "", lines_added: 1, lines_removed: 1 },
      ),
    );
    expect(s.experiments[0]?.runs[0]?.guards).toEqual({ acc: 0.9 });
    expect(s.experiments[1]).toMatchObject({ commit: "c1b", parent: "c8", conflicts: 1, rebases: 1, earlier: [{ commit: "c1", parent: "c0" }] });
    // A successful merge clears the conflict it replaced.
    expect(s.experiments[1]?.rebaseConflict).toBeUndefined();
  });

  it("a keep that supersedes marks the superseded keep, which stays kept", () => {
    const judged = (experiment: number, commit: string, supersedes?: number): NewEventInput => ({
      type: "experiment_judged",
      experiment,
      commit,
      verdict: "keep",
      reason: "r",
      baseline_mean: 1,
      candidate_mean: 0.5,
      improvement: 0.5,
      p_value: 0,
      pairs: 3,
      ...(supersedes !== undefined ? { supersedes } : {}),
    });
    const s = fold(ledger(...proposed(1, "c1"), ...proposed(2, "c2"), judged(1, "c1"), judged(2, "c2", 1)));
    expect(s.best).toEqual({ experiment: 2, commit: "c2" });
    expect(s.experiments[1]).toMatchObject({ phase: "kept", supersededBy: 2 });
    expect(s.experiments[2]?.verdict).toMatchObject({ supersedes: 1, pairs: 3 });
  });

  it("follows a confirmation from request to result, and reports a result nobody expects", () => {
    const events = ledger(
      { type: "campaign_stopped", reason: "done" },
      { type: "confirmation_requested", reason: "autoresearch confirm" },
      { type: "confirmation_started", base_commit: "c0", best_commit: "c0", best_experiment: 1, seeds: [4, 5], reason: "autoresearch confirm" },
    );
    expect(fold(events).confirmation).toMatchObject({ phase: "running", requested: true, seeds: [4, 5] });
    const result = (best: string): NewEventInput => ({
      type: "confirmation_judged",
      best_commit: best,
      confirmed: true,
      pairs: 2,
      base_mean: 1,
      best_mean: 0.5,
      change_pct: -50,
      interval_pct: [-60, -40],
      p_value: 0.001,
      scale: "linear",
      reason: "better",
    });
    const done = fold([...events, ...stamp([result("c0")], events.length, T0)]);
    expect(done.confirmation).toMatchObject({ phase: "done", result: { confirmed: true, changePct: -50, intervalPct: [-60, -40] } });
    const stray = fold([...events, ...stamp([result("c7")], events.length, T0)]);
    expect(stray.problems).toEqual([expect.stringContaining("a confirmation result for c7 that no running confirmation expects was ignored")]);
  });
});
