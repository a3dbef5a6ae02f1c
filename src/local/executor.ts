/**
 * The Executor for one machine: each run gets a fresh temporary folder with the experiment
 * commit's files written by the tool (no worktree, no .git: nothing leads back to the repository),
 * is verified against the editable surface, runs with a time box under the strongest isolation
 * the machine offers, and is evaluated in a fresh folder of the parent's files plus the declared
 * outputs, once every process of the run is gone. The folder is always removed.
 */
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import type { Config } from "../core/config.js";
import { GitError } from "../errors.js";
import { type Logger, type RunResult, type RunRunner, type RunSpec, silentLogger } from "../ports.js";
import { changedFiles, type GitCall, surfaceRejection } from "../runner/checkout.js";
import { runExperiment } from "../runner/experiment.js";
import { provideInputs, resolveInputs } from "../runner/inputs.js";
import { detectIsolation, type Isolation, type IsolationLevel, reachableByOthers } from "../runner/isolation.js";
import { RunDir } from "../runner/rundir.js";
import { git } from "./git.js";

/** What a LocalExecutor needs. */
export interface LocalExecutorOptions {
  /** The repository the experiment commits live in. */
  repoDir: string;
  config: Config;
  logger?: Logger;
  /** Base environment of the experiment commands (default: this process's); pass the allow-list (runner/env.ts). */
  env?: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when a run is stopped. Default 5. */
  graceSeconds?: number;
  /** The strongest isolation to use (default: the strongest the machine offers). */
  isolation?: IsolationLevel;
  /** Where run folders are made (default: the system's temporary folder). */
  tempDir?: string;
  /** Seconds to wait after SIGKILL before reporting processes as unkillable. Default 10. */
  killDeadlineSeconds?: number;
}

/**
 * Runs experiments locally in temporary folders. Several runs may be in flight at once.
 * Failures of the experiment are results (`crash`, `timeout`, `rejected`, ...); a broken
 * repository (unknown commit, git failing) throws GitError.
 */
export class LocalExecutor implements RunRunner {
  private readonly repoDir: string;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly graceSeconds: number;
  private readonly tempDir: string;
  private readonly killDeadlineSeconds: number | undefined;
  /** Detected on first use, once: the probes take a few milliseconds. */
  private isolationCache: Isolation | undefined;
  private readonly maxIsolation: IsolationLevel;

  constructor(opts: LocalExecutorOptions) {
    this.repoDir = resolve(opts.repoDir);
    this.config = opts.config;
    this.logger = opts.logger ?? silentLogger;
    this.env = opts.env;
    this.graceSeconds = opts.graceSeconds ?? 5;
    this.tempDir = opts.tempDir ?? tmpdir();
    this.killDeadlineSeconds = opts.killDeadlineSeconds;
    this.maxIsolation = opts.isolation ?? "sandbox";
  }

  /** The isolation runs get (detected once). */
  get isolation(): Isolation {
    // The repository (and its .autoresearch/ ledger) is hidden from a sandboxed run; the inputs
    // in it, which runs reach through links, stay readable.
    this.isolationCache ??= detectIsolation({ max: this.maxIsolation, hide: [this.repoDir], reveal: this.inputSources });
    return this.isolationCache;
  }

  /** Absolute paths of the inputs (`inputs:`), as found when the first run started. */
  private inputSources: string[] = [];

  /** Runs one run of `spec` in a fresh folder; see the class comment for what it returns. */
  async run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    if (signal.aborted) return { status: "cancelled", metric: null, seconds: 0, exitCode: null, reason: "cancelled before the run started", tail: "" };

    // Verify before anything is written or executed: the commit may change only the surface.
    const rejection = surfaceRejection(await changedFiles(this.gitCall, spec.parent, spec.commit), this.config.editable);
    if (rejection) {
      this.logger.warn("run rejected: commit changes locked files", { experiment: spec.experiment, commit: spec.commit, paths: rejection.paths });
      return { status: "rejected", metric: null, seconds: elapsed(), exitCode: null, reason: rejection.reason, tail: "" };
    }

    const commit = await this.resolve(spec.commit);
    const parent = await this.resolve(spec.parent);
    if (this.isolationCache === undefined && this.config.inputs?.length)
      this.inputSources = (await resolveInputs(this.repoDir, this.config.inputs)).flatMap((i) => i.paths.map((p) => resolve(this.repoDir, p)));
    const isolation = this.isolation;
    const dir = await RunDir.create(this.tempDir, isolation);
    try {
      const atCommit = await dir.writeCommit(this.repoDir, commit);
      // Inputs after the tree is handed to the run's user: they stay the tool user's, read-only.
      await provideInputs(this.repoDir, dir.tree, this.config.inputs, this.inputOptions(isolation));
      this.logger.debug("run folder ready", { experiment: spec.experiment, seed: spec.seed, dir: dir.root, isolation: isolation.level });
      const tracked = new Set(atCommit.map((e) => e.path));
      const result = await runExperiment({
        cwd: dir.tree,
        config: this.config,
        seed: spec.seed,
        signal,
        graceSeconds: this.graceSeconds,
        isolation,
        runDir: dir,
        ...(this.killDeadlineSeconds !== undefined ? { killDeadlineSeconds: this.killDeadlineSeconds } : {}),
        prepareEval: async () => {
          const evalTree = await dir.prepareEval({
            repo: this.repoDir,
            parent,
            outputs: this.config.outputs,
            from: dir.tree,
            tracked,
            metricFile: this.config.metric.file,
          });
          await provideInputs(this.repoDir, evalTree, this.config.inputs, this.inputOptions(isolation));
          return evalTree;
        },
        ...(this.env ? { env: this.env } : {}),
      });
      this.logger.debug("run finished", { experiment: spec.experiment, seed: spec.seed, status: result.status, metric: result.metric });
      return result;
    } finally {
      await dir.dispose();
    }
  }

  /** A run of another OS user cannot follow a link into a folder closed to others: such inputs are put in its folder. */
  private inputOptions(isolation: Isolation): { mustMaterialize?: (source: string) => boolean } {
    return isolation.uid === undefined ? {} : { mustMaterialize: (source) => !reachableByOthers(source) };
  }

  /** The full id of a commit, read with replace objects off; GitError when it does not exist. */
  private async resolve(rev: string): Promise<string> {
    const id = (await this.git(["--no-replace-objects", "rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`]).catch(() => "")).trim();
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(id)) throw new GitError(`not a commit in ${this.repoDir}: ${rev}`, ["rev-parse", rev], "");
    return id;
  }

  /** `git` as the shared checkout helpers call it. */
  private readonly gitCall: GitCall = (args, opts) => this.git(args, opts);

  /** Runs git without a shell, replace objects off; throws GitError with its stderr. */
  private git(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
    return git(opts.cwd ?? this.repoDir, args, { input: opts.input, env: { GIT_NO_REPLACE_OBJECTS: "1" } });
  }
}
