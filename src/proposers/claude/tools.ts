/**
 * The tools the model may call: read_file and list_files (read-only, tracked files at the best
 * commit, path-checked, size-capped) and submit_experiment, whose input is validated with zod.
 */
import type Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import { EditSchema } from "../../core/events.js";
import { fence } from "../../core/history.js";
import { isEditable, pathShapeProblem } from "../../core/surface.js";
import type { ProposalContext } from "../../ports.js";
import { cleanText } from "../../runner/sanitize.js";

/** Characters of one read_file result. */
export const READ_CHARS = 40_000;
/** Characters read_file may return over one proposal, all calls together. */
export const READ_TOTAL_CHARS = 160_000;
/** Entries of one list_files result. */
export const LIST_ENTRIES = 500;

/** The model's structured reply. */
export const SubmitExperimentSchema = z.strictObject({
  title: z.string().min(3).max(120).describe("Short title starting with the idea, e.g. 'Raise learning rate to 3e-3'."),
  hypothesis: z.string().min(10).max(4000).describe("Why this change should improve the metric."),
  expected_effect: z.string().min(1).max(1000).describe("The expected effect on the metric, e.g. '-2% val_loss'."),
  edits: z.array(EditSchema).min(1).max(20).describe("Search/replace blocks (search must occur exactly once) or whole-file writes."),
});
export type SubmitExperiment = z.infer<typeof SubmitExperimentSchema>;

const ReadFileSchema = z.strictObject({ path: z.string().min(1).max(500).describe("Repository-relative path of a tracked file.") });
const ListFilesSchema = z.strictObject({ prefix: z.string().max(500).optional().describe("Only paths starting with this prefix.") });

function inputSchema(schema: z.ZodType): Anthropic.Tool.InputSchema {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema) as Record<string, unknown>;
  return json as Anthropic.Tool.InputSchema;
}

export const TOOLS: Anthropic.Tool[] = [
  {
    name: "list_files",
    description: "List the tracked files at the campaign's best commit (editable ones marked with *).",
    input_schema: inputSchema(ListFilesSchema),
  },
  { name: "read_file", description: "Read a tracked file at the campaign's best commit (read-only, size-capped).", input_schema: inputSchema(ReadFileSchema) },
  {
    name: "submit_experiment",
    description: "Submit the experiment: title, hypothesis, expected effect and edits. Call it exactly once, when you are done.",
    input_schema: inputSchema(SubmitExperimentSchema),
  },
];

/** One line per zod problem, with its path. */
export function zodProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(input)"}: ${i.message}`).join("; ");
}

/** Why a path may not be read, or undefined. */
export function readPathProblem(path: string): string | undefined {
  return pathShapeProblem(path) ?? (path.split("/")[0] === ".git" ? ".git is not readable" : undefined);
}

/** State of the read tools over one proposal. */
export interface ReadBudget {
  charsLeft: number;
  /** Paths read, for the trace. */
  reads: string[];
}

export interface ToolOutcome {
  content: string;
  isError: boolean;
}

export async function readFileTool(ctx: ProposalContext, input: unknown, budget: ReadBudget): Promise<ToolOutcome> {
  const parsed = ReadFileSchema.safeParse(input);
  if (!parsed.success) return { content: `invalid input: ${zodProblems(parsed.error)}`, isError: true };
  const { path } = parsed.data;
  const problem = readPathProblem(path);
  if (problem) return { content: `cannot read ${path}: ${problem}`, isError: true };
  const raw = ctx.readFile ? await ctx.readFile(path) : ctx.files[path];
  if (raw === undefined) return { content: `no tracked file ${path} at the best commit`, isError: true };
  if (budget.charsLeft <= 0) return { content: "the read budget of this proposal is spent; submit with what you know", isError: true };
  const clean = cleanText(raw);
  const max = Math.min(READ_CHARS, budget.charsLeft);
  const text = clean.length > max ? `${clean.slice(0, max)}\n[... cut at ${max} of ${clean.length} characters]` : clean;
  budget.charsLeft -= Math.min(clean.length, max);
  budget.reads.push(path);
  return { content: fence("file", text, { path }), isError: false };
}

export async function listFilesTool(ctx: ProposalContext, input: unknown): Promise<ToolOutcome> {
  const parsed = ListFilesSchema.safeParse(input ?? {});
  if (!parsed.success) return { content: `invalid input: ${zodProblems(parsed.error)}`, isError: true };
  const prefix = parsed.data.prefix ?? "";
  const all = ctx.listFiles ? await ctx.listFiles() : Object.keys(ctx.files);
  const paths = all.filter((p) => p.startsWith(prefix)).sort();
  const shown = paths.slice(0, LIST_ENTRIES).map((p) => `${isEditable(p, ctx.config.editable) ? "* " : "  "}${cleanText(p)}`);
  if (paths.length > shown.length) shown.push(`[... ${paths.length - shown.length} more; narrow with prefix]`);
  return { content: shown.join("\n") || "(no files)", isError: false };
}
