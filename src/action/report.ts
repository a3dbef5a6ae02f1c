/**
 * What the Action shows: the job summary (Markdown) and the fenced log of the experiment's output.
 * Pure: a result in, text out.
 */
import type { ExperimentResult } from "../core/result.js";
import { describeIsolation, type IsolationLevel } from "../runner/isolation.js";

/**
 * Log lines that show `text` (the experiment's output, or a reason quoting it) inside a
 * `::stop-commands::` fence, so that no line of it is read as a workflow command. Each line is
 * also indented, and the fence token is removed from the text, so the fence cannot be closed
 * from inside even by text that guessed it.
 */
export function fenced(text: string, token: string): string {
  return `${fenceOpen(token)}${fenceBody(text, token)}${fenceClose(token)}`;
}

/** The line that stops workflow commands until {@link fenceClose}. */
export function fenceOpen(token: string): string {
  return `::stop-commands::${token}\n`;
}

/** The line that resumes workflow commands. */
export function fenceClose(token: string): string {
  return `::${token}::\n`;
}

/** `text` indented, without the token, ending with a newline: the inside of a fence. */
export function fenceBody(text: string, token: string): string {
  const body = text
    .split(token)
    .join("[fence]")
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
  return `${body}\n`;
}

/** Escapes text for HTML. */
function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escapes text for one Markdown table cell. */
function cell(s: string): string {
  return escapeHtml(s).replace(/\|/g, "&#124;").replace(/\n/g, " ");
}

/** The job summary of one run, in GitHub-flavoured Markdown with escaped HTML. */
export function renderSummary(r: ExperimentResult): string {
  const evalOnly = r.mode === "eval";
  const modeRow: [string, string][] = evalOnly
    ? [["mode", "eval: evaluation of training outputs from another job, with the parent's files; no training ran here"]]
    : [];
  const rows: [string, string][] = [
    ["experiment", r.experiment],
    ["seed", String(r.seed)],
    ...modeRow,
    ["status", r.status],
    ["metric", r.metric === null ? "none" : String(r.metric)],
    ...Object.entries(r.guards ?? {}).map(([name, v]): [string, string] => [`guard ${name}`, String(v)]),
    ["time", `${r.seconds.toFixed(1)} s${evalOnly ? " (eval only)" : ""}${r.timed_out ? " (timed out)" : ""}`],
    ["exit code", r.exit_code === null ? "none" : String(r.exit_code)],
    ["commit", `${r.commit.slice(0, 12)} (parent ${r.parent.slice(0, 12)})`],
    ["runner", `${r.runner.name ?? "unnamed"} (${r.runner.os}, ${r.runner.arch})`],
    ["GPU", r.gpu === null ? "none found" : r.gpu.join(", ") || "none found"],
    ["peak memory", r.peak_memory_mb === null ? "not measured" : `${r.peak_memory_mb} MiB`],
  ];
  // Never more than held: a result without a level ran nothing.
  if (r.isolation !== undefined) rows.push(["isolation", `${r.isolation}: ${describeIsolation(r.isolation)}`]);
  if (r.reason !== "") rows.push(["reason", r.reason]);
  const table = ["| | |", "| --- | --- |", ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`)].join("\n");
  const tail = r.tail === "" ? "" : `\n\n<details><summary>log tail</summary>\n\n<pre><code>${escapeHtml(r.tail)}</code></pre>\n\n</details>`;
  const title = `autoresearch: ${evalOnly ? "evaluation of training outputs, " : ""}experiment ${r.experiment}, seed ${r.seed}: ${r.status}`;
  return `### ${title}\n\n${table}${tail}\n`;
}

/** The job summary of a training run (mode train): no metric, what was collected. */
export function renderTrainingSummary(t: {
  experiment: string;
  seed: number;
  status: string;
  reason: string;
  seconds: number;
  isolation: IsolationLevel | string | undefined;
  outputs: readonly string[];
}): string {
  const rows: [string, string][] = [
    ["experiment", t.experiment],
    ["seed", String(t.seed)],
    ["mode", "train: training only; the evaluate job measures the outputs"],
    ["status", t.status],
    ["time", `${t.seconds.toFixed(1)} s`],
    ["outputs", t.outputs.join(", ")],
  ];
  if (t.isolation !== undefined) rows.push(["isolation", `${t.isolation}: ${describeIsolation(t.isolation as IsolationLevel)}`]);
  if (t.reason !== "") rows.push(["reason", t.reason]);
  const table = ["| | |", "| --- | --- |", ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`)].join("\n");
  return `### autoresearch: training of experiment ${t.experiment}, seed ${t.seed}: ${t.status}\n\n${table}\n`;
}
