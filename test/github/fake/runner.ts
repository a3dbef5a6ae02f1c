/**
 * Workflow runs: a dispatch makes a run the way `templates/workflows/autoresearch.yml` would
 * (display title from `run-name`, one job per seed of the matrix, runs of one concurrency group
 * one at a time); a fleet of N fake runners takes the jobs; each job checks out the dispatched
 * commit (a fresh fetch with depth 2, no credentials) and runs the real bundled Action as the
 * runner would (INPUT_*, file commands, RUNNER_TEMP, the artifact service); the run completes
 * with `success` when every job succeeded, else `failure`, and `workflow_run` webhooks go out.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { runtimeToken } from "./artifacts.js";
import { GIT_ENV, git, isoSeconds } from "./git.js";
import type { JobRecord, RunRecord, WorkflowRecord } from "./state.js";
import type { ParsedWorkflow } from "./workflow.js";
import { evaluate, value } from "./workflow.js";

/** Which runs a knob applies to. */
export interface RunFilter {
  /** The run's display title contains this (the App's experiment id is in it). */
  title?: string | RegExp;
  branch?: string;
  where?: (run: RunRecord) => boolean;
}

export function runMatches(f: RunFilter, run: RunRecord): boolean {
  if (f.title !== undefined && !(typeof f.title === "string" ? run.display_title.includes(f.title) : f.title.test(run.display_title))) return false;
  if (f.branch !== undefined && run.head_branch !== f.branch) return false;
  return f.where ? f.where(run) : true;
}

/** What a job does, when a test replaces the real Action (a fixed-duration job for a benchmark). */
export interface JobContext {
  run: RunRecord;
  job: JobRecord;
  /** The Action's inputs for this job, as the workflow's `with:` evaluates them. */
  inputs: Record<string, string>;
  /** Checks out the run's commit in a fresh directory (depth 2) and returns it. */
  checkout(): Promise<string>;
  /** Uploads an artifact of this run (files in a zip), as the Action's upload would. */
  upload(name: string, files: Record<string, string | Uint8Array>): Promise<void>;
}
export type JobExecutor = (ctx: JobContext) => Promise<{ ok: boolean; failure?: string }>;

/** Knobs on runs (`gh.control.runs`). */
export interface RunKnobs {
  /** Runners in the fleet: jobs in flight at once. */
  runners: number;
  /** `as-requested`: 200 with run details when `return_run_details` is true, else 204. `no-content`: always 204 (GitHub before the parameter existed; GHES). */
  dispatchResponse: "as-requested" | "no-content";
  /** A new run is missing from the run listings for this long (GitHub's listing lags a dispatch by seconds). */
  runAppearsAfterMs: number;
  /** Wait before a run's jobs start (queue time). */
  startDelayMs: number;
  /** Keep matching runs queued (they never start) until `release`. */
  hold(filter?: RunFilter): void;
  release(): void;
  /** Fail the jobs of matching runs: `before-upload` after checkout, before the Action (no artifact); `times` runs (default 1). */
  fail(filter: RunFilter, opts?: { times?: number; failure?: string }): void;
  /** Replaces the real Action in every job (null: the real Action). */
  executor: JobExecutor | null;
  /** The `workflow_run` actions delivered (GitHub sends all three to a subscribed App). */
  webhookActions: ("requested" | "in_progress" | "completed")[];
  /**
   * Called when a dispatch arrives, before its ref is resolved (so a test can move the branch at
   * that moment: someone pushing to an experiment branch); null for nothing.
   */
  beforeDispatch: ((d: { ref: string; inputs: Record<string, unknown> }) => Promise<void>) | null;
}

/** A counting semaphore whose size can change; records when each slot was busy. */
export class Fleet {
  private waiting: ((slot: number) => void)[] = [];
  private free: number[] = [];
  private busy = new Set<number>();
  private created = 0;

  constructor(private size: number) {}

  get runners(): number {
    return this.size;
  }

  set runners(n: number) {
    this.size = Math.max(1, Math.floor(n));
    this.pump();
  }

