/**
 * The Executor for one machine: each run gets its own detached git worktree of the experiment
 * commit in a temporary directory, is verified against the editable surface, runs with a time
 * box, and is evaluated with the locked files restored. The worktree is always removed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Config } from "../core/config.js";
import { GitError } from "../errors.js";
import { type Logger, type RunResult, type RunRunner, type RunSpec, silentLogger } from "../ports.js";
import { changedFiles, type GitCall, gitDirOf, restoreLockedFiles, surfaceRejection } from "../runner/checkout.js";
import { runExperiment } from "../runner/experiment.js";
import { provideInputs } from "../runner/inputs.js";
import { sleep } from "../sleep.js";
import { git } from "./git.js";

/** What a LocalExecutor needs. */
export interface LocalExecutorOptions {
  /** The repository the experiment commits live in. */
  repoDir: string;
  config: Config;
  logger?: Logger;
  /** Base environment of the experiment commands (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when a run is stopped. Default 5. */
  graceSeconds?: number;
}

/** Git errors that mean another git process holds a lock for a moment: worth a retry. */
const LOCK_ERROR_RE = /index\.lock|\.lock'|could not lock|unable to lock|is locked|locked|File exists/i;
const LOCK_RETRIES = 8;

/**
 * Runs experiments locally in temporary git worktrees. Several runs may be in flight at once.
 * Failures of the experiment are results (`crash`, `timeout`, `rejected`, ...); a broken
 * repository (unknown commit, git failing) throws GitError.
 */
export class LocalExecutor implements RunRunner {
  private readonly repoDir: string;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly graceSeconds: number;

  constructor(opts: LocalExecutorOptions) {
    this.repoDir = resolve(opts.repoDir);
    this.config = opts.config;
    this.logger = opts.logger ?? silentLogger;
    this.env = opts.env;
    this.graceSeconds = opts.graceSeconds ?? 5;
  }

  /** Runs one run of `spec` in a fresh worktree; see the class comment for what it returns. */
  async run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    if (signal.aborted) return { status: "cancelled", metric: null, seconds: 0, exitCode: null, reason: "cancelled before the run started", tail: "" };

    // Verify before anything is checked out or executed: the commit may change only the surface.
    const rejection = surfaceRejection(await changedFiles(this.gitCall, spec.parent, spec.commit), this.config.editable);
    if (rejection) {
      this.logger.warn("run rejected: commit changes locked files", { experiment: spec.experiment, commit: spec.commit, paths: rejection.paths });
      return { status: "rejected", metric: null, seconds: elapsed(), exitCode: null, reason: rejection.reason, tail: "" };
    }

    // The worktree is the fresh temporary directory itself: its unique name also names the
    // worktree's metadata in .git/worktrees, so concurrent runs do not compete for one name.
    const worktree = await mkdtemp(join(tmpdir(), "autoresearch-run-"));
    const tempDir = worktree;
    let added = false;
    try {
      // No hooks: a repository's post-checkout hook must not run outside the time box.
      await this.worktreeAdmin(() => this.git(["-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", worktree, spec.commit], { retryOnLock: true }));
      added = true;
      await provideInputs(this.repoDir, worktree, this.config.inputs);
      const gitDir = await gitDirOf(this.gitCall, worktree);
      this.logger.debug("worktree ready", { experiment: spec.experiment, seed: spec.seed, worktree });

      const result = await runExperiment({
        cwd: worktree,
        config: this.config,
        seed: spec.seed,
        signal,
        graceSeconds: this.graceSeconds,
        restoreLocked: () => restoreLockedFiles(this.gitCall, { parent: spec.parent, commit: spec.commit, worktree, gitDir, editable: this.config.editable }),
        ...(this.env ? { env: this.env } : {}),
      });
      this.logger.debug("run finished", { experiment: spec.experiment, seed: spec.seed, status: result.status, metric: result.metric });
      return result;
    } finally {
      await this.removeWorktree(worktree, tempDir, added);
    }
  }

  private async removeWorktree(worktree: string, tempDir: string, added: boolean): Promise<void> {
    if (added) {
      try {
        // Twice --force: also removes a worktree the run locked or left dirty.
        await this.worktreeAdmin(() => this.git(["worktree", "remove", "--force", "--force", worktree], { retryOnLock: true }));
      } catch (err) {
        this.logger.warn("could not remove worktree", { worktree, error: (err as Error).message });
      }
    }
    await rm(tempDir, { recursive: true, force: true }).catch((err: Error) =>
      this.logger.warn("could not delete temporary directory", { tempDir, error: err.message }),
    );
    if (added) {
      // Drops the worktree's metadata if `worktree remove` failed and the directory is now gone.
      await this.worktreeAdmin(() => this.git(["worktree", "prune"], { retryOnLock: true })).catch(() => {});
    }
  }

  /** The tail of the queue of worktree administration commands. */
  private worktreeQueue: Promise<unknown> = Promise.resolve();

  /**
   * Runs git's worktree administration (add, remove, prune) one command at a time. It is not safe
   * to run concurrently in one repository: a `worktree add` reads every entry under
   * .git/worktrees and fails on one that another `add` has half written ("failed to read
   * .git/worktrees/<other>/commondir"), and `prune` can delete such an entry. The runs themselves
   * stay parallel; only these few milliseconds queue.
   */
  private worktreeAdmin<T>(command: () => Promise<T>): Promise<T> {
    const result = this.worktreeQueue.then(command, command);
    this.worktreeQueue = result.catch(() => {});
    return result;
  }

  /** `git` as the shared checkout helpers call it. */
  private readonly gitCall: GitCall = (args, opts) => this.git(args, opts);

  /** Runs git without a shell; throws GitError with its stderr; retries briefly on lock contention. */
  private async git(args: string[], opts: { cwd?: string; input?: string; retryOnLock?: boolean } = {}): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await git(opts.cwd ?? this.repoDir, args, { input: opts.input });
      } catch (err) {
        const stderr = err instanceof GitError ? err.stderr : "";
        if (opts.retryOnLock && attempt < LOCK_RETRIES && LOCK_ERROR_RE.test(stderr)) {
          await sleep(25 * 2 ** attempt * (0.5 + Math.random()));
          continue;
        }
        throw err;
      }
    }
  }
}
