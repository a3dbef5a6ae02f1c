/**
 * The campaign configuration (`.github/autoresearch.yml`): one strict zod schema, the single
 * source for validation, defaults and the committed JSON Schema (`schema/autoresearch.schema.json`).
 */
import { CronExpressionParser } from "cron-parser";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { runEnvEntryProblem } from "../runner/env.js";

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/** Parses "300", "300s", "5m", "1.5h", "500ms" into seconds; undefined when malformed. */
export function parseDurationSeconds(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  const m = DURATION_RE.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const factor = unit === "ms" ? 0.001 : unit === "s" ? 1 : unit === "m" ? 60 : 3600;
  const seconds = n * factor;
  return seconds > 0 ? seconds : undefined;
}

const Duration = z
  .union([z.number(), z.string()])
  .describe('A duration: seconds as a number, or a string such as "90s", "5m", "1h".')
  .transform((v, ctx) => {
    const s = parseDurationSeconds(v);
    if (s === undefined) {
      ctx.addIssue({ code: "custom", message: `expected a positive duration such as "5m" or "90s", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return s;
  });

/** An improvement threshold: absolute (a number) or relative to the baseline ("0.5%"). */
const Threshold = z
  .union([z.number().min(0), z.string().regex(/^\d+(\.\d+)?%$/, 'expected a number or a percentage such as "0.5%"')])
  .describe('Smallest improvement that counts: absolute in metric units, or relative such as "0.5%".')
  .transform((v) => (typeof v === "number" ? { kind: "absolute" as const, value: v } : { kind: "relative" as const, value: Number(v.slice(0, -1)) / 100 }));

/** What a metric and a guard share: how it is named, read and compared. */
const metricShape = {
  name: z
    .string()
    .regex(/^[A-Za-z_][\w.-]*$/, "expected a metric name made of letters, digits, _ . -")
    .describe('Metric name; by default the last line "name: value" of the output is read.'),
  goal: z.enum(["minimize", "maximize"]).describe("Whether lower or higher is better."),
  pattern: z.string().optional().describe('A regular expression with one capture group; the last match wins, e.g. "val loss ([0-9.eE+-]+)".'),
  file: z.string().optional().describe("Read the metric from this JSON file (relative to the repository) instead of the output; key = name."),
};

/** One capture group in `pattern`, and not both `pattern` and `file`. */
function checkReading(m: { pattern?: string | undefined; file?: string | undefined }, ctx: z.RefinementCtx): void {
  if (m.pattern !== undefined) {
    try {
      const groups = new RegExp(`${m.pattern}|`).exec("")?.length ?? 1;
      if (groups - 1 !== 1) ctx.addIssue({ code: "custom", path: ["pattern"], message: `expected exactly one capture group, found ${groups - 1}` });
    } catch (err) {
      ctx.addIssue({ code: "custom", path: ["pattern"], message: `invalid regular expression: ${(err as Error).message}` });
    }
  }
  if (m.pattern !== undefined && m.file !== undefined) {
    ctx.addIssue({ code: "custom", path: ["file"], message: "use either pattern or file, not both" });
  }
}

export const MetricConfigSchema = z.strictObject(metricShape).superRefine(checkReading);

/**
 * A guard: another metric the experiment prints (silent degradation: accuracy, training time,
 * peak memory). A candidate is discarded when a paired test at accept.confidence shows the guard
 * worse than the best's by more than its tolerance; a run whose guard cannot be read has failed.
 */
export const GuardConfigSchema = z
  .strictObject({
    ...metricShape,
    name: metricShape.name.describe('Guard name; by default the last line "name: value" of the output is read.'),
    goal: metricShape.goal.describe("Whether lower or higher is better for this guard."),
    tolerance: z
      .union([z.number().min(0), z.string().regex(/^\d+(\.\d+)?%$/, 'expected a number or a percentage such as "1%"')])
      .default(0)
      .describe('How much worse than the best the guard may get: absolute in its units, or relative such as "1%" (of the best\'s value).')
      .transform((v) => (typeof v === "number" ? { kind: "absolute" as const, value: v } : { kind: "relative" as const, value: Number(v.slice(0, -1)) / 100 })),
  })
  .superRefine(checkReading);
/** A validated guard. */
export type GuardConfig = z.output<typeof GuardConfigSchema>;

export const BudgetConfigSchema = z.strictObject({
  experiment_timeout: Duration.default(300).describe("Time box of one run; the whole process group is killed beyond it."),
  max_experiments: z.number().int().min(1).default(50).describe("Experiments to propose, the baseline not counted."),
  max_hours: z.number().positive().default(12).describe("Wall-clock limit of the campaign."),
  max_cost_usd: z.number().min(0).default(20).describe("Limit on LLM spend in US dollars."),
  parallel: z.number().int().min(1).max(64).default(1).describe("Runs in flight at once."),
  patience: z.number().int().min(1).default(20).describe("Stop after this many experiments in a row without a keep."),
});

export const AcceptConfigSchema = z.strictObject({
  repeats: z.number().int().min(1).max(20).default(3).describe("Runs per candidate once its first run looks promising."),
  baseline_repeats: z.number().int().min(1).max(20).default(3).describe("Runs of the unchanged base commit."),
  min_improvement: Threshold.default({ kind: "absolute", value: 0 }),
  confidence: z.number().gt(0.5).lt(1).default(0.99).describe("Confidence of the one-sided test that the improvement is real."),
  prefer_simpler: z
    .boolean()
    .default(true)
    .describe("Keep a change that removes more lines of code than it adds when an equivalence test says it is no worse than simpler_margin."),
  simpler_margin: Threshold.default({ kind: "relative", value: 0.005 }).describe(
    'prefer_simpler: how much worse a simpler change may be and still be kept (absolute, or relative such as "0.5%"); it must be shown to be no worse than this.',
  ),
  scale: z
    .enum(["linear", "log", "auto"])
    .default("auto")
    .describe(
      "Where the noise is pooled and the test is made: linear (metric units), log (ratios, for a positive metric whose noise scales with it), or auto (log once every value seen is positive and they span more than 10x). Reports stay in metric units.",
    ),
  confirm_repeats: z
    .number()
    .int()
    .min(0)
    .max(50)
    .refine((n) => n !== 1, "expected 0 (off) or at least 2: one pair has no variance to test")
    .default(5)
    .describe(
      "When a campaign ends with a keep: the base and the best commit run interleaved on this many fresh paired seeds, for the confirmed headline; 0 turns it off.",
    ),
});

/** What one model costs, in US dollars per million tokens. */
export const ModelPriceSchema = z.strictObject({
  input: z.number().min(0).describe("Uncached input tokens, $ per million."),
  output: z.number().min(0).describe("Output tokens (thinking included), $ per million."),
  cache_write: z.number().min(0).optional().describe("Tokens written to the prompt cache (5-minute), $ per million; default 1.25 x input."),
  cache_read: z.number().min(0).optional().describe("Tokens read from the prompt cache, $ per million; default 0.1 x input."),
});
export type ModelPrice = z.output<typeof ModelPriceSchema>;

/** Proposer kinds that call a paid API: the planner reserves budget.max_cost_usd for each proposal. */
export const SPENDING_PROPOSERS: ReadonlySet<string> = new Set(["claude"]);

/** A knob in `proposer.knobs` / `proposer.exclude`: "NAME" or "Call(arg)" ("AdamW(lr=...)" is read as "AdamW(lr)"). */
const KnobSpec = z
  .string()
  .min(1)
  .regex(
    /^\s*(?:[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\(\s*[A-Za-z_$][\w$]*\s*(?:=\s*(?:\.\.\.)?\s*)?\)|[A-Za-z_$][\w$]*)\s*$/,
    'expected a constant name such as "LEARNING_RATE" or a call argument such as "AdamW(lr)"',
  );

export const ProposerConfigSchema = z.strictObject({
  kind: z.enum(["mutate", "claude"]).default("mutate").describe("mutate: offline constant tuning; claude: an LLM agent."),
  model: z.string().min(1).optional().describe("claude only: the model id (default: claude-sonnet-5-5)."),
  knobs: z
    .array(KnobSpec)
    .default([])
    .describe(
      'mutate only: what to tune. "NAME" is a top-level numeric constant (or, when there is none of that name, every numeric keyword argument NAME=...); "Call(arg)" is the numeric keyword or named argument arg of calls to Call, e.g. "AdamW(lr)". Default: every top-level numeric constant that does not look like a measurement or logging setting.',
    ),
  exclude: z
    .array(KnobSpec)
    .default([])
    .describe("mutate only: knobs never to change, in the syntax of knobs (measurement and logging settings such as eval_iters, log_interval, seed)."),
  instructions: z.string().default("").describe("Appended to the campaign goal."),
  seed: z.number().int().default(1).describe("Seed of the proposer's randomness (mutate)."),
  thinking: z.boolean().default(true).describe("claude only: use extended thinking where the model supports it; the thinking is kept in the trace."),
  prices: z
    .record(z.string().min(1), ModelPriceSchema)
    .default({})
    .describe("claude only: prices per model id in US dollars per million tokens; overrides the built-in table (and is needed for models it does not know)."),
});

export const RunnerConfigSchema = z.strictObject({
  workflow: z.string().default("autoresearch.yml").describe("GitHub only: the experiment workflow file name."),
  runs_on: z.array(z.string()).default(["ubuntu-latest"]).describe("GitHub only: runner labels."),
});

export const ConfigSchema = z
  .strictObject({
    metric: MetricConfigSchema,
    run: z.string().min(1).describe("The experiment command, run with a time box in the repository root."),
    eval: z.string().min(1).optional().describe("Evaluation command, run after `run` with the locked files restored."),
    inputs: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Paths or globs (relative to the repository root) of files that git does not track and every run needs, e.g. data/ or input.txt; each run gets them read-only (small files copied, others linked).",
      )
      .superRefine((globs, ctx) => {
        globs.forEach((g, i) => {
          if (g.startsWith("/") || g.split("/").includes(".."))
            ctx.addIssue({ code: "custom", path: [i], message: `path ${JSON.stringify(g)} must be relative and stay inside the repository` });
          if (g === ".git" || g.startsWith(".git/") || g === ".autoresearch" || g.startsWith(".autoresearch/"))
            ctx.addIssue({ code: "custom", path: [i], message: `path ${JSON.stringify(g)} is not an input a run may read` });
        });
      }),
    editable: z
      .array(z.string().min(1))
      .min(1)
      .describe("Globs of the files the proposer may change; never .github/**.")
      .superRefine((globs, ctx) => {
        globs.forEach((g, i) => {
          if (g.startsWith("/") || g.split("/").includes(".."))
            ctx.addIssue({ code: "custom", path: [i], message: `glob ${JSON.stringify(g)} must be relative and stay inside the repository` });
          if (g === ".github" || g.startsWith(".github/"))
            ctx.addIssue({ code: "custom", path: [i], message: `glob ${JSON.stringify(g)} reaches .github/**, which is never editable` });
        });
      }),
    outputs: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Globs of the files training writes that eval may read (data only: model weights, predictions). Eval runs in a fresh tree of the parent commit's files plus these; nothing else the run left reaches it.",
      )
      .superRefine((globs, ctx) => {
        globs.forEach((g, i) => {
          if (g.startsWith("/") || g.split("/").includes(".."))
            ctx.addIssue({ code: "custom", path: [i], message: `glob ${JSON.stringify(g)} must be relative and stay inside the repository` });
        });
      }),
    run_env: z
      .array(z.string())
      .default([])
      .describe(
        'Environment variables passed to run and eval beyond the safe default (PATH, HOME, locale, toolchain locations): names, or prefixes ending in "*", e.g. [CUDA_VISIBLE_DEVICES, "NCCL_*"]. Credentials of autoresearch and the runner are refused.',
      )
      .superRefine((names, ctx) => {
        names.forEach((n, i) => {
          const problem = runEnvEntryProblem(n);
          if (problem !== undefined) ctx.addIssue({ code: "custom", path: [i], message: problem });
        });
      }),
    budget: BudgetConfigSchema.default(BudgetConfigSchema.parse({})),
    accept: AcceptConfigSchema.default(AcceptConfigSchema.parse({})),
    proposer: ProposerConfigSchema.default(ProposerConfigSchema.parse({})),
    runner: RunnerConfigSchema.default(RunnerConfigSchema.parse({})),
    schedule: z
      .string()
      .optional()
      .describe('GitHub only: a cron expression (UTC, five fields, e.g. "0 2 * * *") at which the App starts a campaign on its own.')
      .superRefine((cron, ctx) => {
        if (cron === undefined) return;
        if (cron.trim().split(/\s+/).length !== 5) {
          ctx.addIssue({ code: "custom", message: `expected five cron fields (minute hour day month weekday), got ${JSON.stringify(cron)}` });
          return;
        }
        try {
          CronExpressionParser.parse(cron, { tz: "UTC" });
        } catch (err) {
          ctx.addIssue({ code: "custom", message: `not a cron expression: ${(err as Error).message}` });
        }
      }),
    guards: z
      .array(GuardConfigSchema)
      .default([])
      .describe("Other metrics that must not get worse beyond their tolerance (silent degradation); read like metric, from the same output or file."),
  })
  .superRefine((c, ctx) => {
    const seen = new Set([c.metric.name]);
    c.guards.forEach((g, i) => {
      if (seen.has(g.name))
        ctx.addIssue({
          code: "custom",
          path: ["guards", i, "name"],
          message: `${JSON.stringify(g.name)} is already ${g.name === c.metric.name ? "the metric" : "a guard"}`,
        });
      seen.add(g.name);
    });
  })
  .describe("autoresearch campaign configuration (.github/autoresearch.yml)");

/** A validated configuration with defaults applied and durations in seconds. */
export type Config = z.output<typeof ConfigSchema>;
/** The configuration as written by a user. */
export type ConfigInput = z.input<typeof ConfigSchema>;

/** The conventional location of the configuration in a repository. */
export const CONFIG_PATH = ".github/autoresearch.yml";

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return "(top level)";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/** One line per problem: "key.path: what was expected". */
export function formatIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => `${formatPath([...prefix, ...issue.path, k])}: unknown key`).join("\n");
      }
      return `${formatPath([...prefix, ...issue.path])}: ${issue.message}`;
    })
    .flatMap((l) => l.split("\n"));
}

