/**
 * Typed errors, translated once at each shell's edge (the CLI prints one line and exits 2 for
 * user errors, 1 for internal ones). `userError` marks the ones the user can fix.
 */
import type { Usage } from "./core/events.js";

export class AutoresearchError extends Error {
  /** True when the user can fix the cause (bad config, dirty tree, ...): the CLI exits 2. */
  readonly userError: boolean = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration is missing or invalid; `issues` holds one line per problem with its key path. */
export class ConfigError extends AutoresearchError {
  constructor(
    message: string,
    readonly issues: string[] = [],
    readonly file?: string,
  ) {
    super(message);
  }
}

/** A proposal touches files outside the editable surface, `.github/**`, or outside the repository. */
export class SurfaceViolation extends AutoresearchError {
  constructor(
    message: string,
    readonly paths: string[],
  ) {
    super(message);
  }
}

/** A proposal's edits do not apply (search text missing or ambiguous). */
export class EditError extends AutoresearchError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** The ledger has a line that does not parse; nothing is dropped silently. */
export class LedgerError extends AutoresearchError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** Another process holds the campaign lock. */
export class LockedError extends AutoresearchError {}

/** The repository is not in a state to start (dirty tree, not a git repository, ...). */
export class RepoStateError extends AutoresearchError {}

/** A git command failed unexpectedly; keeps the command and its stderr. */
export class GitError extends AutoresearchError {
  override readonly userError = false;
  constructor(
    message: string,
    readonly args: string[],
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** A proposer failed in a way the campaign cannot continue from (missing API key, budget spent, ...). */
export class ProposerError extends AutoresearchError {
  /** LLM usage spent before the failure, so the ledger still counts it. */
  usage?: Usage;
  constructor(message: string, options?: { cause?: unknown; usage?: Usage }) {
    super(message, options);
    this.usage = options?.usage;
  }
}

/** A proposal was stopped by the user or a shutdown; keeps what it had spent, so the ledger counts it. */
export class ProposalInterrupted extends AutoresearchError {
  usage?: Usage;
  constructor(message: string, options?: { cause?: unknown; usage?: Usage }) {
    super(message, options);
    this.usage = options?.usage;
  }
}

/**
 * A branch was not where a compare-and-swap expected it: another process (a second campaign, a
 * replica of the App, a person) moved it. Nothing was changed.
 */
export class BranchConflict extends AutoresearchError {
  override readonly userError = false;
  constructor(
    message: string,
    readonly branch: string,
    readonly expected: string | null,
    readonly actual: string | null,
  ) {
    super(message);
  }
}

/** A GitHub API call failed; keeps the HTTP status and the request error as its cause. */
export class GitHubApiError extends AutoresearchError {
  override readonly userError = false;
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for errors the user can fix: exit code 2 rather than 1. */
export function isUserError(err: unknown): boolean {
  return err instanceof AutoresearchError && err.userError;
}

/** An input of the GitHub Action is missing or invalid; `issues` holds one line per input. */
export class InputError extends AutoresearchError {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
  }
}