  acquire(): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.pump();
    });
  }

  release(slot: number): void {
    this.busy.delete(slot);
    this.free.push(slot);
    this.pump();
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.busy.size < this.size) {
      this.free.sort((a, b) => a - b);
      const slot = this.free.shift() ?? ++this.created;
      this.busy.add(slot);
      (this.waiting.shift() as (s: number) => void)(slot);
    }
  }
}

/** How the engine reaches the rest of the fake. */
export interface EngineHost {
  repoDir: string;
  owner: string;
  repo: string;
  web: string;
  api: string;
  bundle: string;
  actionYml: string;
  jobTimeoutMs: number;
  keepWorkdirs: boolean;
  nextId(): number;
  runsChanged(run: RunRecord, action: "requested" | "in_progress" | "completed"): void;
  suspicious(message: string): void;
  uploadArtifact(run: RunRecord, job: JobRecord, name: string, files: Record<string, string | Uint8Array>): Promise<void>;
}

const TAIL = 32_768;
const tail = (s: string) => (s.length > TAIL ? s.slice(-TAIL) : s);

export class ActionsEngine implements RunKnobs {
  dispatchResponse: RunKnobs["dispatchResponse"] = "as-requested";
  runAppearsAfterMs = 0;
  startDelayMs = 0;
  executor: JobExecutor | null = null;
  webhookActions: RunKnobs["webhookActions"] = ["requested", "in_progress", "completed"];
  beforeDispatch: RunKnobs["beforeDispatch"] = null;
  readonly fleet: Fleet;
  private holds: RunFilter[] = [];
  private holdWaiters: (() => void)[] = [];
  private failures: { filter: RunFilter; left: number; failure: string }[] = [];
  private active = new Set<Promise<void>>();
  private groups = new Map<string, { running: RunRecord | null; pending: { run: RunRecord; go: (ok: boolean) => void } | null }>();
  private aborts = new Set<AbortController>();
  private closed = false;
  /** Runs waiting in a hold. */
  private parked = 0;

  constructor(
    private readonly host: EngineHost,
    runners: number,
  ) {
    this.fleet = new Fleet(runners);
  }

  get runners(): number {
    return this.fleet.runners;
  }

  set runners(n: number) {
    this.fleet.runners = n;
  }

  hold(filter: RunFilter = {}): void {
    this.holds.push(filter);
  }

  release(): void {
    this.holds = [];
    for (const w of this.holdWaiters.splice(0)) w();
  }

  fail(filter: RunFilter, opts: { times?: number; failure?: string } = {}): void {
    this.failures.push({ filter, left: opts.times ?? 1, failure: opts.failure ?? "injected: the runner failed before the Action uploaded a result" });
  }

  /** Starts a dispatched run in the background. */
  start(run: RunRecord, wf: ParsedWorkflow): void {
    const p = this.execute(run, wf).catch((err) => {
      this.host.suspicious(`run ${run.id} failed inside the fake: ${(err as Error).stack ?? err}`);
    });
    this.active.add(p);
    p.finally(() => this.active.delete(p));
  }

