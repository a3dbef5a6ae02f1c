/**
 * The local driver: folds the ledger, asks the planner what to do, executes the commands through
 * the ports and appends the resulting events, until the campaign stops or the caller interrupts.
 * It holds no campaign decisions (they are in src/core); only concurrency and bookkeeping.
 */

import type { LedgerEvent, NewEventInput } from "../core/events.js";
import { type Command, commandKey, plan } from "../core/planner.js";
import { type CampaignState, fold } from "../core/state.js";
import { applyVerdict, type EngineDeps, proposeExperiment, rebaseExperiment, runOne } from "../engine/steps.js";
import { ProposerError } from "../errors.js";
import type { Clock } from "../ports.js";

/** A run in progress, for progress displays. */
export interface RunningRun {
  experiment: number;
  seed: number;
  since: Date;
}

export interface DriveOptions {
  /** The ledger's events so far (at least campaign_started). */
  events: LedgerEvent[];
  deps: EngineDeps;
  clock: Clock;
  /** Aborting interrupts the campaign: runs are killed, nothing half-done is recorded. */
  signal: AbortSignal;
  /** Called after every append and whenever the set of running runs changes. */
  onUpdate?: (state: CampaignState, running: RunningRun[], event?: LedgerEvent) => void;
  /** How often to re-plan while waiting (time budgets). */
  tickMs?: number;
}

export interface DriveResult {
  state: CampaignState;
  /** True when the caller interrupted before the campaign stopped. */
  interrupted: boolean;
}

/** Drives one campaign until it stops or `signal` aborts. */
export async function drive(opts: DriveOptions): Promise<DriveResult> {
  const { deps, clock, signal } = opts;
  const events = [...opts.events];
  let state = fold(events);
  const inflight = new Map<string, Promise<void>>();
  const running = new Map<string, RunningRun>();
  const runAbort = new AbortController();
  let fatal: unknown;
  let wake: () => void = () => {};
  // One listener for the whole campaign (not one per wait: a long campaign would pile them up).
  const onAbort = () => {
    runAbort.abort();
    wake();
  };
  signal.addEventListener("abort", onAbort);
  // Set when a task settles, so a settle between planning and waiting is not missed.
  let settled = false;

  let chain: Promise<void> = Promise.resolve();
  const append = (batch: NewEventInput[]): Promise<void> => {
    const next = chain.then(async () => {
      if (batch.length === 0) return;
      const stamped = await deps.ledger.append(batch, state.lastSeq);
      events.push(...stamped);
      state = fold(events);
      for (const ev of stamped) opts.onUpdate?.(state, [...running.values()], ev);
    });
    chain = next.catch(() => {});
    return next;
  };
  const track = (key: string, work: Promise<void>) => {
    const p = work
      .catch((err: unknown) => {
        fatal ??= err;
        runAbort.abort();
      })
      .finally(() => {
        inflight.delete(key);
        settled = true;
        wake();
      });
    inflight.set(key, p);
  };

  const start = async (cmd: Command): Promise<void> => {
    const key = commandKey(cmd);
    switch (cmd.kind) {
      case "stop":
        await append([{ type: "campaign_stopped", reason: cmd.reason }]);
        runAbort.abort();
        return;
      case "start_runs": {
        await append(cmd.seeds.map((seed) => ({ type: "run_started" as const, experiment: cmd.experiment, commit: cmd.commit, seed })));
        for (const seed of cmd.seeds) {
          const runKey = `run:${cmd.experiment}:${cmd.commit}:${seed}`;
          running.set(runKey, { experiment: cmd.experiment, seed, since: clock.now() });
          opts.onUpdate?.(state, [...running.values()]);
          const spec = { campaign: state.campaign, experiment: cmd.experiment, commit: cmd.commit, parent: cmd.parent, seed };
          track(
            runKey,
            runOne(spec, deps, runAbort.signal)
              .then(async (ev) => {
                running.delete(runKey);
                if (ev && !state.stopped) await append([ev]);
              })
              .finally(() => running.delete(runKey)),
          );
        }
        return;
      }
      case "propose": {
        await append([{ type: "experiment_requested", experiment: cmd.experiment, parent: cmd.parent }]);
        track(
          key,
          proposeExperiment(state, cmd, deps, runAbort.signal).then(append, async (err: unknown) => {
            // A proposer that cannot work at all (no constants to tune, no API key) ends the campaign.
            if (err instanceof ProposerError) {
              await append([{ type: "proposal_failed", experiment: cmd.experiment, reason: err.message, ...(err.usage ? { usage: err.usage } : {}) }]);
              await append([{ type: "campaign_stopped", reason: `proposer: ${err.message}` }]);
              runAbort.abort();
              return;
            }
            if (runAbort.signal.aborted) return;
            throw err;
          }),
        );
        return;
      }
      case "judge":
        track(key, applyVerdict(state, cmd, deps).then(append));
        return;
      case "rebase":
        track(key, rebaseExperiment(state, cmd, deps).then(append));
        return;
    }
  };

  try {
    for (;;) {
      if (signal.aborted || fatal) break;
      let launched = 0;
      settled = false;
      for (const cmd of plan(state, clock.now())) {
        if (inflight.has(commandKey(cmd)) || state.stopped) continue;
        await start(cmd);
        launched++;
        // A command changes the state the rest were planned on: plan again from the new state.
        if (cmd.kind !== "judge" && cmd.kind !== "rebase") break;
      }
      if (state.stopped && inflight.size === 0) break;
      if (launched > 0 || settled) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.tickMs ?? 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
        if (signal.aborted) resolve();
      });
    }
  } finally {
    runAbort.abort();
    await Promise.allSettled([...inflight.values()]);
    await chain;
    signal.removeEventListener("abort", onAbort);
  }
  if (fatal) throw fatal;
  return { state, interrupted: !state.stopped };
}
