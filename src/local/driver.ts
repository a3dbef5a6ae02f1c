/**
 * The local driver: folds the ledger, asks the planner what to do, executes the commands through
 * the ports and appends the resulting events, until the campaign stops or the caller interrupts.
 * It holds no campaign decisions (they are in src/core); only concurrency and bookkeeping.
 */

import type { LedgerEvent, NewEventInput } from "../core/events.js";
import { type Command, commandKey, plan } from "../core/planner.js";
import { type CampaignState, fold } from "../core/state.js";
import { applyVerdict, type EngineDeps, proposeExperiment, rebaseExperiment, recordedEvents, runFinished, runSpecs, runsStarted } from "../engine/steps.js";
import type { Clock, RunReporting, RunSpec } from "../ports.js";

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
  /**
   * Aborting interrupts the campaign: runs are killed and recorded as cancelled, proposals as
   * interrupted (with what they spent), and the campaign as paused until `--resume`.
   */
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
  /** Proposals, judges and rebases in progress, by command key. */
  const inflight = new Map<string, Promise<void>>();
  /** Runs handed to the executor and not reported yet, by run key. */
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
  const settle = () => {
    settled = true;
    wake();
  };

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
  const fail = (err: unknown) => {
    fatal ??= err;
    runAbort.abort();
  };
  const track = (key: string, work: Promise<void>) => {
    const p = work.catch(fail).finally(() => {
      inflight.delete(key);
      settle();
    });
    inflight.set(key, p);
  };

  const runKey = (spec: RunSpec) => `${spec.experiment}:${spec.commit}:${spec.seed}`;
  const reporting: RunReporting = {
    signal: runAbort.signal,
    report: (spec, result) => {
      // Every result is recorded, a cancelled one too: the ledger says what happened to each run.
      append([runFinished(spec, result)])
        .catch(fail)
        .finally(() => {
          running.delete(runKey(spec));
          opts.onUpdate?.(state, [...running.values()]);
          settle();
        });
    },
    error: (spec, err) => {
      running.delete(runKey(spec));
      fail(err);
      settle();
    },
  };

  const start = async (cmd: Command): Promise<void> => {
    const key = commandKey(cmd);
    switch (cmd.kind) {
      case "stop":
        await append([{ type: "campaign_stopped", reason: cmd.reason }]);
        runAbort.abort();
        return;
      case "start_runs": {
        // Intent before I/O: once recorded, the next plan does not hand these seeds out again.
        await append(runsStarted(cmd, deps.executor, clock.now()));
        const specs = runSpecs(state, cmd);
        for (const spec of specs) running.set(runKey(spec), { experiment: spec.experiment, seed: spec.seed, since: clock.now() });
        opts.onUpdate?.(state, [...running.values()]);
        await deps.executor.start(specs, reporting);
        return;
      }
      case "propose":
        await append([
          { type: "experiment_requested", experiment: cmd.experiment, parent: cmd.parent, ...(cmd.reserveUsd > 0 ? { reserved_usd: cmd.reserveUsd } : {}) },
        ]);
        track(key, proposeExperiment(state, cmd, deps, runAbort.signal).then(append));
        return;
      // Verdicts and rebases are a few quick git operations, done in line: each plan then sees the
      // best they leave. In the background, a second keep could start from a best the first is
      // moving, and its branch move would fail the compare-and-swap.
      case "judge":
        await append(await applyVerdict(state, cmd, deps));
        return;
      case "rebase":
        await append(await rebaseExperiment(state, cmd, deps));
        return;
      default:
        await append(recordedEvents(cmd) ?? []);
        return;
    }
  };

  const busy = () => inflight.size > 0 || running.size > 0;
  try {
    for (;;) {
      if (signal.aborted || fatal) break;
      let launched = 0;
      settled = false;
      for (const cmd of plan(state, clock.now())) {
        if (inflight.has(commandKey(cmd))) continue;
        await start(cmd);
        launched++;
        // A command changes the state the rest were planned on: plan again from the new state
        // (a discard changes nothing the rest depend on).
        if (!(cmd.kind === "judge" && cmd.verdict === "discard")) break;
      }
      // A stopped campaign has nothing left to do once what is in flight is recorded (the planner
      // still plans a confirmation someone asked for on a finished campaign).
      if (state.stopped && !busy() && launched === 0) break;
      if (launched > 0 || settled) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.tickMs ?? 1000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
        if (signal.aborted || settled) resolve();
      });
    }
    // Interrupted by the caller: recorded as a pause, so the time budget stops counting until --resume.
    if (signal.aborted && !state.stopped && !fatal) await append([{ type: "campaign_paused", reason: "interrupted" }]).catch(fail);
  } finally {
    runAbort.abort();
    // Runs report `cancelled` and proposals `proposal_interrupted` as they stop: wait for them.
    while (busy()) {
      await Promise.allSettled([...inflight.values()]);
      if (running.size > 0)
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (running.size === 0) resolve();
        });
    }
    await chain;
    signal.removeEventListener("abort", onAbort);
  }
  if (fatal) throw fatal;
  return { state, interrupted: !state.stopped };
}
