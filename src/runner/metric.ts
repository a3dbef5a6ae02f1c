/**
 * Reading the metric from what an experiment printed or wrote. Pure: text in, a value or a
 * reason out, with reasons that tell the user what was expected and what was seen.
 */
import type { Config } from "../core/config.js";
import { cleanText } from "./sanitize.js";

/** A metric value, or why there is none. */
export type MetricReading = { ok: true; value: number } | { ok: false; status: "no_metric" | "non_finite"; reason: string };

/** A decimal or scientific number, or the spellings of NaN and infinities that programs print. */
// Case-insensitive by hand, so that the metric name next to it stays case-sensitive.
const NUMBER_SRC = String.raw`[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)`;
const NUMBER_RE = new RegExp(`^${NUMBER_SRC}$`);

/**
 * What may not follow a number in a metric line: "0.5abc" and "1.2.3" are not numbers, and must
 * not backtrack into "0" or "1.2"; a full stop ending a sentence is fine.
 */
const NUMBER_END = String.raw`(?!\w|\.\w)`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Parses a token already known to look like a number; NaN and infinities become non_finite. */
function readNumber(token: string, where: string): MetricReading {
  const value = /^[+-]?nan$/i.test(token) ? Number.NaN : /^[+-]?inf(inity)?$/i.test(token) ? (token.startsWith("-") ? -Infinity : Infinity) : Number(token);
  if (Number.isFinite(value)) return { ok: true, value };
  return { ok: false, status: "non_finite", reason: `${where} is ${token}, not a finite number` };
}

/** A short quote of the end of the output, for reasons. */
function lastLines(text: string, count = 5): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (lines.length === 0) return "the output was empty";
  const shown = lines.slice(-count).map((l) => JSON.stringify(l.length > 120 ? `${l.slice(0, 117)}...` : l));
  return `last lines: ${shown.join(", ")}`;
}

function quote(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max - 3)}...` : s);
}

/**
 * Reads the metric from command output. By default the last line `<name>: <number>` (or
 * `<name> = <number>`) wins; with `metric.pattern` the first capture group of the last match does.
 * NaN and infinities give `non_finite`; no match, or a value that is not a number, gives `no_metric`.
 * Terminal escapes and progress-bar carriage returns are ignored.
 */
export function parseMetric(output: string, metric: Config["metric"]): MetricReading {
  const text = cleanText(output);
  if (metric.pattern !== undefined) return parseWithPattern(text, metric.pattern);

  const name = escapeRegExp(metric.name);
  const numeric = new RegExp(`^[ \\t]*${name}[ \\t]*[:=][ \\t]*(${NUMBER_SRC})${NUMBER_END}`, "gm");
  const last = [...text.matchAll(numeric)].at(-1);
  if (last?.[1] !== undefined) return readNumber(last[1], metric.name);

  // A line that names the metric but holds no number: say what was there.
  const named = [...text.matchAll(new RegExp(`^[ \\t]*${name}[ \\t]*[:=][ \\t]*(.*)$`, "gm"))].at(-1);
  if (named) {
    return {
      ok: false,
      status: "no_metric",
      reason: `the line ${quote(named[0].trim())} does not hold a number; expected "${metric.name}: <number>"`,
    };
  }
  return { ok: false, status: "no_metric", reason: `no line "${metric.name}: <number>" in the output; ${lastLines(text)}` };
}

function parseWithPattern(text: string, pattern: string): MetricReading {
  let re: RegExp;
  try {
    // "m" so that ^ and $ in a user's pattern mean line boundaries, as they read it.
    re = new RegExp(pattern, "gm");
  } catch (err) {
    return { ok: false, status: "no_metric", reason: `metric.pattern is not a valid regular expression: ${(err as Error).message}` };
  }
  const last = [...text.matchAll(re)].at(-1);
  if (!last) return { ok: false, status: "no_metric", reason: `no match for metric.pattern /${pattern}/ in the output; ${lastLines(text)}` };
  const captured = (last[1] ?? last[0]).trim();
  if (!NUMBER_RE.test(captured)) {
    return {
      ok: false,
      status: "no_metric",
      reason: `metric.pattern /${pattern}/ matched ${quote(last[0].trim())} but captured ${quote(captured)}, which is not a number`,
    };
  }
  return readNumber(captured, `the value captured by /${pattern}/`);
}

/**
 * Reads the metric from the text of a JSON file (`metric.file`). The key is `name`; when the
 * object has no such key, a dotted name walks nested objects (`eval.val_loss`). Numbers and
 * numeric strings are accepted; NaN and infinities (also Python's bare `NaN`/`Infinity`) give
 * `non_finite`.
 */
export function readMetricFile(jsonText: string, name: string, file = "the metric file"): MetricReading {
  let data: unknown;
  try {
    data = JSON.parse(jsonText);
  } catch (err) {
    // Python's json.dump writes bare NaN/Infinity, which JSON does not allow: read them as strings.
    const tolerant = jsonText.replace(/([:[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '$1"$2"');
    try {
      data = JSON.parse(tolerant);
    } catch {
      return { ok: false, status: "no_metric", reason: `${file} is not valid JSON: ${(err as Error).message}` };
    }
  }
  const found = lookup(data, name);
  if (!found.ok) return { ok: false, status: "no_metric", reason: `${file} has no key "${name}"; ${found.reason}` };
  const value = found.value;
  if (typeof value === "number") return readNumber(String(value), `"${name}" in ${file}`);
  if (typeof value === "string" && NUMBER_RE.test(value.trim())) return readNumber(value.trim(), `"${name}" in ${file}`);
  const seen = value === null ? "null" : typeof value === "string" ? quote(value) : Array.isArray(value) ? "an array" : typeof value;
  return { ok: false, status: "no_metric", reason: `"${name}" in ${file} is ${seen}, not a number` };
}

function lookup(data: unknown, name: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (!isRecord(data)) return { ok: false, reason: `expected a JSON object, found ${Array.isArray(data) ? "an array" : data === null ? "null" : typeof data}` };
  if (Object.hasOwn(data, name)) return { ok: true, value: data[name] };
  let node: unknown = data;
  const parts = name.split(".");
  for (const [i, part] of parts.entries()) {
    if (!isRecord(node) || !Object.hasOwn(node, part)) {
      const at = parts.slice(0, i).join(".") || "the top level";
      const keys = isRecord(node) ? Object.keys(node) : [];
      const listed =
        keys.length === 0
          ? "no keys"
          : `keys ${keys
              .slice(0, 10)
              .map((k) => JSON.stringify(k))
              .join(", ")}${keys.length > 10 ? ", ..." : ""}`;
      return { ok: false, reason: `${at} has ${isRecord(node) ? listed : "no object"}` };
    }
    node = node[part];
  }
  return { ok: true, value: node };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
