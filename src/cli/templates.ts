/**
 * The experiment workflow templates (`templates/workflows/*.yml`, shipped with the package) and
 * the pure function that fills them from a repository's configuration. The files are valid
 * workflows as they stand (CI lints them with actionlint); the lines a repository's configuration
 * decides carry an `# autoresearch:<what>` marker, and only those lines are rewritten.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.js";

/** Which template: GitHub-hosted runners, self-hosted GPU runners, or the strict two-job one. */
export type WorkflowKind = "hosted" | "gpu" | "strict";

/** The template file of each kind, under `templates/workflows/` in the package. */
export const WORKFLOW_TEMPLATE_FILES: Record<WorkflowKind, string> = {
  hosted: "autoresearch.yml",
  gpu: "autoresearch-gpu.yml",
  strict: "autoresearch-strict.yml",
};

/** Minutes a job needs beyond the time box: checkout, toolchain, the Action, the upload. */
export const SETUP_MINUTES: Record<WorkflowKind, number> = { hosted: 10, gpu: 25, strict: 10 };

/**
 * `timeout-minutes` of an experiment job. One job runs `run` and then `eval`, each within the time
 * box, so it gets twice the time box; each job of the strict template runs one of them, so once.
 */
export function timeoutMinutes(kind: WorkflowKind, experimentTimeoutSeconds: number): number {
  const boxes = kind === "strict" ? 1 : 2;
  return Math.ceil((boxes * experimentTimeoutSeconds) / 60) + SETUP_MINUTES[kind];
}

/** Finds `templates/workflows` above this module (from `src/cli/` in tests, `dist/src/cli/` when installed). */
export function templatesDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "templates", "workflows");
    if (existsSync(join(candidate, WORKFLOW_TEMPLATE_FILES.hosted))) return candidate;
    if (dirname(dir) === dir) throw new Error(`templates/workflows not found above ${from}; the package is incomplete`);
  }
}

const cache = new Map<WorkflowKind, string>();

/** The text of a template as shipped (read once from the package). */
export function workflowTemplate(kind: WorkflowKind): string {
  let text = cache.get(kind);
  if (text === undefined) {
    text = readFileSync(join(templatesDir(), WORKFLOW_TEMPLATE_FILES[kind]), "utf8");
    cache.set(kind, text);
  }
  return text;
}

/** What a repository's configuration decides in its workflow. */
export interface WorkflowParams {
  /** `budget.experiment_timeout` in seconds. */
  experimentTimeoutSeconds: number;
  /** `runner.runs_on`: the default runner labels of the dispatch input; the template's own when absent. */
  runsOn?: string[];
  /** strict only: the globs of what training writes and evaluation reads (else the configuration's `outputs`). */
  outputs?: string[];
}

/** A single-quoted YAML scalar. */
const yamlSingle = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Rewrites the value of every line marked `# autoresearch:<marker>`; the template must have at least one. */
function setMarked(text: string, marker: string, value: string): string {
  // "key: value", or a list item "- key: value" (a schedule's cron).
  const re = new RegExp(`^(\\s*(?:- )?[\\w-]+: ).*( # autoresearch:${marker})$`, "gm");
  if (!re.test(text)) throw new Error(`workflow template: no line marked autoresearch:${marker}`);
  return text.replace(re, (_m, head: string, tail: string) => `${head}${value}${tail}`);
}

/** The workflow that starts a campaign on a schedule (a repository_dispatch to the App). */
export const SCHEDULE_TEMPLATE_FILE = "autoresearch-schedule.yml";

/** The schedule workflow with the cron expression filled in (pure; the expression is checked by the caller). */
export function renderScheduleWorkflow(cron: string, template = readFileSync(join(templatesDir(), SCHEDULE_TEMPLATE_FILE), "utf8")): string {
  if (/["\\\r\n]/.test(cron)) throw new ConfigError(`--schedule ${JSON.stringify(cron)}: a cron expression has no quotes, backslashes or line breaks`);
  return setMarked(template, "cron", JSON.stringify(cron.trim()));
}

/** Refuses text that Actions would evaluate as an expression or that would break the YAML line. */
function literal(what: string, s: string): string {
  if (s.includes("${{")) throw new ConfigError(`${what} contains "\${{", which GitHub Actions would evaluate; move it into a script`);
  if (/[\r\n]/.test(s)) throw new ConfigError(`${what} spans several lines; the strict workflow needs a one-line command (or a script)`);
  return JSON.stringify(s);
}

/** The workflow for a repository: the template of `kind` with the configuration's values filled in (pure). */
export function renderWorkflow(kind: WorkflowKind, p: WorkflowParams, template = workflowTemplate(kind)): string {
  if (!(p.experimentTimeoutSeconds > 0)) throw new ConfigError("budget.experiment_timeout must be a positive duration");
  let text = template;
  if (p.runsOn && p.runsOn.length > 0) text = setMarked(text, "runs-on", yamlSingle(JSON.stringify(p.runsOn)));
  const minutes = String(timeoutMinutes(kind, p.experimentTimeoutSeconds));
  if (kind === "strict") {
    text = setMarked(text, "train-timeout-minutes", minutes);
    text = setMarked(text, "evaluate-timeout-minutes", minutes);
    const blank = p.outputs?.find((o) => o === "" || /\s/.test(o));
    if (blank !== undefined) throw new ConfigError(`training output ${JSON.stringify(blank)}: paths are separated by spaces, so they cannot hold one`);
    if (p.outputs && p.outputs.length > 0) text = setMarked(text, "outputs", literal("the training outputs", p.outputs.join(" ")));
  } else {
    text = setMarked(text, "timeout-minutes", minutes);
  }
  return text;
}
