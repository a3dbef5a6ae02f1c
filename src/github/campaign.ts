/**
 * The App's driver of one campaign: the same planner the CLI drives, woken by webhooks instead of
 * promises. Work on a campaign is serialized in this process (one queue each); what changes it is
 * recorded in the ledger before anything is done outside (intent before I/O), so a crash repeats
 * nothing and loses nothing, and a redelivered webhook finds its work already recorded. Slow work
 * (a proposal) runs outside the queue and comes back into it when done. Campaign decisions are the
 * planner's; this file only carries them out and publishes the result.
 */
import PQueue from "p-queue";
import { type Config, SPENDING_PROPOSERS } from "../core/config.js";
import { type LedgerEvent, type NewEventInput, stamp } from "../core/events.js";
import { campaignBranch, experimentBranch, LEDGER_BRANCH } from "../core/names.js";
import { type Command, commandKey, plan } from "../core/planner.js";
import { pullRequestMilestone, renderPullRequest, renderStatusComment, statusMilestone, wantsPullRequest } from "../core/publish.js";
import { type CampaignState, fold, foldInto } from "../core/state.js";
import {
  applyVerdict,
  type EngineDeps,
  isNewResult,
  proposeExperiment,
  rebaseExperiment,
  recordedEvents,
  runFinished,
  runSpecs,
  runsStarted,
} from "../engine/steps.js";
import { BranchConflict, LedgerError } from "../errors.js";
import type { Clock, Logger, Proposer, RunReporting, RunResult, RunSpec } from "../ports.js";
import { apiMessage, call, type GitHubClient, type RepoRef, statusOf } from "./client.js";
import { ActionsExecutor } from "./executor.js";
import { BranchLedgerStore, type LedgerBranch } from "./ledger.js";
import type { OctokitRepoHost } from "./repo.js";
import { identifyRun, readResults, seedsOfRun, type WorkflowRunInfo } from "./results.js";

/** What one campaign needs from the App. */
export interface AppCampaignDeps {
  gh: GitHubClient;
  where: RepoRef;
  /** The repository's web address (https://github.com/owner/repo), for links. */
  webUrl: string;
  defaultBranch: string;
  branch: LedgerBranch;
  repo: OctokitRepoHost;
  logger: Logger;
  clock: Clock;
  proposerFor: (config: Config) => Proposer;
  /** Seconds a proposal may take before it is asked for again (once). */
  proposalLeaseSeconds: number;
  /** Told how long each piece of queued work took (metrics; the benchmarks). */
  onWork?: (work: { campaign: string; what: string; ms: number }) => void;
  /**
   * Least seconds between two edits of a running campaign's status comment (0: at every
   * milestone). A milestone sooner is shown by one edit when they have passed; a stop at once.
   */
  statusEditSeconds?: number;
}

/** The links a campaign's status comment and pull request carry: its traces on the ledger branch, its runs. */
export function publishLinks(webUrl: string, s: CampaignState): { trace: (n: number) => string; runs: (n: number) => string } {
  return {
    trace: (n) => `${webUrl}/blob/${LEDGER_BRANCH}/campaigns/${s.campaign}/traces/${n}.md`,
    runs: (n) => `${webUrl}/actions/workflows/${s.config.runner.workflow}?query=${encodeURIComponent(`branch:${experimentBranch(s.campaign, n)}`)}`,
  };
}

/**
 * The branches an experiment's runs were dispatched on: its own, and the campaign's best branch
 * for runs of the best commit (the baseline's, a new best's extra seeds).
 */
function runBranches(s: CampaignState, e: NonNullable<CampaignState["experiments"][number]>): string[] {
  const out = [experimentBranch(s.campaign, e.experiment)];
  if (e.runs.some((r) => r.status === "running" && r.commit === s.best.commit)) out.push(campaignBranch(s.campaign));
  return out;
}

