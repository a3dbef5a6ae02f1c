/**
 * The small interfaces the campaign drives. Real adapters live in src/local/ and src/github/,
 * fakes in test/fakes/. The core itself never calls them: drivers do, through src/engine/.
 */
import type { Config } from "./core/config.js";
import type { Edit, IsolationLevel, LedgerEvent, LedgerProblem, NewEventInput, RunStatus, Usage } from "./core/events.js";

/** A commit created from edits, with what it changed. */
export interface CommitResult {
  commit: string;
  diff: string;
  linesAdded: number;
  linesRemoved: number;
}

/** Fixed inputs of a commit, so that doing the same step twice makes the same commit. */
export interface CommitOptions {
  /** Author and committer date (ISO 8601), taken from the ledger. */
  at: string;
}

/** What a three-way merge made: a commit, or the paths it could not merge (and no commit). */
export type MergeResult = ({ ok: true } & CommitResult) | { ok: false; conflicts: string[] };

export interface RepoHost {
  /** Contents of the given paths at a commit; undefined for a missing file. */
  readFiles(commit: string, paths: string[]): Promise<Record<string, string | undefined>>;
  /** Every tracked file at a commit. */
  listFiles(commit: string): Promise<string[]>;
  /**
   * Creates a commit on `parent` whose files differ by `files` (path -> new content). Throws
   * EditError when a path cannot be written (a file where a folder is, or below a file).
   */
  commit(parent: string, files: Record<string, string>, message: string, options: CommitOptions): Promise<CommitResult>;
  /**
   * Re-applies the change `base..theirs` on `ours` with git's three-way merge (merge base `base`,
   * given explicitly, not computed): on success, a new commit whose only parent is `ours` (so the
   * campaign branch stays linear), whose tree is the merged tree, with `message` and the date of
   * `options`, and a diff against `ours`; the same inputs make the same commit. When a file cannot
   * be merged cleanly (both sides changed the same lines, a file changed on one side and deleted on
   * the other, a binary file changed on both), no commit is made and the conflicting paths are
   * returned. No side effect on any working tree, index, HEAD or branch.
   */
  merge(base: string, ours: string, theirs: string, message: string, options: CommitOptions): Promise<MergeResult>;
  /**
   * Compare-and-swap: moves branch `name` to `commit` only if it points at `expected` now (`null`:
   * only if it does not exist). A branch already at `commit` is left as it is (a step done twice).
   * Throws BranchConflict, changing nothing, when the branch is anywhere else.
   */
  setBranch(name: string, commit: string, expected: string | null): Promise<void>;
  /** Deletes a branch if it points at `expected` (or is already gone); BranchConflict otherwise. */
  deleteBranch(name: string, expected: string): Promise<void>;
}

/** One run of the experiment command. */
export interface RunSpec {
  campaign: string;
  experiment: number;
  commit: string;
  /** The commit whose locked files the evaluation uses. */
  parent: string;
  seed: number;
}

/** What a run produced; failures are values, not throws. */
export interface RunResult {
  status: RunStatus;
  metric: number | null;
  seconds: number;
  exitCode: number | null;
  /** Human-readable reason for a non-ok status. */
  reason: string;
  /** Bounded, sanitized end of the output. */
  tail: string;
  /** Guard metric values by name (ok runs of a campaign with guards). */
  guards?: Record<string, number>;
  /** Where the run can be seen (GitHub: the workflow run's page), when there is such a place. */
  url?: string;
  /** The isolation the run had (src/runner/isolation.ts); absent where nothing ran. */
  isolation?: IsolationLevel;
}

/**
 * Runs one run to completion on this machine (or until `signal` aborts it, giving `cancelled`).
 * Never throws for run failures. The local executor and the Action's runner.
 */
export interface RunRunner {
  run(spec: RunSpec, signal: AbortSignal): Promise<RunResult>;
}

