/**
 * `result.json`: what one run of an experiment on a GitHub Actions runner reports, uploaded by the
 * Action as an artifact and read by the App. One strict zod schema shared by both sides.
 */
import { z } from "zod";
import { IsolationLevelSchema, RunStatusSchema } from "./events.js";

/** Version of the result format; the App refuses versions it does not know. */
export const RESULT_VERSION = 1;

/** Largest `tail` a result may carry, in characters (the runner keeps 4096 bytes plus headers). */
export const RESULT_TAIL_MAX_CHARS = 8192;

/** An experiment id as the workflow passes it: safe in artifact names, file names and logs. */
export const ExperimentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
  .describe("Experiment id (the App uses <campaign>-<experiment>).");

/**
 * How the result was measured: `run` trained and evaluated on one runner; `eval` evaluated, with
 * the parent's files, training outputs that another job made (the strict workflow template).
 */
export const RunModeSchema = z.enum(["run", "eval"]);
/** See {@link RunModeSchema}. */
export type RunMode = z.infer<typeof RunModeSchema>;

const CommitSchema = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "expected a full commit id");

export const ExperimentResultSchema = z
  .strictObject({
    version: z.literal(RESULT_VERSION).describe("Result format version."),
    experiment: ExperimentIdSchema,
    commit: CommitSchema.describe("The experiment commit that was checked out and run."),
    parent: CommitSchema.describe("The commit whose locked files the evaluation used and against which the surface was verified."),
    seed: z.number().int().describe("Seed of this run, passed to the command as AUTORESEARCH_SEED."),
    // Optional and written only for `eval`, so that results of mode run stay as they were.
    mode: RunModeSchema.optional().describe("eval when only eval ran, on training outputs from another job, with the parent's files; absent means run."),
    status: RunStatusSchema.describe("ok, or why there is no usable metric (rejected: the commit changes locked files; nothing ran)."),
    metric: z.number().nullable().describe("The metric read from the output; null unless status is ok."),
    // Optional, so that results of a campaign without guards stay as they were.
    guards: z
      .record(z.string(), z.number())
      .optional()
      .describe("Guard metric values by name (config guards), read like the metric; present when status is ok and guards are configured."),
    seconds: z.number().min(0).describe("Wall-clock seconds of run and eval together (of eval alone in mode eval)."),
    timed_out: z.boolean().describe("True when a command exceeded the time box and was killed."),
    exit_code: z.number().int().nullable().describe("Exit code of the last command that ran; null when killed or never started."),
    reason: z.string().max(4000).describe("Why the status is not ok; empty when it is."),
    tail: z.string().max(RESULT_TAIL_MAX_CHARS).describe("Bounded, sanitized end of the output of run and eval."),
    runner: z
      .strictObject({
        name: z.string().nullable().describe("RUNNER_NAME, when set."),
        os: z.string().describe("RUNNER_OS, or the platform Node reports."),
        arch: z.string().describe("RUNNER_ARCH, or the architecture Node reports."),
      })
      .describe("The machine that ran the experiment."),
    gpu: z.array(z.string()).nullable().describe("GPU names from `nvidia-smi --query-gpu=name`, one per device; null when nvidia-smi is absent or fails."),
    peak_memory_mb: z
      .number()
      .min(0)
      .nullable()
      .describe(
        "Largest sampled memory of the experiment's processes, shared pages counted once (proportional set size, host memory only); null where not measurable.",
      ),
    action_version: z.string().describe("Version of autoresearch-bot that produced the result."),
    isolation: IsolationLevelSchema.optional().describe("The isolation the run had (docs/security.md); absent when nothing ran."),
  })
  .describe("The result of one run of an experiment on a GitHub Actions runner (result.json).");

/** A validated result.json. */
export type ExperimentResult = z.infer<typeof ExperimentResultSchema>;

/** Parses the text of a result.json; throws an Error naming the first bad field. */
export function parseExperimentResult(text: string): ExperimentResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`result.json is not valid JSON: ${(err as Error).message}`);
  }
  const r = ExperimentResultSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
    throw new Error(`result.json is invalid: ${lines.join("; ")}`);
  }
  return r.data;
}

/** The line the Action prints, outside any fence, once it has uploaded the result. */
export function uploadedLine(name: string, artifactId: number): string {
  return `autoresearch: uploaded result ${name} as artifact ${artifactId}`;
}

/**
 * The id of the result artifact that the evaluate job itself uploaded, read from that job's log;
 * undefined when the log names none. This is how a reader tells the trusted result from an
 * artifact that training uploaded under the same name (with a stolen runtime token): artifact
 * names are unique within a workflow run, so whichever was uploaded first holds the name, and
 * only the evaluate job's own log, which training cannot write, names the id of the one it
 * uploaded. Lines inside a `::stop-commands::` fence (output of the evaluation) never count, and
 * the runner's timestamp prefix is ignored.
 */
export function trustedArtifactId(jobLog: string, name: string): number | undefined {
  let fence: string | null = null;
  let found: number | undefined;
  const prefix = `autoresearch: uploaded result ${name} as artifact `;
  for (const raw of jobLog.split(/\r?\n/)) {
    const line = raw.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, "");
    if (fence !== null) {
      if (line.trim() === `::${fence}::`) fence = null;
      continue;
    }
    if (line.startsWith("::stop-commands::")) {
      fence = line.slice("::stop-commands::".length).trim();
      continue;
    }
    if (line.startsWith(prefix) && /^\d+$/.test(line.slice(prefix.length).trim())) found = Number(line.slice(prefix.length).trim());
  }
  return found;
}
