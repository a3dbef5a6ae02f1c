/**
 * Finding the metric in what a run printed, for `autoresearch init --run-once`: every labelled
 * number of the output ("val loss 2.401", "Cost on new testing data: 2.4e-6", "accuracy=0.91",
 * JSON lines), ranked by how much it looks like the result of the run, each with the
 * configuration that reads it back (a name, and a `metric.pattern` where the default
 * "name: value" reading would not find it). Pure: text in, candidates out.
 */
import { parseMetric } from "../../runner/metric.js";
import { cleanText } from "../../runner/sanitize.js";

/** One labelled number of the output, offered as the metric. */
export interface MetricCandidate {
  /** The configuration's metric.name. */
  name: string;
  /** The label as printed ("val loss"). */
  label: string;
  /** The last value printed: what the campaign would read. */
  value: number;
  goal: "minimize" | "maximize";
  /** A regular expression with one group; undefined when the default "name: value" reading finds the value. */
  pattern?: string;
  /** How many times the output printed it. */
  count: number;
  /** The last line that printed it (trimmed, bounded). */
  line: string;
  /** Higher is more likely the metric. */
  score: number;
}

const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
/** The capture group every written pattern uses: a decimal or scientific number, short enough to read. */
export const NUMBER_GROUP = String.raw`([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)`;
/** A number standing alone: not part of a word ("v1", "x2", "3rd", "12ms") or of a version ("1.2.3"). */
const NUMBER_IN_TEXT = new RegExp(String.raw`(?<![\w.])(${NUM})(?![\w.]*[A-Za-z_]|\.\d)`, "g");

const GOOD = new Set([
  "loss",
  "acc",
  "accuracy",
  "error",
  "err",
  "cost",
  "perplexity",
  "ppl",
  "bpb",
  "bpc",
  "nll",
  "f1",
  "auc",
  "mse",
  "rmse",
  "mae",
  "score",
  "reward",
  "bleu",
  "rouge",
  "likelihood",
  "precision",
  "recall",
  "r2",
  "metric",
  "fitness",
  "return",
  "objective",
]);
const HELD_OUT = new Set(["val", "valid", "validation", "test", "testing", "eval", "evaluation", "dev", "holdout", "final", "new", "unseen"]);
const TRAINING = new Set(["train", "training", "batch", "running", "avg"]);
const NOT_METRICS = new Set([
  "step",
  "steps",
  "epoch",
  "epochs",
  "iter",
  "iters",
  "iteration",
  "it",
  "lr",
  "learning",
  "rate",
  "time",
  "seconds",
  "sec",
  "secs",
  "s",
  "ms",
  "elapsed",
  "eta",
  "dt",
  "tokens",
  "tok",
  "params",
  "parameters",
  "seed",
  "mem",
  "memory",
  "gpu",
  "size",
  "count",
  "n",
  "num",
  "samples",
  "dim",
  "width",
  "layers",
  "grad",
  "norm",
  "warmup",
  "mfu",
  "throughput",
  "speed",
  "version",
  "pid",
  "port",
  "shape",
]);
const HIGHER_IS_BETTER = new Set([
  "acc",
  "accuracy",
  "f1",
  "auc",
  "score",
  "reward",
  "bleu",
  "rouge",
  "precision",
  "recall",
  "r2",
  "return",
  "fitness",
  "correct",
  "map",
  "iou",
  "dice",
  "likelihood",
]);
const LOWER_IS_BETTER = new Set(["loss", "error", "err", "cost", "perplexity", "ppl", "bpb", "bpc", "nll", "mse", "rmse", "mae", "regret"]);

