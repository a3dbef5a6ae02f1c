/**
 * The Action's inputs (see action.yml), validated before anything runs: a bad input must fail the
 * step at once, not after an hour of training.
 */
import { z } from "zod";
import { CONFIG_PATH } from "../core/config.js";
import { ExperimentIdSchema, type RunMode } from "../core/result.js";
import { ISOLATION_LEVELS, type IsolationLevel } from "../runner/isolation.js";

/** Characters GitHub refuses in artifact names. */
const ARTIFACT_NAME_RE = /^[^"':<>|*?\\/\r\n]{1,200}$/;

const BOOLEAN_TRUE = ["true", "True", "TRUE"];
const BOOLEAN_FALSE = ["false", "False", "FALSE"];

/** The inputs as @actions/core reads them: strings, "" when not given. */
export const ActionInputsSchema = z
  .strictObject({
    experiment: ExperimentIdSchema,
    seed: z
      .string()
      .regex(/^-?\d{1,15}$/, "expected an integer")
      .transform(Number)
      .describe("Seed of this run; reaches the command as AUTORESEARCH_SEED."),
    parent: z
      .string()
      .default("")
      .transform((s) => s || "HEAD^")
      .refine((s) => !s.startsWith("-") && !/[\s\0]/.test(s), "expected a revision (a commit id, a branch, HEAD^)")
      .describe("The commit whose locked files the evaluation uses and against which the surface is verified."),
    config: z
      .string()
      .default("")
      .transform((s) => s || CONFIG_PATH)
      .refine(
        (s) => !s.startsWith("/") && !s.includes("\\") && s.split("/").every((p) => p !== "" && p !== "." && p !== ".."),
        "expected a path relative to the repository root",
      )
      .describe("Path of the configuration in the repository."),
    "artifact-name": z
      .string()
      .default("")
      .refine((s) => s === "" || ARTIFACT_NAME_RE.test(s), "expected a name without \" ' : < > | * ? \\ / or line breaks")
      .describe("Name of the uploaded artifact; default autoresearch-result-<experiment>-<seed>."),
    upload: z
      .string()
      .default("")
      .refine((s) => s === "" || BOOLEAN_TRUE.includes(s) || BOOLEAN_FALSE.includes(s), "expected true or false")
      .transform((s) => !BOOLEAN_FALSE.includes(s))
      .describe("Whether to upload result.json as an artifact."),
    mode: z
      .string()
      .default("")
      .refine((s) => s === "" || s === "run" || s === "eval" || s === "train", "expected run, eval or train")
      .transform((s): ActionMode => (s === "eval" || s === "train" ? s : "run"))
      .describe(
        "run: run, then eval on this runner; train: only run, and the declared outputs collected for upload; eval: only eval, on training outputs from another job, with the parent's files.",
      ),
    outputs: z
      .string()
      .default("")
      .transform((s) => s.split(/\s+/).filter((g) => g !== ""))
      .refine((globs) => globs.every((g) => !g.startsWith("/") && !g.split("/").includes("..")), "expected globs relative to the repository root")
      .describe("Globs of the training outputs, separated by spaces; default: the configuration's `outputs`."),
    "training-outputs": z
      .string()
      .default("")
      .refine((s) => !s.includes("\0"), "expected a path")
      .describe("Mode eval: the folder holding the training outputs (the downloaded artifact); default: untracked files of the workspace."),
    isolation: z
      .string()
      .default("")
      .refine((s) => s === "" || (ISOLATION_LEVELS as readonly string[]).includes(s), `expected one of ${ISOLATION_LEVELS.join(", ")}`)
      .transform((s) => (s === "" ? "sandbox" : s) as IsolationLevel)
      .describe("The strongest isolation to use; the strongest the runner offers up to it is used and recorded."),
  })
  .transform((i) => ({
    experiment: i.experiment,
    seed: i.seed,
    parent: i.parent,
    config: i.config,
    artifactName: i["artifact-name"] || `autoresearch-result-${i.experiment}-${i.seed}`,
    upload: i.upload,
    mode: i.mode,
    isolation: i.isolation,
    trainingOutputs: i["training-outputs"],
    outputs: i.outputs,
  }));

/** Validated inputs with defaults applied. */
export type ActionInputs = z.output<typeof ActionInputsSchema>;
/** The input names, as in action.yml. */
export const INPUT_NAMES = ["experiment", "seed", "parent", "config", "artifact-name", "upload", "mode", "isolation", "outputs", "training-outputs"] as const;

/** What the Action does: see the input `mode`. */
export type ActionMode = RunMode | "train";