/** Where an Executor hands results back. */
export interface RunReporting {
  /** Aborting cancels the runs handed out (each is then reported as `cancelled`). */
  signal: AbortSignal;
  /** Called once per run with its result, by executors that see results themselves. */
  report(spec: RunSpec, result: RunResult): void;
  /** Called instead of `report` when the executor itself failed (a broken repository), not the run. */
  error(spec: RunSpec, err: unknown): void;
  /** Called by executors that learn where runs went (GitHub: the workflow run of a dispatch). */
  dispatched?(specs: RunSpec[], where: { id: number; url?: string }): void;
}

/**
 * Hands runs out. `start` returns once the runs are handed over: locally once the processes are
 * started, on GitHub once the workflow is dispatched. Each result comes back later, once per run:
 * through `report` where the executor sees it (locally), or as a `workflow_run` webhook (GitHub);
 * either way the driver records it as a `run_finished` event. The driver records `run_started`
 * before calling `start`, with a lease of `leaseSeconds` when the executor has one.
 */
export interface Executor {
  /** Seconds after which a run with no result is handed out again (once); undefined: never. */
  readonly leaseSeconds?: number;
  start(runs: RunSpec[], reporting: RunReporting): Promise<void>;
}

/** A past experiment as a proposer sees it. */
export interface ExperimentSummary {
  experiment: number;
  title: string;
  hypothesis: string;
  edits: Edit[];
  meta: Record<string, unknown>;
  /** keep / discard / failed, or "running" for experiments in flight. */
  outcome: "keep" | "discard" | "failed" | "running";
  reason: string;
  metric: number | null;
  improvement: number | null;
  /** Bounded, sanitized output tail of the run that failed (failed experiments only). */
  tail?: string;
}

/** What a proposer sees when asked for the next experiment. */
export interface ProposalContext {
  campaign: string;
  experiment: number;
  goal: string;
  config: Config;
  /** The campaign's best commit (the parent of the proposal). */
  parent: string;
  /** Editable files at the parent, path -> content. */
  files: Record<string, string>;
  best: { metric: number | null; baseline: number | null };
  /** Judged experiments, oldest first. */
  history: ExperimentSummary[];
  /** Experiments proposed but not judged yet. */
  inFlight: ExperimentSummary[];
  /** Errors of earlier attempts at this experiment (edits that did not apply, surface violations). */
  feedback: string[];
  /** LLM spend of the campaign so far in US dollars, earlier attempts at this experiment included. */
  costUsd?: number;
  /**
   * What this proposal may still spend, in US dollars (its reservation less earlier attempts);
   * undefined for proposers that do not spend. A paid call may start only while it is above 0.
   */
  budgetUsd?: number;
  /** Reads a tracked file at `parent` (undefined when it does not exist); filled by the engine. */
  readFile?: (path: string) => Promise<string | undefined>;
  /** Every tracked file at `parent`; filled by the engine. */
  listFiles?: () => Promise<string[]>;
}

/** A proposer's answer. */
export interface Proposal {
  title: string;
  hypothesis: string;
  edits: Edit[];
  /** Markdown: why this change was proposed. */
  trace: string;
  usage?: Usage;
  meta?: Record<string, unknown>;
  /**
   * Set when this attempt produced no usable submission (e.g. the model used up its turns): the
   * engine treats it like edits that do not apply and asks again with it as feedback.
   */
  failure?: string;
}

export interface Proposer {
  propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal>;
}

export interface LedgerStore {
  /** Every event and every line that could not be read. */
  read(): Promise<{ events: LedgerEvent[]; problems: LedgerProblem[] }>;
  /** Appends events after `expectedSeq` (compare-and-swap); returns them stamped. */
  append(events: NewEventInput[], expectedSeq: number): Promise<LedgerEvent[]>;
  /** Stores the full trace of an experiment; returns its path relative to the campaign folder. */
  writeTrace(experiment: number, markdown: string): Promise<string>;
}

export interface Clock {
  now(): Date;
}

/** One injected logger: fixed message strings plus a metadata object. */
export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