/** The words of a label, lower case ("Val Loss" and "val_loss" both give ["val", "loss"]). */
function wordsOf(label: string): string[] {
  return label
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** A metric name the configuration accepts, from a label. */
export function metricName(label: string): string {
  const name = label
    .trim()
    .toLowerCase()
    .replace(/[^\w.-]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^[_.-]+|[_.-]+$/g, "");
  if (name === "") return "metric";
  return /^[A-Za-z_]/.test(name) ? name : `m_${name}`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The label before a number: the words since the previous number or separator, without ":" / "=". */
function labelBefore(segment: string): string {
  const cut = segment.split(/[,;|()[\]{}<>]|\s-\s|\t/).at(-1) ?? "";
  const m = /([A-Za-z][A-Za-z0-9_.\-/ ]*?)[\s:=]*$/.exec(cut.replace(/[\s:=]+$/, ""));
  if (!m?.[1]) return "";
  const words = m[1].trim().split(/\s+/);
  return words.slice(-5).join(" ");
}

interface Seen {
  label: string;
  name: string;
  values: number[];
  lastLine: number;
  line: string;
  json: boolean;
  /** The text between the label and the number the last time (": ", " = ", " "). */
  separator: string;
}

function scoreOf(s: Seen, lines: number): number {
  const words = wordsOf(s.label);
  let score = 0;
  if (words.some((w) => GOOD.has(w))) score += 4;
  if (words.some((w) => HELD_OUT.has(w))) score += 2;
  if (words.some((w) => TRAINING.has(w))) score -= 1;
  if (words.some((w) => NOT_METRICS.has(w)) && !words.some((w) => GOOD.has(w))) score -= 5;
  const ints = s.values.every((v) => Number.isInteger(v));
  const rising = s.values.length >= 2 && s.values.every((v, i) => i === 0 || v >= (s.values[i - 1] as number));
  if (ints && rising) score -= 3;
  // Final results are printed last.
  if (s.lastLine >= lines - Math.max(2, Math.ceil(lines * 0.2))) score += 1;
  if (words.length > 6) score -= 1;
  return score;
}

function goalOf(label: string): "minimize" | "maximize" {
  const words = wordsOf(label);
  if (words.some((w) => LOWER_IS_BETTER.has(w))) return "minimize";
  return words.some((w) => HIGHER_IS_BETTER.has(w)) ? "maximize" : "minimize";
}

/** The pattern that reads a text label's number: the label's words with any spacing, then ":" or "=" or spaces. */
function textPattern(label: string): string {
  const words = label.trim().split(/\s+/).map(escapeRegExp);
  // \b keeps "val loss" from matching inside "eval loss"; the separator is spaces, ":" or "=".
  const start = /^\w/.test(label.trim()) ? "\\b" : "";
  return `${start}${words.join(" +")}[ \\t:=]*${NUMBER_GROUP}`;
}

function jsonPattern(key: string): string {
  return `"${escapeRegExp(key)}": *${NUMBER_GROUP}`;
}

/** Reads JSON objects printed on one line; numbers at the top level and one level down ("eval.loss"). */
function jsonNumbers(line: string): [string, number][] {
  const t = line.trim();
  if (!t.startsWith("{") || !t.endsWith("}")) return [];
  let data: unknown;
  try {
    data = JSON.parse(t);
  } catch {
    return [];
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return [];
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === "number" && Number.isFinite(v)) out.push([k, v]);
  }
  return out;
}

/**
 * The labelled numbers of `output`, best first. Each candidate's configuration is checked
 * against the output itself: the campaign would read exactly `value` from a run that prints the
 * same. Unlabelled numbers and labels that read back another number are left out.
 */
export function findMetrics(output: string): MetricCandidate[] {
  const text = cleanText(output);
  const lines = text.split("\n");
  const seen = new Map<string, Seen>();
  const note = (key: string, entry: Omit<Seen, "values" | "lastLine" | "line">, value: number, index: number, line: string) => {
    const s = seen.get(key) ?? { ...entry, values: [], lastLine: -1, line: "" };
    s.values.push(value);
    s.lastLine = index;
    s.line = line.trim().slice(0, 200);
    s.separator = entry.separator;
    s.label = entry.label;
    seen.set(key, s);
  };
  lines.forEach((line, index) => {
    const json = jsonNumbers(line);
    if (json.length > 0) {
      for (const [k, v] of json) note(`json:${k}`, { label: k, name: metricName(k), json: true, separator: "" }, v, index, line);
      return;
    }
    let previous = 0;
    for (const m of line.matchAll(NUMBER_IN_TEXT)) {
      const at = m.index ?? 0;
      const segment = line.slice(previous, at);
      previous = at + (m[1]?.length ?? 0);
      const label = labelBefore(segment);
      const value = Number(m[1]);
      if (label === "" || !Number.isFinite(value)) continue;
      const separator = /[\s:=]*$/.exec(segment)?.[0] ?? "";
      note(`text:${label.toLowerCase()}`, { label, name: metricName(label), json: false, separator }, value, index, line);
    }
  });

  const ranked: { c: MetricCandidate; last: number }[] = [];
  const names = new Set<string>();
  for (const s of seen.values()) {
    const value = s.values.at(-1) as number;
    const goal = goalOf(s.label);
    // No pattern when the default reading ("name: value" at the start of a line) already gives the value.
    const plain = parseMetric(text, { name: s.name, goal });
    let pattern: string | undefined;
    if (!(plain.ok && plain.value === value)) {
      pattern = s.json ? jsonPattern(s.label) : textPattern(s.label);
      const read = parseMetric(text, { name: s.name, goal, pattern });
      if (!(read.ok && read.value === value)) continue;
    }
    let name = s.name;
    for (let i = 2; names.has(name); i++) name = `${s.name}_${i}`;
    names.add(name);
    ranked.push({ c: { name, label: s.label, value, goal, pattern, count: s.values.length, line: s.line, score: scoreOf(s, lines.length) }, last: s.lastLine });
  }
  // Best first; among equals, the one printed last.
  return ranked.sort((a, b) => b.c.score - a.c.score || b.last - a.last).map((r) => r.c);
}
