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