/** The workflow runs dispatched on `branches` (the newest 50 of each), `status` ones only when given. */
async function listRuns(gh: GitHubClient, where: RepoRef, branches: string[], status?: "completed"): Promise<WorkflowRunInfo[]> {
  const out: WorkflowRunInfo[] = [];
  for (const branch of branches) {
    const r = await call(`list the workflow runs on ${branch}`, () =>
      gh.rest.actions.listWorkflowRunsForRepo({ ...where, branch, event: "workflow_dispatch", per_page: 50, ...(status ? { status } : {}) }),
    );
    out.push(...r.data.workflow_runs);
  }
  return out;
}

/** What the App reads of a workflow run from the runs API. */
function runInfo(run: WorkflowRunInfo): WorkflowRunInfo {
  const { id, html_url, head_sha, head_branch, display_title, status, conclusion } = run;
  return { id, html_url, head_sha, head_branch, display_title, status, conclusion };
}

/** Plan steps one wake-up may take (a guard against a loop, far above what a campaign needs). */
const MAX_STEPS = 500;

/** Times a wake-up is redone from the ledger after another writer appended first. */
const CONFLICT_RETRIES = 3;

export class AppCampaign {
  private state: CampaignState | undefined;
  private loaded = false;
  /** Events recorded in memory (and in `state`) and not yet appended to the ledger. */
  private pending: LedgerEvent[] = [];
  private readonly ledger: BranchLedgerStore;
  private readonly queue = new PQueue({ concurrency: 1 });
  /** Proposals this process is working on (outside the queue). */
  private readonly proposing = new Map<number, Promise<void>>();
  /**
   * Proposals that came back and wait for the queue: taken at the start of every advance, so a
   * proposal that arrived in time is not given up because other work held the queue past its lease.
   */
  private readonly arrived = new Map<number, NewEventInput[]>();
  /** A branch of the campaign was moved by someone else (the campaign stopped for it). */
  private branchMoved = false;
  /**
   * Experiment branches a verdict let go of, deleted once what the verdict freed was dispatched
   * (a deletion is two requests that no runner waits for).
   */
  private deletions: { name: string; expected: string }[] = [];
  /** When the status comment was last written (Date.now()), and the timer of an edit held back. */
  private statusEditedAt = 0;
  private statusTimer: NodeJS.Timeout | undefined;
  /** What was last published, so unchanged text is not written again. */
  private shown: { status?: string; pull?: string; statusKey?: string; pullKey?: string } = {};
  private deps: AppCampaignDeps;

  constructor(
    deps: AppCampaignDeps,
    readonly id: string,
  ) {
    this.deps = deps;
    this.ledger = new BranchLedgerStore(deps.branch, id);
  }

  /** A newer installation client (tokens expire): used from now on. */
  refresh(deps: AppCampaignDeps): void {
    this.deps = deps;
  }

  /** The campaign as this process knows it (undefined before it is loaded or started). */
  get current(): CampaignState | undefined {
    return this.state;
  }

