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

export interface RepoHost {
  /** Contents of the given paths at a commit; undefined for a missing file. */
  readFiles(commit: string, paths: string[]): Promise<Record<string, string | undefined>>;
  /** Every tracked file at a commit. */
  listFiles(commit: string): Promise<string[]>;
  /** Creates a commit on `parent` whose files differ by `files` (path -> new content). */
  commit(parent: string, files: Record<string, string>, message: string): Promise<CommitResult>;
  /** Creates or moves a branch to a commit. */
  setBranch(name: string, commit: string): Promise<void>;
  /** Deletes a branch; no error if it is already gone. */
  deleteBranch(name: string): Promise<void>;
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
  /** The isolation the run had (src/runner/isolation.ts); absent where nothing ran. */
  isolation?: IsolationLevel;
}

export interface Executor {
  /** Runs one experiment run to completion (or until `signal` aborts it). Never throws for run failures. */
  run(spec: RunSpec, signal: AbortSignal): Promise<RunResult>;
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
