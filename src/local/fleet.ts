/**
 * The Executor for one machine: each run handed out is run in the background by a RunRunner (the
 * LocalExecutor: a fresh checkout, the time box, the evaluation) and reported when it ends. Locally
 * the process that starts a run also sees it end, so runs need no lease: a restart of the CLI
 * (`campaign_resumed`) is what tells the core that runs in flight are gone.
 */
import type { Executor, RunReporting, RunRunner, RunSpec } from "../ports.js";

export class LocalFleet implements Executor {
  readonly leaseSeconds = undefined;
  constructor(private readonly runner: RunRunner) {}

  async start(runs: RunSpec[], reporting: RunReporting): Promise<void> {
    for (const spec of runs) {
      this.runner.run(spec, reporting.signal).then(
        (result) => reporting.report(spec, result),
        (err: unknown) => reporting.error(spec, err),
      );
    }
  }
}
