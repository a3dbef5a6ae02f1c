/**
 * A simulated campaign driven by the real planner and fold (src/core): the harness plays the
 * driver, answering each command at once from a model of the metric. Every decision (seeds,
 * pairing, extra runs of the best, screening, the pooled noise, the judging mode, keeps) is the
 * product's own; only the experiments are simulated.
 *
 * The model: a run's metric is truth(commit) + seedEffect(seed) + noise, where a candidate's truth is
 * drawn when it first runs, relative to the best's truth at that moment (`next`), as in "every
 * candidate is 3 sigma better than the current best". One run at a time (budget.parallel 1), so a
 * campaign is a sequence; proposals answer at once.
 */
import type { ConfigInput } from "../src/core/config.js";
import { LEDGER_VERSION, type LedgerEvent, type NewEventInput } from "../src/core/events.js";
import { plan } from "../src/core/planner.js";
import { fold } from "../src/core/state.js";
import { judgingChanged, verdictEvent } from "../src/engine/steps.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

export interface SimModel {
  /** The truth of the next candidate, given the current best's truth. */
  next(bestTruth: number): number;
  /** One run of a commit whose truth is `truth`, on `seed`. */
  run(truth: number, seed: number): number;
}

export interface SimTally {
  /** Candidates judged (experiment 1 onward). */
  candidates: number;
  keeps: number;
  /** Runs of candidates and of the best after the baseline's own (extra runs and re-measurements included). */
  runs: number;
  /** Keeps by the candidate's position in its campaign (0-based). */
  keepsAt: number[];
  /** Keeps per campaign, for standard errors. */
  perCampaign: number[];
}

export function newSimTally(candidates: number): SimTally {
  return { candidates: 0, keeps: 0, runs: 0, keepsAt: new Array<number>(candidates).fill(0), perCampaign: [] };
}

/** Ledger events without the zod round trip (the harness builds valid events; this keeps it fast). */
function stamped(events: NewEventInput[], lastSeq: number): LedgerEvent[] {
  return events.map((e, i) => {
    const seq = lastSeq + i + 1;
    return { v: LEDGER_VERSION, seq, at: new Date(T0 + seq * 1000).toISOString(), ...e } as LedgerEvent;
  });
}

/**
 * Runs one campaign of `candidates` experiments through plan() and fold(); adds to `t`. The config's
 * budget is set to one run at a time, `candidates` experiments, no patience limit, no confirmation
 * (it measures the end result, not the judging; see confirm_repeats).
 */
export function simulateCampaign(config: ConfigInput, candidates: number, model: SimModel, t: SimTally): void {
  const cfg: ConfigInput = {
    ...config,
    budget: { ...config.budget, parallel: 1, max_experiments: candidates, patience: candidates + 1, max_hours: 1e6 },
    accept: { ...config.accept, confirm_repeats: 0 },
  };
  const events: LedgerEvent[] = stamped([{ type: "campaign_started", campaign: "1", config: cfg, base_commit: "c0", goal: "bench", source: "cli" }], 0);
  const truth = new Map<string, number>([["c0", 0]]);
  let bestTruth = 0;
  let keeps = 0;
  let commits = 0;
  const append = (evs: NewEventInput[]) => events.push(...stamped(evs, events.length));
  for (let step = 0; step < 100_000; step++) {
    const s = fold(events);
    if (s.stopped) break;
    const cmds = plan(s, new Date(T0 + events.length * 1000));
    const cmd = cmds[0];
    if (!cmd) throw new Error("the planner stalled");
    switch (cmd.kind) {
      case "propose": {
        const commit = `c${++commits}`;
        append([
          { type: "experiment_requested", experiment: cmd.experiment, parent: cmd.parent },
          {
            type: "experiment_proposed",
            experiment: cmd.experiment,
            parent: cmd.parent,
            commit,
            branch: `b${cmd.experiment}`,
            title: "t",
            hypothesis: "h",
            edits: [],
            diff: "",
            lines_added: 1,
            lines_removed: 1,
            meta: {},
          },
        ]);
        break;
      }
      case "start_runs": {
        const e = s.experiments[cmd.experiment];
        if (!truth.has(cmd.commit)) truth.set(cmd.commit, model.next(bestTruth));
        const isBest = cmd.experiment === s.best.experiment;
        for (const seed of cmd.seeds) {
          const metric = model.run(truth.get(cmd.commit) as number, seed);
          append([
            { type: "run_started", experiment: cmd.experiment, commit: cmd.commit, seed },
            {
              type: "run_finished",
              experiment: cmd.experiment,
              commit: cmd.commit,
              seed,
              status: "ok",
              metric,
              seconds: 1,
              exit_code: 0,
              reason: "",
              tail: "",
            },
          ]);
          // The baseline's own runs are not a candidate's cost; every later run is.
          if (cmd.experiment > 0 || (e?.verdict !== undefined && isBest)) t.runs++;
        }
        break;
      }
      case "judge": {
        append([verdictEvent(cmd)]);
        if (cmd.experiment === 0) break;
        t.candidates++;
        if (cmd.verdict === "keep") {
          bestTruth = truth.get(cmd.commit) as number;
          t.keeps++;
          keeps++;
          t.keepsAt[cmd.experiment - 1] = (t.keepsAt[cmd.experiment - 1] ?? 0) + 1;
        }
        break;
      }
      case "rebase": {
        // The merge always applies here; the merged commit's truth is drawn when it first runs.
        const e = s.experiments[cmd.experiment];
        append([
          { type: "experiment_rebased", experiment: cmd.experiment, parent: cmd.onto, commit: `${e?.commit}r`, diff: "", lines_added: 1, lines_removed: 1 },
        ]);
        break;
      }
      case "judging":
        append(judgingChanged(cmd));
        break;
      case "stop":
        append([{ type: "campaign_stopped", reason: cmd.reason }]);
        break;
      default:
        throw new Error(`the harness does not expect ${cmd.kind}`);
    }
  }
  t.perCampaign.push(keeps);
}

/** Standard error of a per-candidate rate, clustered by campaign (candidates of one campaign share a best). */
export function clusteredStderr(perCampaign: readonly number[], candidates: number): number {
  const n = perCampaign.length;
  const rates = perCampaign.map((c) => c / candidates);
  const m = rates.reduce((a, r) => a + r, 0) / n;
  const v = rates.reduce((a, r) => a + (r - m) ** 2, 0) / (n - 1);
  return Math.sqrt(v / n);
}
