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
import { type ExperimentResult, ExperimentResultSchema, RESULT_VERSION, uploadedLine } from "../core/result.js";
import { ConfigError, GitError, InputError } from "../errors.js";
import { git } from "../local/git.js";
import type { RunResult } from "../ports.js";
import { changedFiles, type GitCall, surfaceRejection } from "../runner/checkout.js";
import { isRefusedEnvName, runEnvironment } from "../runner/env.js";
import { runExperiment } from "../runner/experiment.js";
import { describeIsolation, detectIsolation } from "../runner/isolation.js";
import { samplePeakMemory } from "../runner/memory.js";
import { copyOutputs, RunDir } from "../runner/rundir.js";
import { listTree } from "../runner/tree.js";
import { FileCommandGuard, hiddenPaths } from "./guard.js";
import { type ActionInputs, ActionInputsSchema } from "./inputs.js";
import { fenceBody, fenceClose, fenced, fenceOpen, renderSummary, renderTrainingSummary } from "./report.js";

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
  /** Seconds to wait after SIGKILL before reporting processes as unkillable. Default 10. */
  killDeadlineSeconds?: number;
}

/** What the Action produced. */
export interface ActionOutcome {
  /** The result (absent in mode train, which measures nothing). */
  result?: ExperimentResult;
  resultPath?: string;
  artifactId?: number;
  /** Mode train: the folder holding the collected outputs, when training succeeded. */
  trainingOutputs?: string;
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
  const gitEnv: Record<string, string | undefined> = { GIT_NO_REPLACE_OBJECTS: "1" };
  for (const k of Object.keys(ctx.env)) if (isRefusedEnvName(k)) gitEnv[k] = undefined;
  const gitCall: GitCall = (args, opts) => git(opts?.cwd ?? workspace, args, { env: gitEnv, ...(opts?.input !== undefined ? { input: opts.input } : {}) });

  const commit = await resolveCommit(gitCall, "HEAD", "the checked-out commit");
  const parent = await resolveCommit(gitCall, inputs.parent, `the parent ${JSON.stringify(inputs.parent)}`);
  const read = await readConfig(gitCall, parent, inputs.config);
  // The workflow's outputs, when it names them, replace the configuration's (both are trusted:
  // neither is ever editable).
  const config: Config = inputs.outputs.length > 0 ? { ...read, outputs: inputs.outputs } : read;
  const evalOnly = inputs.mode === "eval";
  if (evalOnly && config.eval === undefined) {
    throw new ConfigError(
      `mode: eval needs an \`eval\` command in ${inputs.config} (at the parent ${parent.slice(0, 12)}): add one that scores the training outputs, or use mode: run`,
      ["eval: required by mode eval"],
      inputs.config,
    );
  }

