/**
 * The work of the Action (main.ts only wires it to @actions/core and the artifact service): read
 * the configuration at the parent commit, verify the surface, run the experiment with the time
 * box in a fenced log (in mode eval only `eval`, on the parent's files), write result.json once
 * every process is gone, report, upload.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Config, parseConfigText } from "../core/config.js";
import { type ExperimentResult, ExperimentResultSchema, RESULT_VERSION } from "../core/result.js";
import { ConfigError, GitError, InputError } from "../errors.js";
import { git } from "../local/git.js";
import type { RunResult } from "../ports.js";
import { changedFiles, checkoutParent, type GitCall, gitDirOf, restoreLockedFiles, surfaceRejection } from "../runner/checkout.js";
import { runExperiment } from "../runner/experiment.js";
import { samplePeakMemory } from "../runner/memory.js";
import { experimentEnv, isWithheld } from "./env.js";
import { type ActionInputs, ActionInputsSchema } from "./inputs.js";
import { fenceBody, fenceClose, fenced, fenceOpen, renderSummary } from "./report.js";

/** What the Action does to the world, so tests and main.ts can each provide it. */
export interface ActionIO {
  /** Writes raw text to the job log (stdout). */
  write(text: string): void;
  startGroup(name: string): void;
  endGroup(): void;
  /** An annotation of the Action's own (never text of the experiment's). */
  warning(message: string): void;
  setOutput(name: string, value: string): void;
  /** Appends Markdown to the job summary. */
  appendSummary(markdown: string): Promise<void>;
  /** Uploads `file` (inside `rootDir`) as the artifact `name`; returns its id when known. */
  upload(name: string, file: string, rootDir: string): Promise<{ id?: number }>;
}

/** Where the Action runs. */
export interface ActionContext {
  /** The checkout of the experiment commit (GITHUB_WORKSPACE). */
  workspace: string;
  /** A folder for the result (RUNNER_TEMP); the system's temporary folder when absent. */
  runnerTemp?: string;
  /** The job's environment (the experiment gets it without the withheld variables). */
  env: NodeJS.ProcessEnv;
  /** autoresearch-bot's version, recorded in the result. */
  version: string;
  /** Seconds between SIGTERM and SIGKILL; default 2, so a hung run ends well within the time box + 5 s. */
  graceSeconds?: number;
}

/** What the Action produced. */
export interface ActionOutcome {
  result: ExperimentResult;
  resultPath: string;
  artifactId?: number;
}

/** Largest `reason` kept in a result. */
const REASON_MAX = 4000;

/**
 * Runs one run of an experiment as the Action does. Experiment failures (crash, timeout,
 * rejected, ...) are results; invalid inputs or configuration, a broken checkout and a failed
 * upload throw (InputError, ConfigError, GitError, Error) for main.ts to report once.
 */
