/**
 * The configuration `autoresearch init` writes: the draft (what was guessed, measured or
 * answered) and its commented YAML. Pure.
 */
import { stringify } from "yaml";
import { findAllKnobs, type Knob, looksLikeMeasurement } from "../../proposers/knobs.js";

/** Everything init decided. Undefined fields are written as TODO. */
export interface Draft {
  run?: string;
  eval?: string;
  /** With eval: the files run writes that eval reads (undefined: not known, written as TODO). */
  outputs?: string[];
  editable: string[];
  inputs: string[];
  metric?: { name: string; goal: "minimize" | "maximize"; pattern?: string /** The output line it was read from. */; seen?: string };
  goal: "minimize" | "maximize";
  /** The time box, with why (written as a comment). */
  timeout?: { value: string; why?: string };
  knobs: string[];
  exclude: string[];
  proposer: "mutate" | "claude";
  instructions?: string;
  /** GitHub: runner labels (adds the runner section). */
  runsOn?: string[];
}

/** Calls whose numeric arguments are never hyperparameters (printing, ranges, randomness, formatting). */
const NOT_TUNABLE_CALLS = new Set(
  (
    "print range round format sleep open len int float str min max abs sum enumerate zip isinstance setattr getattr log info debug warning warn error " +
    "seed manual_seed randint randn rand uniform normal choice sample shuffle toFixed toPrecision setTimeout setInterval padStart padEnd slice substring " +
    "fill repeat join split parseInt parseFloat tqdm figure plot savefig subplot subplots exit add_argument assert Array Number String"
  ).split(" "),
);

/** True when a constant is assigned again elsewhere (`cost = ...`, `loss += ...`): a variable of the run, not a setting. */
function reassigned(text: string, k: Knob): boolean {
  const name = k.name.replace(/[$]/g, "\\$");
  // At the start of a statement only: `f(lr=lr)` passes a keyword, it does not assign.
  const re = new RegExp(`(?:^|[;{}):])\\s*${name}\\s*(?:[-+*/%]|\\*\\*|//)?=(?!=)`);
  return text.split("\n").some((line, i) => i !== k.line - 1 && re.test(line));
}

/** The spec that names a knob in proposer.knobs ("LR", "AdamW(lr)"). */
export function specOf(k: Knob): string {
  return k.kind === "constant" ? k.name : `${(k.callee ?? "").split(".").at(-1)}(${k.arg})`;
}

/**
 * The knobs of the editable files, split into those mutate may tune and those that look like
 * measurement or logging settings (excluded); arguments of calls that print, count or draw random
 * numbers are left out.
 */
export function knobLists(files: Record<string, string>): { knobs: string[]; exclude: string[] } {
  const knobs = new Set<string>();
  const exclude = new Set<string>();
  for (const k of findAllKnobs(files)) {
    if (k.kind === "argument" && NOT_TUNABLE_CALLS.has((k.callee ?? "").split(".").at(-1) ?? "")) continue;
    if (k.kind === "constant" && reassigned(files[k.file] ?? "", k)) continue;
    (looksLikeMeasurement(k.name) ? exclude : knobs).add(specOf(k));
  }
  return { knobs: [...knobs], exclude: [...exclude].filter((e) => !knobs.has(e)) };
}

/** A YAML scalar: plain when that is safe, quoted otherwise. */
function scalar(v: string): string {
  return stringify(v, { lineWidth: 0 }).trimEnd();
}

function list(items: readonly string[]): string {
  return `[${items.map(scalar).join(", ")}]`;
}

/** A "# ..." comment on one line, bounded. */
function comment(text: string | undefined): string {
  if (!text) return "";
  const one = text.replace(/\s+/g, " ").trim();
  return `  # ${one.length > 100 ? `${one.slice(0, 97)}...` : one}`;
}

