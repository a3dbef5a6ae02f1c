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
      .refine((s) => s === "" || s === "run" || s === "eval", "expected run or eval")
      .transform((s): RunMode => (s === "eval" ? "eval" : "run"))
      .describe("run: run, then eval on this runner; eval: only eval, on training outputs placed in the workspace, with the parent's files."),
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
  }));

/** Validated inputs with defaults applied. */
export type ActionInputs = z.output<typeof ActionInputsSchema>;
/** The input names, as in action.yml. */
export const INPUT_NAMES = ["experiment", "seed", "parent", "config", "artifact-name", "upload", "mode", "isolation"] as const;