/** Validates an already-parsed object; throws ConfigError listing every problem. */
export function parseConfig(raw: unknown, file = CONFIG_PATH): Config {
  if (raw === null || raw === undefined) throw new ConfigError(`${file} is empty`, [`(top level): expected a mapping with metric, run and editable`], file);
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`${file} is invalid:\n${issues.map((i) => `  - ${i}`).join("\n")}`, issues, file);
  }
  return result.data;
}

/** Parses YAML text then validates it; YAML syntax errors name the line. */
export function parseConfigText(text: string, file = CONFIG_PATH): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0] ?? String(err);
    throw new ConfigError(`${file} is not valid YAML: ${msg}`, [`(yaml): ${msg}`], file);
  }
  return parseConfig(raw, file);
}

/** A threshold as parsed: absolute in metric units, or relative to the baseline. */
export type Threshold = z.output<typeof Threshold>;

/** A threshold in metric units, given the baseline mean (relative thresholds scale with it). */
export function thresholdAbsolute(t: Threshold, baselineMean: number): number {
  return t.kind === "absolute" ? t.value : t.value * Math.abs(baselineMean);
}

/** accept.min_improvement in metric units, given the baseline mean. */
export function minImprovementAbsolute(config: Config, baselineMean: number): number {
  return thresholdAbsolute(config.accept.min_improvement, baselineMean);
}