/** A TODO placeholder left by `configText`: "TODO" before any "#" on its line (the header comment mentions TODO too). */
export const TODO_PLACEHOLDER = /^[^#\n]*\bTODO\b/m;

/** The commented YAML of a draft; what is unknown is marked TODO. */
export function configText(d: Draft): string {
  const todo = (v: string | undefined, what: string) => (v ? scalar(v) : `TODO  # ${what}`);
  const m = d.metric;
  const metric = [
    `  name: ${todo(m?.name, "the metric your run prints as '<name>: <value>' (or set pattern)")}`,
    `  goal: ${m?.goal ?? d.goal}            # minimize or maximize`,
    m?.pattern !== undefined
      ? `  pattern: ${scalar(m.pattern)}${comment(m.seen ? `read from: ${m.seen}` : "a regular expression with one group; the last match wins")}`
      : `  # pattern: 'val loss ([0-9.eE+-]+)'   # optional: a regex with one group, last match wins`,
  ];
  if (m?.pattern === undefined && m?.seen) metric.push(`  # read from: ${m.seen.replace(/\s+/g, " ").slice(0, 100)}`);
  const proposerLines =
    d.proposer === "claude"
      ? ["  kind: claude             # an LLM agent (needs ANTHROPIC_API_KEY); budget.max_cost_usd caps its spending"]
      : [
          "  kind: mutate             # offline: tunes the knobs below, one or two at a time",
          d.knobs.length > 0
            ? `  knobs: ${list(d.knobs)}`
            : "  knobs: []               # none found: every top-level numeric constant that is not a measurement setting",
        ];
  if (d.exclude.length > 0) proposerLines.push(`  exclude: ${list(d.exclude)}  # measurement and logging settings: never changed`);
  if (d.instructions?.trim()) proposerLines.push(`  instructions: ${scalar(d.instructions.trim())}`);
  return `# autoresearch campaign configuration, written by \`autoresearch init\`. Reference: schema/autoresearch.schema.json in autoresearch-bot.
# Lines marked TODO were not guessed: fill them in, then run \`autoresearch validate\`.

metric:
${metric.join("\n")}

# The experiment command, run in a clean checkout of the last commit with a time box. It gets
# AUTORESEARCH_SEED (vary your random seed with it) and AUTORESEARCH_TIME_BUDGET (seconds).
run: ${d.run ? scalar(d.run) : "TODO  # e.g. python3 train.py"}
${
  d.eval
    ? `# Evaluation, run after \`run\` in a fresh copy of the parent commit's files plus the outputs below.\neval: ${scalar(d.eval)}\n${
        d.outputs?.length
          ? `outputs: ${JSON.stringify(d.outputs)}   # what run writes that eval reads (data only; found by --run-once)`
          : "outputs: [TODO]   # e.g. [model.json]: the files run writes that eval reads (data only)"
      }`
    : "# eval: python3 eval.py   # optional: evaluation, in a fresh copy of the parent commit's files\n# outputs: [model.json]   # with eval: the files run writes that eval reads (data only)"
}

# Globs of the files the proposer may change. Everything else is locked; .github/** always is.
editable:
${d.editable.length > 0 ? d.editable.map((e) => `  - ${scalar(e)}`).join("\n") : "  - TODO  # e.g. train.py"}
${
  d.inputs.length > 0
    ? `
# Files git does not track that every run needs: checked at start, given to each run read-only.
inputs: ${list(d.inputs)}
`
    : `
# inputs: [data/]          # files git does not track that every run needs (read-only in each run)
`
}
budget:
  experiment_timeout: ${d.timeout?.value ?? "5m"}${comment(d.timeout?.why ?? "time box of one run")}
  max_experiments: 50
  max_hours: 12
  parallel: 1              # runs at once (each in its own checkout)
  patience: 20             # stop after this many experiments without a keep

accept:
  repeats: 3               # runs (seeds) per promising candidate, paired with the best's seeds
  baseline_repeats: 3
  min_improvement: 0       # absolute, or relative such as "0.5%"
  confidence: 0.99
  scale: auto              # linear, log, or auto (log once the metric spans more than 10x)
  confirm_repeats: 5       # at the end: base and best on this many fresh paired seeds (0: off)

# Optional: other metrics the run prints that must not get worse (silent degradation); read like
# metric (the last "<name>: <value>" line, or pattern / file). A candidate is discarded when a guard
# is shown worse than the best's by more than its tolerance; a run that does not print it failed.
# guards:
#   - { name: accuracy, goal: maximize, tolerance: "1%" }     # relative to the best's value
#   - { name: train_seconds, goal: minimize, tolerance: 30 }  # absolute, in its units

proposer:
${proposerLines.join("\n")}
${
  d.runsOn
    ? `
# GitHub only: the workflow the App dispatches and the labels of the runners it asks for.
runner:
  workflow: autoresearch.yml
  runs_on: ${JSON.stringify(d.runsOn)}
`
    : ""
}`;
}