  if (inputs.mode === "train") {
    if (config.outputs.length === 0) {
      throw new ConfigError(
        `mode: train needs \`outputs\` in ${inputs.config} (at the parent ${parent.slice(0, 12)}) or the input outputs: the files training writes that the evaluate job reads`,
        ["outputs: required by mode train"],
        inputs.config,
      );
    }
    return runTraining({ inputs, ctx, io, workspace, commit, parent, config, gitCall });
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
    if (evalOnly) io.write("mode eval: no training runs here; eval runs on the training outputs, with the parent's files\n");
    const rejection = surfaceRejection(await changedFiles(gitCall, parent, commit), config.editable);
    if (rejection) {
      run = { status: "rejected", metric: null, seconds: 0, exitCode: null, reason: rejection.reason, tail: "" };
      io.write(`rejected, nothing was run: ${rejection.paths.length} file(s) outside the editable surface\n`);
      io.write(fenced(rejection.reason, fenceToken()));
    } else {
      const env = runEnvironment(ctx.env, config.run_env);
      const isolation = detectIsolation({ max: inputs.isolation, hide: hiddenPaths(workspace, ctx.env) });
      io.write(`isolation: ${isolation.level} (${describeIsolation(isolation.level)})\n`);
      const gpuQuery = queryGpus(env);
      const token = fenceToken();
      // The fence is open for the whole run, not only while the tail is shown: a process of the
      // experiment that found this step's stdout still writes inside it.
      io.write(fenceOpen(token));
      const dir = await RunDir.create(ctx.runnerTemp || tmpdir(), isolation);
      try {
        const guard = await FileCommandGuard.snapshot(ctx.env);
        const sampler = samplePeakMemory(process.pid);
        let measured: RunResult | undefined;
        try {
          const tracked = new Set([...(await listTree(workspace, commit)), ...(await listTree(workspace, parent))].map((e) => e.path));
          if (!evalOnly) await dir.writeCommit(workspace, commit);
          measured = await runExperiment({
            cwd: dir.tree,
            config,
            seed: inputs.seed,
            env,
            graceSeconds: ctx.graceSeconds ?? 2,
            skipRun: evalOnly,
            isolation,
            runDir: dir,
            ...(ctx.killDeadlineSeconds !== undefined ? { killDeadlineSeconds: ctx.killDeadlineSeconds } : {}),
            // Mode eval: the training outputs the workflow placed, untracked, in the workspace:
            // the declared ones, or every untracked file where none are declared.
            prepareEval: () =>
              dir.prepareEval({
                repo: workspace,
                parent,
                outputs: evalOnly && config.outputs.length === 0 ? ["**"] : config.outputs,
                from: evalOnly ? (inputs.trainingOutputs ? resolve(workspace, inputs.trainingOutputs) : workspace) : dir.tree,
                tracked,
                metricFile: config.metric.file,
              }),
          });
        } finally {
          peak = await sampler.stop();
          // Every process of the run is gone: what it wrote to the runner's file commands is undone.
          const forged = await guard.restore();
          if (forged.length > 0 && measured !== undefined) {
            measured = {
              ...measured,
              status: "crash",
              metric: null,
              reason: `the run wrote to the runner's file commands (${forged.join(", ")}); they were put back as they were before the run`,
            };
          }
        }
        run = measured;
        const body = [run.tail, run.reason === "" ? "" : `reason: ${run.reason}`].filter((s) => s !== "").join("\n");
        io.write(fenceBody(body === "" ? "(no output)" : body, token));
      } finally {
        await dir.dispose();
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
    ...(run.isolation !== undefined ? { isolation: run.isolation } : {}),
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
    // Outside the fence, in this job's own log: how the trusted result is told apart (result.ts).
    io.write(id !== undefined ? `${uploadedLine(inputs.artifactName, id)}\n` : `autoresearch: uploaded result ${inputs.artifactName}\n`);
  }
  return outcome;
}

/**
 * Mode train (the strict template's train job): verifies the surface, runs only `run` under the
 * same isolation and fence as mode run, and collects the declared outputs into a fresh folder
 * under RUNNER_TEMP for the workflow to upload. Nothing is measured and no result is written.
 */
async function runTraining(c: {
  inputs: ActionInputs;
  ctx: ActionContext;
  io: ActionIO;
  workspace: string;
  commit: string;
  parent: string;
  config: Config;
  gitCall: GitCall;
}): Promise<ActionOutcome> {
  const { inputs, ctx, io, workspace, commit, parent, config } = c;
  let status: string;
  let reason = "";
  let seconds = 0;
  let collected: string | undefined;
  let level: string | undefined;
  io.startGroup(`autoresearch: training of experiment ${inputs.experiment}, seed ${inputs.seed}`);
  try {
    io.write(
      `commit ${commit}, parent ${parent}, time box ${config.budget.experiment_timeout} s; mode train: run only, then collect ${config.outputs.join(", ")}\n`,
    );
    const rejection = surfaceRejection(await changedFiles(c.gitCall, parent, commit), config.editable);
    if (rejection) {
      status = "rejected";
      reason = rejection.reason;
      io.write(`rejected, nothing was run: ${rejection.paths.length} file(s) outside the editable surface\n`);
      io.write(fenced(rejection.reason, fenceToken()));
    } else {
      const isolation = detectIsolation({ max: inputs.isolation, hide: hiddenPaths(workspace, ctx.env) });
      level = isolation.level;
      io.write(`isolation: ${isolation.level} (${describeIsolation(isolation.level)})\n`);
      const token = fenceToken();
      io.write(fenceOpen(token));
      const dir = await RunDir.create(ctx.runnerTemp || tmpdir(), isolation);
      try {
        const guard = await FileCommandGuard.snapshot(ctx.env);
        let r: RunResult | undefined;
        try {
          const atCommit = await dir.writeCommit(workspace, commit);
          const tracked = new Set([...atCommit, ...(await listTree(workspace, parent))].map((e) => e.path));
          r = await runExperiment({
            cwd: dir.tree,
            config,
            seed: inputs.seed,
            env: runEnvironment(ctx.env, config.run_env),
            graceSeconds: ctx.graceSeconds ?? 2,
            isolation,
            runDir: dir,
            trainOnly: true,
            ...(ctx.killDeadlineSeconds !== undefined ? { killDeadlineSeconds: ctx.killDeadlineSeconds } : {}),
          });
          status = r.status;
          reason = r.reason;
          seconds = r.seconds;
          const forged = await guard.restore();
          if (forged.length > 0) {
            status = "crash";
            reason = `the run wrote to the runner's file commands (${forged.join(", ")}); they were put back as they were before the run`;
          } else if (status === "ok") {
            const root = ctx.runnerTemp || tmpdir();
            await mkdir(root, { recursive: true });
            const dest = await mkdtemp(join(root, "autoresearch-train-outputs-"));
            try {
              const n = await copyOutputs({ from: dir.tree, dest, outputs: config.outputs, skip: tracked, metricFile: config.metric.file });
              if (n === 0) {
                status = "crash";
                reason = `training wrote none of the declared outputs (${config.outputs.join(", ")})`;
              } else collected = dest;
            } catch (err) {
              status = "crash";
              reason = err instanceof Error ? err.message : String(err);
            }
          }
        } finally {
          if (r === undefined) await guard.restore();
        }
        const body = [r?.tail ?? "", reason === "" ? "" : `reason: ${reason}`].filter((x) => x !== "").join("\n");
        io.write(fenceBody(body === "" ? "(no output)" : body, token));
      } finally {
        await dir.dispose();
        io.write(fenceClose(token));
      }
    }
  } finally {
    io.endGroup();
  }
  io.setOutput("status", status);
  io.setOutput("seconds", String(round(seconds, 3)));
  io.setOutput("training-outputs", collected ?? "");
  if (status !== "ok") io.warning(`training of experiment ${inputs.experiment}, seed ${inputs.seed}: ${status}`);
  await io.appendSummary(
    renderTrainingSummary({ experiment: inputs.experiment, seed: inputs.seed, status, reason, seconds, isolation: level, outputs: config.outputs }),
  );
  return collected !== undefined ? { trainingOutputs: collected } : {};
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