  /** Resolves when every run has completed or is held (a held run never starts until released). */
  async idle(): Promise<void> {
    while (this.active.size > this.parked) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.aborts) a.abort();
    this.release();
    for (const g of this.groups.values()) g.pending?.go(false);
    await this.idle();
  }

  private async execute(run: RunRecord, wf: ParsedWorkflow): Promise<void> {
    this.host.runsChanged(run, "requested");
    const group = run.concurrency_group;
    if (group) {
      const g = this.groups.get(group) ?? { running: null, pending: null };
      this.groups.set(group, g);
      if (g.running) {
        // GitHub keeps one pending run per group: a newer one cancels the older pending one.
        g.pending?.go(false);
        run.status = "pending";
        const ok = await new Promise<boolean>((go) => {
          g.pending = { run, go };
        });
        if (!ok) return this.finish(run, "cancelled");
      }
      g.running = run;
    }
    try {
      while (!this.closed && this.holds.some((f) => runMatches(f, run))) {
        this.parked++;
        await new Promise<void>((r) => this.holdWaiters.push(r));
        this.parked--;
      }
      if (this.closed) return this.finish(run, "cancelled");
      if (this.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.startDelayMs));
      const seeds = this.seeds(run, wf);
      run.jobs = seeds.map((seed) => ({
        id: this.host.nextId(),
        run_id: run.id,
        name: wf.job?.name ? evaluate(wf.job.name, this.exprContext(run, { seed }), () => {}) : `seed ${String(seed)}`,
        seed,
        status: "queued",
        conclusion: null,
        started_at: null,
        completed_at: null,
        runner: null,
        exit_code: null,
        stdout: "",
        stderr: "",
        outputs: {},
        summary: "",
        failure: null,
        t_start: null,
        t_end: null,
      }));
      run.status = "in_progress";
      run.run_started_at = isoSeconds(Date.now());
      run.updated_at = run.run_started_at;
      this.host.runsChanged(run, "in_progress");
      const failRule = this.failures.find((f) => f.left > 0 && runMatches(f.filter, run));
      if (failRule) failRule.left--;
      await Promise.all(run.jobs.map((j) => this.runJob(run, wf, j, failRule?.failure ?? null)));
      const ok = run.jobs.length > 0 && run.jobs.every((j) => j.conclusion === "success");
      this.finish(run, this.closed ? "cancelled" : ok ? "success" : "failure");
    } finally {
      if (group) {
        const g = this.groups.get(group);
        if (g && g.running === run) {
          g.running = null;
          const next = g.pending;
          g.pending = null;
          next?.go(true);
        }
      }
    }
  }

  private finish(run: RunRecord, conclusion: "success" | "failure" | "cancelled"): void {
    run.status = "completed";
    run.conclusion = conclusion;
    run.updated_at = isoSeconds(Date.now());
    this.host.runsChanged(run, "completed");
  }

  private exprContext(run: RunRecord, matrix: Record<string, unknown>) {
    return {
      inputs: run.inputs,
      matrix,
      github: {
        ref: `refs/heads/${run.head_branch}`,
        ref_name: run.head_branch,
        sha: run.head_sha,
        actor: run.actor,
        event_name: run.event,
        run_id: String(run.id),
      },
    };
  }

  /** The matrix's seeds: `${{ fromJSON(inputs.seeds) }}` evaluated, or a literal list; one job without a matrix. */
  private seeds(run: RunRecord, wf: ParsedWorkflow): unknown[] {
    const m = wf.job?.matrixSeed;
    if (m === undefined) return [undefined];
    if (Array.isArray(m)) return m;
    const expr = /^\$\{\{\s*(.*?)\s*\}\}$/.exec(String(m))?.[1];
    const v = expr
      ? value(expr, this.exprContext(run, {}), (e) => this.host.suspicious(`the fake cannot evaluate \${{ ${e} }} in the seed matrix`))
      : undefined;
    if (!Array.isArray(v)) {
      this.host.suspicious(`run ${run.id}: the seed matrix ${String(m)} is not a list (${JSON.stringify(v)}); GitHub fails such a run`);
      return [];
    }
    return v;
  }

  /** The Action's inputs for one job: the workflow's `with:` evaluated, else experiment, seed and parent from the dispatch. */
  private actionInputs(run: RunRecord, wf: ParsedWorkflow, seed: unknown): Record<string, string> {
    const ctx = this.exprContext(run, { seed });
    const out: Record<string, string> = {};
    if (wf.job?.actionWith) {
      for (const [k, v] of Object.entries(wf.job.actionWith))
        out[k] = evaluate(v, ctx, (e) => this.host.suspicious(`the fake cannot evaluate \${{ ${e} }} in the Action's with:`));
    } else {
      out.experiment = run.inputs.experiment ?? "";
      out.seed = String(seed ?? "");
      if (run.inputs.parent) out.parent = run.inputs.parent;
    }
    return out;
  }

  private async runJob(run: RunRecord, wf: ParsedWorkflow, job: JobRecord, injected: string | null): Promise<void> {
    const slot = await this.fleet.acquire();
    job.status = "in_progress";
    job.runner = `fake-runner-${slot}`;
    job.started_at = isoSeconds(Date.now());
    job.t_start = performance.now();
    const inputs = this.actionInputs(run, wf, job.seed);
    const work = await mkdtemp(join(tmpdir(), "fake-github-runner-"));
    try {
      const checkout = async () => {
        const dir = join(work, "work", this.host.repo, this.host.repo);
        await checkoutCommit(this.host.repoDir, dir, run.head_branch, run.head_sha, `${this.host.web}/${this.host.owner}/${this.host.repo}`);
        return dir;
      };
      let result: { ok: boolean; failure?: string };
      if (this.executor) {
        result = await this.executor({ run, job, inputs, checkout, upload: (name, files) => this.host.uploadArtifact(run, job, name, files) });
      } else {
        const dir = await checkout();
        if (injected) result = { ok: false, failure: injected };
        else result = await this.runAction(run, job, inputs, dir, work);
      }
      job.conclusion = result.ok ? "success" : "failure";
      job.failure = result.ok ? null : (result.failure ?? `the Action exited with ${job.exit_code}`);
    } catch (err) {
      job.conclusion = "failure";
      job.failure = `the job failed in the fake: ${(err as Error).message}`;
    } finally {
      job.status = "completed";
      job.completed_at = isoSeconds(Date.now());
      job.t_end = performance.now();
      this.fleet.release(slot);
      if (!this.host.keepWorkdirs) await rm(work, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** Runs `node dist/action/index.js` as the runner runs a node action. */
  private async runAction(
    run: RunRecord,
    job: JobRecord,
    inputs: Record<string, string>,
    workspace: string,
    work: string,
  ): Promise<{ ok: boolean; failure?: string }> {
    const runnerTemp = join(work, "_temp");
    await mkdir(runnerTemp, { recursive: true });
    const files = { GITHUB_OUTPUT: "output", GITHUB_ENV: "env", GITHUB_PATH: "path", GITHUB_STATE: "state", GITHUB_STEP_SUMMARY: "summary" };
    const fileEnv: Record<string, string> = {};
    for (const [k, f] of Object.entries(files)) {
      fileEnv[k] = join(runnerTemp, `_runner_file_commands_${f}`);
      await writeFile(fileEnv[k], "");
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: join(work, "home"),
      LANG: "C.UTF-8",
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_WORKSPACE: workspace,
      GITHUB_REPOSITORY: `${this.host.owner}/${this.host.repo}`,
      GITHUB_REPOSITORY_OWNER: this.host.owner,
      GITHUB_SHA: run.head_sha,
      GITHUB_REF: `refs/heads/${run.head_branch}`,
      GITHUB_REF_NAME: run.head_branch,
      GITHUB_REF_TYPE: "branch",
      GITHUB_EVENT_NAME: run.event,
      GITHUB_RUN_ID: String(run.id),
      GITHUB_RUN_NUMBER: String(run.run_number),
      GITHUB_RUN_ATTEMPT: String(run.run_attempt),
      GITHUB_JOB: "experiment",
      GITHUB_ACTOR: run.actor,
      // The jobs are github.com's: @actions/artifact 2+ refuses to upload when GITHUB_SERVER_URL is
      // any other host (GHESNotSupportedError), so on GitHub Enterprise Server the Action's upload fails.
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_API_URL: "https://api.github.com",
      GITHUB_ACTION: "__autoresearch-bot_autoresearch-bot",
      RUNNER_NAME: job.runner ?? "fake-runner",
      RUNNER_OS: "Linux",
      RUNNER_ARCH: "X64",
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: join(work, "tool-cache"),
      ACTIONS_RUNTIME_TOKEN: runtimeToken(run.id, job.id),
      ACTIONS_RESULTS_URL: `${this.host.web}/`,
      // Fail fast instead of retrying for minutes if the upload goes wrong.
      ACTIONS_ARTIFACT_UPLOAD_TIMEOUT_MS: "20000",
      ...fileEnv,
    };
    await mkdir(env.HOME as string, { recursive: true });
    // The runner passes every input of action.yml: the workflow's value, else the input's default.
    for (const [name, spec] of Object.entries(actionInputs(this.host.actionYml))) {
      env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = inputs[name] ?? spec.default ?? "";
    }
    for (const name of Object.keys(inputs)) {
      if (!(name in actionInputs(this.host.actionYml)))
        this.host.suspicious(`the workflow passes "${name}" to the Action, which has no such input (the runner warns and ignores it)`);
    }
    const child = spawn(process.execPath, [this.host.bundle], { cwd: workspace, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const abort = new AbortController();
    this.aborts.add(abort);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout = tail(stdout + c.toString("utf8"));
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr = tail(stderr + c.toString("utf8"));
    });
    let timedOut = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, this.host.jobTimeoutMs);
    abort.signal.addEventListener("abort", kill);
    const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    clearTimeout(timer);
    this.aborts.delete(abort);
    job.exit_code = code;
    job.stdout = stdout;
    job.stderr = stderr;
    job.outputs = parseFileCommand(await readFile(fileEnv.GITHUB_OUTPUT as string, "utf8"));
    job.summary = await readFile(fileEnv.GITHUB_STEP_SUMMARY as string, "utf8");
    if (timedOut)
      return { ok: false, failure: `The job running on runner ${job.runner} has exceeded the maximum execution time of ${this.host.jobTimeoutMs} ms.` };
    return code === 0 ? { ok: true } : { ok: false, failure: `Process completed with exit code ${code}.` };
  }
}

/**
 * The share of the wall time from `from` to `to` (performance.now() values) during which all
 * `runners` runners were busy with these jobs: the benchmark's runner utilization.
 */
export function allBusyShare(jobs: Pick<JobRecord, "t_start" | "t_end">[], runners: number, from: number, to: number): number {
  if (to <= from) return 0;
  const events = jobs
    .filter((j) => j.t_start !== null && j.t_end !== null && (j.t_end as number) > from && (j.t_start as number) < to)
    .flatMap((j) => [
      { t: Math.max(from, j.t_start as number), d: 1 },
      { t: Math.min(to, j.t_end as number), d: -1 },
    ])
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let busy = 0;
  let last = from;
  let full = 0;
  for (const e of events) {
    if (busy >= runners) full += e.t - last;
    busy += e.d;
    last = e.t;
  }
  if (busy >= runners) full += to - last;
  return full / (to - from);
}

const actionYmlCache = new Map<string, Record<string, { default?: string }>>();

/** The inputs of action.yml with their defaults. */
function actionInputs(path: string): Record<string, { default?: string }> {
  let v = actionYmlCache.get(path);
  if (!v) {
    const doc = parse(readFileSync(path, "utf8")) as { inputs?: Record<string, { default?: unknown }> };
    v = Object.fromEntries(Object.entries(doc.inputs ?? {}).map(([k, s]) => [k, s?.default === undefined ? {} : { default: String(s.default) }]));
    actionYmlCache.set(path, v);
  }
  return v;
}

/** Parses the `name<<delimiter ... delimiter` and `name=value` records of a file command. */
export function parseFileCommand(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^=<]+)<<(.+)$/.exec(lines[i] ?? "");
    if (m?.[1] && m[2]) {
      const v: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) v.push(lines[i] ?? "");
      out[m[1]] = v.join("\n");
      continue;
    }
    const kv = /^([^=]+)=(.*)$/.exec(lines[i] ?? "");
    if (kv?.[1]) out[kv[1]] = kv[2] ?? "";
  }
  return out;
}

/**
 * What actions/checkout does for a branch dispatch with `fetch-depth: 2` and
 * `persist-credentials: false`: a new repository, the dispatched commit fetched with its parent
 * into `refs/remotes/origin/<branch>`, the branch checked out at it.
 */
export async function checkoutCommit(bareRepo: string, dir: string, branch: string, sha: string, originUrl: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const env = { ...GIT_ENV, HOME: dir };
  await git(dir, ["init", "-q"], { env });
  await git(dir, ["remote", "add", "origin", `file://${bareRepo}`], { env });
  await git(
    dir,
    ["-c", "protocol.version=2", "fetch", "--no-tags", "--prune", "--no-recurse-submodules", "--depth=2", "origin", `+${sha}:refs/remotes/origin/${branch}`],
    { env },
  );
  await git(dir, ["checkout", "-q", "--force", "-B", branch, `refs/remotes/origin/${branch}`], { env });
  // As on a runner, origin is the repository's web URL, and no credentials are stored for it.
  await git(dir, ["remote", "set-url", "origin", originUrl], { env });
  if (!existsSync(join(dir, ".git"))) throw new Error(`checkout of ${sha} failed`);
}

export type { WorkflowRecord };