  /** Runs `work` on the campaign's queue, redone from the ledger when another writer was first. */
  run<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.queue.add(async () => {
      const t0 = performance.now();
      for (let attempt = 1; ; attempt++) {
        try {
          await this.load();
          const out = await work();
          this.deps.onWork?.({ campaign: this.id, what, ms: performance.now() - t0 });
          return out;
        } catch (err) {
          if (err instanceof BranchConflict && !(await this.ledgerMoved())) {
            // A branch of the campaign is where the ledger does not say: someone else moved it.
            // Nothing was overwritten; the campaign stops and says so instead of retrying forever.
            this.deps.logger.error("campaign branch moved by someone else: stopping", { campaign: this.id, what, error: err.message });
            this.branchMoved = true;
            this.forget();
            await this.load();
            if (this.state && !this.state.stopped) await this.note([{ type: "campaign_stopped", reason: err.message }]);
            throw err;
          }
          if (!(err instanceof LedgerError || err instanceof BranchConflict) || attempt > CONFLICT_RETRIES) {
            this.deps.logger.error("campaign work failed", { campaign: this.id, what, error: err instanceof Error ? err.message : String(err) });
            throw err;
          }
          this.deps.logger.warn("another writer was first; reading the ledger again", { campaign: this.id, what, attempt });
          this.forget();
        }
      }
    }) as Promise<T>;
  }

  /**
   * Whether another writer appended to this campaign's ledger since it was read (then a branch
   * conflict is that writer's doing, and reading the ledger again resolves it).
   */
  private async ledgerMoved(): Promise<boolean> {
    const mine = this.state?.lastSeq ?? 0;
    const { events } = await this.ledger.read();
    return (events.at(-1)?.seq ?? 0) !== mine - this.pending.length;
  }

  /** Resolves once nothing is queued or proposing (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      await this.queue.onIdle();
      const inflight = [...this.proposing.values()];
      if (inflight.length === 0 && this.queue.size === 0 && this.queue.pending === 0) return;
      await Promise.allSettled(inflight);
    }
  }

  /** Drops what is held in memory; the next work reads the ledger again. */
  private forget(): void {
    this.state = undefined;
    this.loaded = false;
    this.pending = [];
    this.shown = {};
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    const { events, problems } = await this.ledger.read();
    for (const p of problems) this.deps.logger.warn("ledger line cannot be read", { campaign: this.id, line: p.line, problem: p.message });
    this.state = events.length ? fold(events) : undefined;
    for (const p of this.state?.problems ?? []) this.deps.logger.warn("ledger event contradicts an earlier one", { campaign: this.id, problem: p });
    this.loaded = true;
  }

  // -------------------------------------------------------------------------------------------
  // Recording

  /** Records events in memory now; they are appended at the next flush. */
  private record(events: NewEventInput[]): void {
    const s = this.state;
    if (!s || events.length === 0) return;
    const stamped = stamp(events, s.lastSeq, this.deps.clock.now());
    foldInto(s, stamped);
    this.pending.push(...stamped);
  }

  /**
   * Appends what was recorded (a compare-and-swap: LedgerError when another writer was first).
   * `lazy`: not when all that waits is bookkeeping that can wait for the next append (which
   * workflow run holds which seeds: lost in a crash, the run's jobs say it again; a proposal asked
   * of a proposer that spends nothing, and what it answered: lost in a crash, it is asked for
   * again and, being deterministic for its experiment, makes the same commit; the run that
   * measures it is dispatched only after an append that carries it).
   */
  private async flush(opts: { lazy?: boolean } = {}): Promise<void> {
    if (this.pending.length === 0) return;
    if (opts.lazy && this.pending.every(canWait)) return;
    const batch = this.pending;
    await this.ledger.appendStamped(batch);
    this.pending = this.pending.slice(batch.length);
  }

  /** Starts the campaign: its first event is appended, then it is advanced (the baseline dispatched). */
  async start(event: Extract<NewEventInput, { type: "campaign_started" }>): Promise<void> {
    if (this.state) return;
    const [first] = stamp([event], 0, this.deps.clock.now());
    await this.ledger.appendStamped([first as LedgerEvent]);
    this.state = fold([first as LedgerEvent]);
    await this.advance();
  }

  /** Records events that say what happened (a command, a stop), then advances. */
  async note(events: NewEventInput[]): Promise<void> {
    this.record(events);
    await this.advance();
  }

  // -------------------------------------------------------------------------------------------
  // Advancing

  private engine(config: Config): EngineDeps & { executor: ActionsExecutor } {
    const { repo, logger, gh, where } = this.deps;
    const best = () => ({ branch: campaignBranch(this.id), commit: this.state?.best.commit ?? "" });
    // The engine's deletions wait for the end of the step (deleteDeferred).
    const deferring = new Proxy(repo, {
      get: (target, key) => {
        if (key === "deleteBranch")
          return async (name: string, expected: string) => {
            this.deletions.push({ name, expected });
          };
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return {
      repo: deferring,
      logger,
      ledger: this.ledger,
      proposer: this.deps.proposerFor(config),
      executor: new ActionsExecutor(gh, where, repo, config, logger, best),
    };
  }

  /**
   * Plans and carries out what the planner says until nothing new can start now, then appends
   * what was recorded and publishes. Call on the queue (see run).
   */
  async advance(): Promise<void> {
    const s = this.state;
    if (!s) return;
    for (const [experiment, events] of this.arrived) {
      this.arrived.delete(experiment);
      // Given up meanwhile (its lease passed and another answer came): the first answer stands.
      if (s.experiments[experiment]?.phase === "proposing") this.record(events);
    }
    const deps = this.engine(s.config);
    for (let step = 0; step < MAX_STEPS; step++) {
      const cmds = plan(s, this.deps.clock.now()).filter((c) => !(c.kind === "propose" && this.proposing.has(c.experiment)));
      if (cmds.length === 0) break;
      for (const cmd of cmds) {
        await this.execute(s, cmd, deps);
        // A command changes the state the rest were planned on, a discard aside: plan again.
        if (!(cmd.kind === "judge" && cmd.verdict === "discard")) break;
      }
    }
    // (A stopped campaign plans nothing, but a confirmation someone asked for: its runs stay.)
    if (s.stopped && !confirming(s)) await this.cancelInFlight(s);
    await this.flush({ lazy: true });
    await this.deleteDeferred();
    await this.removeIdleBranches(s);
    await this.publish();
  }

  /** Deletes the branches verdicts let go of; one someone moved is left in place, with a warning. */
  private async deleteDeferred(): Promise<void> {
    const todo = this.deletions;
    this.deletions = [];
    for (const { name, expected } of todo) {
      try {
        await this.deps.repo.deleteBranch(name, expected);
      } catch (err) {
        if (!(err instanceof BranchConflict)) throw err;
        this.deps.logger.warn("experiment branch moved by someone else; left in place", { campaign: this.id, branch: name, error: err.message });
      }
    }
  }

  private async execute(s: CampaignState, cmd: Command, deps: EngineDeps & { executor: ActionsExecutor }): Promise<void> {
    const log = this.deps.logger;
    log.debug("campaign command", { campaign: this.id, command: commandKey(cmd) });
    switch (cmd.kind) {
      case "stop":
        this.record([{ type: "campaign_stopped", reason: cmd.reason }]);
        await this.flush();
        return;
      case "start_runs": {
        this.record(runsStarted(cmd, deps.executor, this.deps.clock.now()));
        // Intent before I/O: the runs are in the ledger before the workflow is dispatched.
        await this.flush();
        const reporting: RunReporting = {
          signal: new AbortController().signal,
          report: (spec, result) => this.recordResult(spec, result),
          error: (spec, err) => log.error("dispatch failed", { campaign: this.id, experiment: spec.experiment, error: String(err) }),
          // Recorded with the next append: which workflow run holds these seeds.
          dispatched: (specs, at) => {
            const first = specs[0];
            if (first)
              this.record([
                {
                  type: "runs_dispatched",
                  experiment: first.experiment,
                  commit: first.commit,
                  seeds: specs.map((x) => x.seed),
                  run_id: at.id,
                  ...(at.url ? { url: at.url } : {}),
                },
              ]);
          },
        };
        await deps.executor.start(runSpecs(s, cmd), reporting);
        return;
      }
      case "propose": {
        const lease = new Date(this.deps.clock.now().getTime() + this.deps.proposalLeaseSeconds * 1000).toISOString();
        this.record([
          {
            type: "experiment_requested",
            experiment: cmd.experiment,
            parent: cmd.parent,
            lease_until: lease,
            ...(cmd.reserveUsd > 0 ? { reserved_usd: cmd.reserveUsd } : {}),
          },
        ]);
        // Intent before I/O where the I/O costs money: a reservation is in the ledger before the
        // model is called. A proposer that spends nothing (mutate) has its request appended with
        // its proposal: one append fewer per experiment.
        if (SPENDING_PROPOSERS.has(s.config.proposer.kind)) await this.flush();
        this.startProposal(s, cmd, deps);
        return;
      }
      case "judge":
        this.record(await applyVerdict(s, cmd, deps));
        return;
      case "rebase":
        this.record(await rebaseExperiment(s, cmd, deps));
        return;
      default:
        this.record(recordedEvents(cmd) ?? []);
        return;
    }
  }

  /** A proposal runs outside the queue (it may take minutes) and comes back into it when done. */
  private startProposal(s: CampaignState, cmd: Extract<Command, { kind: "propose" }>, deps: EngineDeps): void {
    const work = proposeExperiment(s, cmd, deps)
      .catch((err: unknown): NewEventInput[] => {
        // The repository or the network failed under the proposal: a failed proposal, not a crash.
        this.deps.logger.error("proposal failed", { campaign: this.id, experiment: cmd.experiment, error: err instanceof Error ? err.message : String(err) });
        return [{ type: "proposal_failed", experiment: cmd.experiment, reason: `the proposal could not be made: ${apiMessage(err)}` }];
      })
      .then((events) => {
        this.arrived.set(cmd.experiment, events);
        return this.run(`proposal ${cmd.experiment}`, async () => {
          this.proposing.delete(cmd.experiment);
          await this.advance();
        });
      })
      .catch(() => {})
      .finally(() => this.proposing.delete(cmd.experiment));
    this.proposing.set(cmd.experiment, work);
  }

  // -------------------------------------------------------------------------------------------
  // Results

  /** Records a run's result unless it already has one (a redelivered webhook, a second replica). */
  private recordResult(spec: RunSpec, result: RunResult): void {
    const s = this.state;
    if (!s || !isNewResult(s, spec)) return;
    // Only a run the ledger handed out: a result for anything else is not this campaign's.
    if (!s.experiments[spec.experiment]?.runs.some((r) => r.commit === spec.commit && r.seed === spec.seed)) return;
    this.record([runFinished(spec, result)]);
  }

  /**
   * Reads the results of a finished workflow run of experiment `experiment` and advances. A run
   * the ledger did not hand out (wrong commit, no run in flight) is ignored with a warning.
   */
  async onWorkflowRun(run: WorkflowRunInfo, experiment: number): Promise<void> {
    if (await this.recordRun(run, experiment)) await this.advance();
  }

  /** Records what a finished workflow run of `experiment` holds (see onWorkflowRun); false when nothing. */
  private async recordRun(run: WorkflowRunInfo, experiment: number): Promise<boolean> {
    const s = this.state;
    if (!s) return false;
    const e = s.experiments[experiment];
    // The App's own dispatch ran another commit than the experiment's: someone pushed to the
    // experiment branch before the run checked it out. What ran is not the experiment; its result
    // does not count, whatever it says.
    const pushed = (e?.runs ?? []).filter((r) => r.dispatch === run.id && r.commit !== run.head_sha && r.status === "running");
    if (pushed.length) {
      const branch = experimentBranch(s.campaign, experiment);
      this.deps.logger.warn("a workflow run ran a commit someone pushed to an experiment branch", {
        campaign: this.id,
        experiment,
        run: run.id,
        sha: run.head_sha,
      });
      for (const r of pushed) {
        const reason = `the workflow run ran ${run.head_sha.slice(0, 12)}, which someone pushed to ${branch} after the App made the experiment's commit ${r.commit.slice(0, 12)}: its result does not count`;
        this.recordResult(
          { campaign: s.campaign, experiment, commit: r.commit, parent: experiment === 0 ? r.commit : (e as NonNullable<typeof e>).parent, seed: r.seed },
          { status: "rejected", metric: null, seconds: 0, exitCode: null, reason, tail: "", url: run.html_url },
        );
      }
      return true;
    }
    const open = (e?.runs ?? []).filter((r) => r.commit === run.head_sha && r.status === "running");
    // The seeds this workflow run holds: those its dispatch recorded; for a dispatch that gave no
    // run details, the seeds its jobs name. A seed of another dispatch of the same commit waits
    // for its own run.
    let mine = open.filter((r) => r.dispatch === run.id);
    if (mine.length === 0 && open.some((r) => r.dispatch === undefined)) {
      const seeds = await seedsOfRun(this.deps.gh, this.deps.where, run.id);
      mine = open.filter((r) => r.dispatch === undefined && (seeds === undefined || seeds.includes(r.seed)));
    }
    const specs: RunSpec[] = mine.map((r) => ({
      campaign: s.campaign,
      experiment,
      commit: r.commit,
      parent: experiment === 0 ? r.commit : (e as NonNullable<typeof e>).parent,
      seed: r.seed,
    }));
    if (specs.length === 0) {
      this.deps.logger.info("workflow run with nothing to record", { campaign: this.id, experiment, run: run.id, sha: run.head_sha });
      return false;
    }
    const results = await readResults(this.deps.gh, this.deps.where, run, specs);
    for (const [spec, result] of results) this.recordResult(spec, result);
    return true;
  }

  /**
   * A stopped campaign's runs still in flight (a new best's extra seeds, a candidate's when a user
   * stopped it) are cancelled on GitHub and recorded as cancelled, as the local driver does: no
   * runner stays busy for a campaign that ended, and their branches can go.
   */
  private async cancelInFlight(s: CampaignState): Promise<void> {
    const open = s.experiments.flatMap((e) => (e ? e.runs.filter((r) => r.status === "running").map((r) => ({ e, r })) : []));
    if (open.length === 0) return;
    const { gh, where, logger } = this.deps;
    const ids = new Map<number, number>();
    for (const { e, r } of open) if (r.dispatch !== undefined) ids.set(r.dispatch, e.experiment);
    // Runs whose dispatch the ledger does not name (a restart lost it): those on their branch not completed.
    for (const e of new Set(open.filter((x) => x.r.dispatch === undefined).map((x) => x.e))) {
      for (const run of await listRuns(gh, where, runBranches(s, e))) {
        const id = identifyRun(run);
        if (!("ignore" in id) && id.experiment === e.experiment && run.status !== "completed" && e.runs.some((r) => r.commit === run.head_sha))
          ids.set(run.id, e.experiment);
      }
    }
    for (const [id, experiment] of ids) {
      try {
        await gh.rest.actions.cancelWorkflowRun({ ...where, run_id: id });
      } catch (err) {
        if (statusOf(err) !== 409) {
          logger.warn("could not cancel a workflow run", { campaign: this.id, run: id, error: apiMessage(err) });
          continue;
        }
        // 409: it completed meanwhile: what it holds is recorded as it happened.
        const run = (await call(`read workflow run ${id}`, () => gh.rest.actions.getWorkflowRun({ ...where, run_id: id }))).data;
        await this.recordRun(runInfo(run), experiment);
      }
    }
    const reason = `cancelled: the campaign stopped (${s.stopped?.reason ?? "stopped"})`;
    for (const { e, r } of open) {
      if (r.status !== "running") continue;
      const parent = e.experiment === 0 ? r.commit : e.parent;
      this.recordResult(
        { campaign: s.campaign, experiment: e.experiment, commit: r.commit, parent, seed: r.seed },
        { status: "cancelled", metric: null, seconds: 0, exitCode: null, reason, tail: "" },
      );
    }
  }

  /**
   * Finds results whose webhooks were lost: each experiment with runs in flight, its workflow runs
   * on its branch, the completed ones read. Then advances (leases, re-dispatch).
   */
  async reconcile(): Promise<void> {
    const s = this.state;
    if (!s || (s.stopped && !confirming(s))) return;
    const { gh, where } = this.deps;
    for (const e of s.experiments) {
      if (!e?.runs.some((r) => r.status === "running")) continue;
      for (const run of await listRuns(gh, where, runBranches(s, e), "completed")) {
        const id = identifyRun(run);
        if ("ignore" in id || id.experiment !== e.experiment) continue;
        if (!e.runs.some((r) => r.status === "running" && (r.commit === run.head_sha || r.dispatch === run.id))) continue;
        await this.onWorkflowRun(runInfo(run), e.experiment);
      }
    }
    await this.advance();
  }

  /**
   * Deletes the experiment branches nothing needs any more: the baseline's and a kept best's once
   * their runs reported (they were made for the dispatch), and every one once the campaign stopped.
   * A candidate's own branch goes with its verdict (applyVerdict). Only branches known to exist are
   * looked at, so this costs no request while there is nothing to delete.
   */
  private async removeIdleBranches(s: CampaignState): Promise<void> {
    const prefix = `autoresearch/${s.campaign}/`;
    const best = campaignBranch(s.campaign);
    for (const [name, sha] of await this.deps.repo.knownUnder(prefix)) {
      if (name === best) continue;
      // Only the App's own experiment branches (autoresearch/<id>/<n>, an experiment it knows).
      const rest = name.slice(prefix.length);
      const e = /^\d+$/.test(rest) ? s.experiments[Number(rest)] : undefined;
      if (!e || e.runs.some((r) => r.status === "running")) continue;
      // (a proposal's branch is made before its proposal is recorded)
      if (!s.stopped && e.experiment > 0 && (e.phase === "running" || e.phase === "proposing")) continue;
      try {
        await this.deps.repo.deleteBranch(name, sha);
      } catch (err) {
        if (!(err instanceof BranchConflict)) throw err;
        this.deps.logger.warn("experiment branch not where expected; left in place", { campaign: this.id, branch: name });
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Publishing

  /** Links to the ledger branch and the workflow runs. */
  private links(s: CampaignState) {
    return publishLinks(this.deps.webUrl, s);
  }

  /** Creates or updates the status comment and the pull request to match the state. */
  async publish(): Promise<void> {
    const s = this.state;
    if (!s) return;
    // The pull request first: the status comment links to it.
    await this.publishPullRequest(s);
    await this.publishStatus(s);
    await this.flush({ lazy: true });
  }

  private async publishStatus(s: CampaignState): Promise<void> {
    const { gh, where } = this.deps;
    // While it runs, the comment is edited at milestones only (a verdict, a new best, a pause, ...).
    const key = statusMilestone(s);
    if (s.published.statusComment && !s.stopped && this.shown.statusKey === key) return;
    // Edits of a running campaign's comment are spaced (each is a write GitHub rate-limits, and
    // nobody reads a comment edited twice a second): one held back is made when the time comes.
    const wait = this.statusEditedAt + (this.deps.statusEditSeconds ?? 0) * 1000 - Date.now();
    if (s.published.statusComment && !s.stopped && wait > 0) {
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = undefined;
        this.run("publish", () => this.publish()).catch((err: unknown) =>
          this.deps.logger.error("could not publish", { campaign: this.id, error: err instanceof Error ? err.message : String(err) }),
        );
      }, wait).unref();
      return;
    }
    const body = renderStatusComment(s, this.links(s));
    const issue = Number(s.campaign);
    if (!s.published.statusComment) {
      const made = await call("post the status comment", () => gh.rest.issues.createComment({ ...where, issue_number: issue, body }));
      this.record([{ type: "published", channel: "status_comment", id: made.data.id, url: made.data.html_url }]);
      await this.flush();
      this.shown.status = body;
      this.shown.statusKey = key;
      return;
    }
    if (this.shown.status === body) {
      this.shown.statusKey = key;
      return;
    }
    try {
      await gh.rest.issues.updateComment({ ...where, comment_id: s.published.statusComment.id, body });
    } catch (err) {
      // Deleted by a person: post a new one and record it.
      if (statusOf(err) !== 404) throw err;
      const made = await call("post the status comment", () => gh.rest.issues.createComment({ ...where, issue_number: issue, body }));
      this.record([{ type: "published", channel: "status_comment", id: made.data.id, url: made.data.html_url }]);
    }
    this.shown.status = body;
    this.shown.statusKey = key;
    this.statusEditedAt = Date.now();
  }

  /** Drops an edit held back (the process is stopping; the next start publishes what the ledger says). */
  dispose(): void {
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
  }

  private async publishPullRequest(s: CampaignState): Promise<void> {
    if (!wantsPullRequest(s)) return;
    // Rewritten when the kept changes change and when the campaign stops, not at every experiment.
    const key = pullRequestMilestone(s);
    if (s.published.pullRequest && this.shown.pullKey === key) return;
    const { gh, where, defaultBranch } = this.deps;
    const traces: Record<number, string> = {};
    for (const e of s.experiments) {
      if (!e || e.experiment === 0 || e.phase !== "kept") continue;
      const t = await this.ledger.trace(e.experiment);
      if (t !== undefined) traces[e.experiment] = t;
    }
    const links = this.links(s);
    const { title, body } = renderPullRequest(s, {
      traces,
      traceLink: links.trace,
      reproduce: `git fetch origin ${campaignBranch(s.campaign)} && git checkout FETCH_HEAD\n${s.config.run}${s.config.eval ? `\n${s.config.eval}` : ""}`,
      ...(s.published.statusComment ? { statusUrl: s.published.statusComment.url } : {}),
    });
    const text = `${title}\n${body}`;
    const pr = s.published.pullRequest;
    if (!pr) {
      // A keep that came just before the stop gets its pull request; a best branch someone else
      // moved does not (its commit is theirs, not the campaign's).
      if (s.stopped && this.branchMoved) return;
      const head = campaignBranch(s.campaign);
      let made: { number: number; html_url: string };
      try {
        made = (await gh.rest.pulls.create({ ...where, head, base: defaultBranch, title, body, maintainer_can_modify: true })).data;
      } catch (err) {
        // Opened by an earlier attempt whose record was lost: find it.
        if (statusOf(err) !== 422) throw err;
        const open = await call("find the pull request", () => gh.rest.pulls.list({ ...where, head: `${where.owner}:${head}`, state: "open" }));
        const found = open.data[0];
        if (!found) throw err;
        made = found;
      }
      this.record([{ type: "published", channel: "pull_request", id: made.number, url: made.html_url }]);
      this.shown.pull = text;
      this.shown.pullKey = key;
      return;
    }
    if (this.shown.pull === text) {
      this.shown.pullKey = key;
      return;
    }
    await call("update the pull request", () => gh.rest.pulls.update({ ...where, pull_number: pr.number, title, body }));
    this.shown.pull = text;
    this.shown.pullKey = key;
  }
}

/** True while a confirmation asked for on a stopped campaign (`/autoresearch confirm`) has not been judged. */
export function confirming(s: CampaignState): boolean {
  return s.confirmation?.requested === true && s.confirmation.phase !== "done";
}

/** An event a lazy flush may leave for the next append (see AppCampaign.flush): bookkeeping, or a proposal that spent nothing. */
function canWait(e: LedgerEvent): boolean {
  const spent = (u: { input_tokens: number; output_tokens: number; cost_usd: number } | undefined) =>
    u !== undefined && (u.cost_usd > 0 || u.input_tokens > 0 || u.output_tokens > 0);
  switch (e.type) {
    case "runs_dispatched":
      return true;
    case "experiment_requested":
      return !e.reserved_usd;
    case "experiment_proposed":
    case "proposal_failed":
      return !spent(e.usage) && !(e.type === "proposal_failed" && e.fatal);
    default:
      return false;
  }
}