export async function runAction(rawInputs: Record<string, string>, ctx: ActionContext, io: ActionIO): Promise<ActionOutcome> {
  const inputs = parseInputs(rawInputs);
  const workspace = resolve(ctx.workspace);
  // Git never needs the job's credentials, and runs after the experiment in a repository it could
  // have reconfigured: it gets the experiment's environment, not the job's.
  const gitEnv: Record<string, string | undefined> = {};
  for (const k of Object.keys(ctx.env)) if (isWithheld(k)) gitEnv[k] = undefined;
  const gitCall: GitCall = (args, opts) => git(opts?.cwd ?? workspace, args, { env: gitEnv, ...(opts?.input !== undefined ? { input: opts.input } : {}) });

  const commit = await resolveCommit(gitCall, "HEAD", "the checked-out commit");
  const parent = await resolveCommit(gitCall, inputs.parent, `the parent ${JSON.stringify(inputs.parent)}`);
  const config = await readConfig(gitCall, parent, inputs.config);
  const evalOnly = inputs.mode === "eval";
  if (evalOnly && config.eval === undefined) {
    throw new ConfigError(
      `mode: eval needs an \`eval\` command in ${inputs.config} (at the parent ${parent.slice(0, 12)}): add one that scores the training outputs, or use mode: run`,
      ["eval: required by mode eval"],
      inputs.config,
    );
  }

  const base = {
    version: RESULT_VERSION,
    experiment: inputs.experiment,
    commit,
    parent,
    seed: inputs.seed,
    // Only for eval: a result of mode run stays exactly as before the input existed.
    ...(evalOnly ? { mode: "eval" as const } : {}),
    runner: {
      name: ctx.env.RUNNER_NAME || null,
      os: ctx.env.RUNNER_OS || process.platform,
      arch: ctx.env.RUNNER_ARCH || process.arch,
    },
    action_version: ctx.version,
  } as const;

  io.startGroup(`autoresearch: experiment ${inputs.experiment}, seed ${inputs.seed}`);
  let run: RunResult;
  let gpu: string[] | null = null;
  let peak: number | null = null;
  try {
    io.write(`commit ${commit}, parent ${parent}, time box ${config.budget.experiment_timeout} s\n`);
    if (evalOnly) io.write("mode eval: no training runs here; eval runs on the training outputs in the workspace, with the parent's files\n");
    const rejection = surfaceRejection(await changedFiles(gitCall, parent, commit), config.editable);
    if (rejection) {
      run = { status: "rejected", metric: null, seconds: 0, exitCode: null, reason: rejection.reason, tail: "" };
      io.write(`rejected, nothing was run: ${rejection.paths.length} file(s) outside the editable surface\n`);
      io.write(fenced(rejection.reason, fenceToken()));
    } else {
      const gitDir = await gitDirOf(gitCall, workspace);
      const env = experimentEnv(ctx.env);
      const gpuQuery = queryGpus(env);
      const token = fenceToken();
      // The fence is open for the whole run, not only while the tail is shown: a process of the
      // experiment that found this step's stdout still writes inside it.
      io.write(fenceOpen(token));
      try {
        const sampler = samplePeakMemory(process.pid);
        try {
          run = await runExperiment({
            cwd: workspace,
            config,
            seed: inputs.seed,
            env,
            graceSeconds: ctx.graceSeconds ?? 2,
            skipRun: evalOnly,
            restoreLocked: evalOnly
              ? () => checkoutParent(gitCall, { parent, worktree: workspace, metricFile: config.metric.file })
              : () => restoreLockedFiles(gitCall, { parent, commit, worktree: workspace, gitDir, editable: config.editable }),
          });
        } finally {
          peak = await sampler.stop();
        }
        const body = [run.tail, run.reason === "" ? "" : `reason: ${run.reason}`].filter((s) => s !== "").join("\n");
        io.write(fenceBody(body === "" ? "(no output)" : body, token));
      } finally {
        // Always closed, also when something above throws: main.ts's error must be a command again.
        io.write(fenceClose(token));
      }
      gpu = await gpuQuery;
    }
  } finally {
    io.endGroup();
  }

  const result = ExperimentResultSchema.parse({
    ...base,
    status: run.status,
    metric: run.status === "ok" ? run.metric : null,
    ...(run.status === "ok" && run.guards ? { guards: run.guards } : {}),
    seconds: round(run.seconds, 3),
    timed_out: run.status === "timeout",
    exit_code: run.exitCode,
    reason: run.reason.length > REASON_MAX ? `${run.reason.slice(0, REASON_MAX - 3)}...` : run.reason,
    tail: run.tail,
    gpu,
    peak_memory_mb: peak,
  });

  // Created only now that every process of the experiment is gone (runExperiment waits for the
  // whole process group), under a random name: nothing of the run can have prepared or be
  // watching it. Processes that left the group on purpose are the limit of one job (docs/action.md).
  const root = ctx.runnerTemp || tmpdir();
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, "autoresearch-result-"));
  const resultPath = join(dir, "result.json");
  await writeFile(resultPath, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600, flag: "wx" });

  io.setOutput("status", result.status);
  io.setOutput("metric", result.metric === null ? "" : String(result.metric));
  io.setOutput("seconds", String(result.seconds));
  io.setOutput("result-path", resultPath);
  if (result.status !== "ok") io.warning(`experiment ${result.experiment}, seed ${result.seed}: ${result.status}`);
  await io.appendSummary(renderSummary(result));

  const outcome: ActionOutcome = { result, resultPath };
  if (inputs.upload) {
    const { id } = await io.upload(inputs.artifactName, resultPath, dir);
    if (id !== undefined) outcome.artifactId = id;
    io.write(`uploaded ${inputs.artifactName}${id !== undefined ? ` (artifact ${id})` : ""}\n`);
  }
  return outcome;
}

/** Validates the raw inputs; InputError naming every bad one. */
export function parseInputs(raw: Record<string, string>): ActionInputs {
  const r = ActionInputsSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${i.path.join(".") || "(inputs)"}: ${i.message}`);
  throw new InputError(`invalid input: ${lines.join("; ")}`, lines);
}

async function resolveCommit(gitCall: GitCall, rev: string, what: string): Promise<string> {
  try {
    return (await gitCall(["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`])).trim();
  } catch (err) {
    throw new GitError(
      `${what} is not in the checkout: check out the experiment commit with enough history (actions/checkout with fetch-depth: 2, or 0 for a parent further back)`,
      err instanceof GitError ? err.args : [],
      err instanceof GitError ? err.stderr : String(err),
    );
  }
}

/**
 * The configuration as committed at the parent: the experiment commit cannot change it (it is
 * never editable, and a commit that changes it is rejected), so the surface is checked against
 * rules the experiment did not write.
 */
async function readConfig(gitCall: GitCall, parent: string, path: string): Promise<Config> {
  let text: string;
  try {
    text = await gitCall(["cat-file", "blob", `${parent}:${path}`]);
  } catch {
    throw new ConfigError(`${path} is not committed at the parent ${parent.slice(0, 12)}: run \`autoresearch init --github\` and commit it`, [], path);
  }
  return parseConfigText(text, path);
}

/** GPU names from nvidia-smi; null when it is absent, fails, or takes over 15 s. */
function queryGpus(env: NodeJS.ProcessEnv): Promise<string[] | null> {
  return new Promise((done) => {
    execFile("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { env, timeout: 15_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err) return done(null);
      const names = String(stdout)
        .split("\n")
        .map((l) => l.trim().slice(0, 200))
        .filter((l) => l !== "")
        .slice(0, 64);
      done(names.length > 0 ? names : null);
    });
  });
}

/** A fresh random token for `::stop-commands::`, unknown to the experiment. */
function fenceToken(): string {
  return `autoresearch-${randomBytes(16).toString("hex")}`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
