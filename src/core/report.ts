/**
 * Reports: the numbers every report shows, the pull request / status Markdown, and the terminal
 * text of the CLI. Pure: everything is computed from the folded state (and, for the live progress
 * line, a `now` passed in); nothing here reads the clock, the environment or a file.
 */
import * as asciichart from "asciichart";
import pc from "picocolors";
import { failedBaselineRun, failureHint, slowBaseline, tailLines } from "./advice.js";
import { type AxisScale, chooseScale, drawAt } from "./scale.js";
import { bestExperiment, type CampaignState, currentMetrics, currentRuns, type ExperimentState, tally } from "./state.js";
import { mean, stdev } from "./stats.js";

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/** The numbers every report shows; also exactly what `--json` prints (snake_case keys). */
export interface CampaignSummary {
  campaign: string;
  /** The metric's name. */
  metric: string;
  /** The metric's direction. */
  goal: "minimize" | "maximize";
  /** Mean of the baseline's (experiment 0) successful runs; null before any. */
  baseline: number | null;
  /** Mean of the best experiment's successful runs (the baseline itself until a keep). */
  best: number | null;
  /** Improvement in percent of the baseline, positive when better whatever the direction. */
  improvement_pct: number | null;
  /** Experiments proposed or asked for, the baseline not counted. */
  experiments: number;
  kept: number;
  /** Proposals that did not apply and experiments whose runs all failed. */
  failed: number;
  discarded: number;
  in_flight: number;
  /** Experiments a stop cut short (time or cost budget). */
  unfinished: number;
  /** Finished runs, the baseline's included. */
  runs: number;
  cost_usd: number;
  /** The stop reason, or null while the campaign goes on. */
  stopped: string | null;
  best_commit: string;
  /** Seconds from the first to the last event. */
  elapsed_s: number;
  /**
   * The confirmation of the final number (base and best on fresh paired seeds), when one ran for
   * the current best; null otherwise. Reports headline it in place of the campaign's own means.
   */
  confirmation: {
    /** True when it shows the best better than the base at accept.confidence; false: "not confirmed". */
    confirmed: boolean;
    /** running: started, results pending. */
    status: "running" | "done";
    pairs: number;
    base: number | null;
    best: number | null;
    change_pct: number | null;
    /** [lower, upper] in percent, at 1 - 2 * (1 - confidence). */
    interval_pct: [number, number] | null;
    reason: string;
  } | null;
  /** How candidates are judged: scale, and whether the target is deterministic (one run per candidate). */
  judging: { scale: "linear" | "log"; deterministic: boolean; reason: string };
  /** Guard metrics: mean of the baseline's and the best's runs. */
  guards: { name: string; goal: "minimize" | "maximize"; baseline: number | null; best: number | null }[];
}

function meanOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : mean(xs);
}

/** Mean of an experiment's successful runs on its current commit; null when there are none. */
function experimentMean(e: ExperimentState): number | null {
  return meanOrNull(currentMetrics(e));
}

function seconds(from: string, to: string): number {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
}

/** Beyond this many percent (a value more than 11 times its base) a percentage says nothing a reader can use. */
export const MAX_MEANINGFUL_PCT = 1000;

/**
 * Signed relative change in percent (`value` vs `baseline`), as people read "-23.4%" for a loss;
 * null where a percentage would mean nothing: a base of 0, values on both sides of 0 (a base
 * near zero), a non-finite value, or a change beyond MAX_MEANINGFUL_PCT (a diverged run). Reports
 * show the absolute difference instead.
 */
export function changePct(baseline: number | null, value: number | null): number | null {
  if (baseline === null || value === null || baseline === 0 || !Number.isFinite(baseline) || !Number.isFinite(value)) return null;
  if (value !== 0 && Math.sign(value) !== Math.sign(baseline)) return null;
  const pct = ((value - baseline) / Math.abs(baseline)) * 100;
  return Number.isFinite(pct) && Math.abs(pct) <= MAX_MEANINGFUL_PCT ? pct : null;
}

/** Improvement in percent of `baseline`, positive when `value` is better (direction-aware); null where {@link changePct} is. */
function improvementPct(baseline: number | null, value: number | null, goal: "minimize" | "maximize"): number | null {
  const pct = changePct(baseline, value);
  return pct === null ? null : goal === "minimize" ? -pct : pct;
}

/** The change from `base` to `value` in one short text: the percentage where it means something, else the signed difference. */
export function formatChange(base: number | null, value: number | null): string {
  const pct = changePct(base, value);
  if (pct !== null) return formatPct(pct);
  return base === null || value === null ? "n/a" : formatDelta(value - base);
}

/** The difference and, where it means something, the percentage: "+0.02 (+1.2%)", or "+1.9e259". */
export function formatDeltaWithPct(delta: number | null, pct: number | null): string {
  if (delta === null) return "";
  return pct === null ? formatDelta(delta) : `${formatDelta(delta)} (${formatPct(pct)})`;
}

/** The numbers every report shows, computed from the state alone. */
export function summarize(state: CampaignState): CampaignSummary {
  // A report reads it several times; it changes with every event (one per lastSeq). Shared: never changed by callers.
  const known = summaries.get(state);
  if (known?.seq === state.lastSeq) return known.summary;
  const summary = buildSummary(state);
  summaries.set(state, { seq: state.lastSeq, summary });
  return summary;
}

const summaries = new WeakMap<CampaignState, { seq: number; summary: CampaignSummary }>();

function buildSummary(state: CampaignState): CampaignSummary {
  const t = tally(state);
  const base = state.experiments[0];
  const baseline = base ? experimentMean(base) : null;
  const best = experimentMean(bestExperiment(state));
  const goal = state.config.metric.goal;
  return {
    campaign: state.campaign,
    metric: state.config.metric.name,
    goal,
    baseline,
    best,
    improvement_pct: improvementPct(baseline, best, goal),
    experiments: t.experiments,
    kept: t.kept,
    failed: t.failed,
    discarded: t.discarded,
    in_flight: t.inFlight,
    unfinished: t.unfinished,
    runs: t.runs,
    cost_usd: state.costUsd,
    stopped: state.stopped?.reason ?? null,
    best_commit: state.best.commit,
    elapsed_s: seconds(state.startedAt, state.lastAt),
    confirmation: confirmationSummary(state),
    judging: { ...state.judging },
    guards: state.config.guards.map((g) => ({
      name: g.name,
      goal: g.goal,
      baseline: base ? meanOrNull(guardValues(base, g.name)) : null,
      best: meanOrNull(guardValues(bestExperiment(state), g.name)),
    })),
  };
}

/** A guard's values in an experiment's successful runs on its current commit. */
function guardValues(e: ExperimentState, name: string): number[] {
  return currentRuns(e).flatMap((r) => (r.status === "ok" && r.guards?.[name] !== undefined ? [r.guards[name] as number] : []));
}

/** The confirmation of the current best, for summaries (null when none ran for it). */
function confirmationSummary(state: CampaignState): CampaignSummary["confirmation"] {
  const c = state.confirmation;
  if (!c || c.phase === "requested" || c.bestCommit !== state.best.commit) return null;
  const r = c.result;
  if (!r) return { confirmed: false, status: "running", pairs: 0, base: null, best: null, change_pct: null, interval_pct: null, reason: "running" };
  return {
    confirmed: r.confirmed,
    status: "done",
    pairs: r.pairs,
    base: r.baseMean,
    best: r.bestMean,
    change_pct: r.changePct,
    interval_pct: r.intervalPct,
    reason: r.reason,
  };
}

/**
 * The confirmed change as reports headline it: "0.4467 -> 0.2529 (-43.4%, confidence interval -39%
 * to -47%, confirmed on 5 paired seeds)", or the campaign's own numbers marked "not confirmed".
 * The interval's nearer end (to no change) comes first.
 */
export function changeHeadline(state: CampaignState): string {
  const s = summarize(state);
  const c = s.confirmation;
  const own = `${formatMetric(s.baseline)} -> ${formatMetric(s.best)} (${formatChange(s.baseline, s.best)}`;
  if (c?.status !== "done") return `${own})`;
  if (!c.confirmed) return `${own}, not confirmed)`;
  const [lo, hi] = c.interval_pct ?? [Number.NaN, Number.NaN];
  const [near, far] = Math.abs(lo) <= Math.abs(hi) ? [lo, hi] : [hi, lo];
  // The interval is in percent: shown only beside a percentage.
  const interval = c.interval_pct && confirmedChange(c).endsWith("%") ? `, confidence interval ${formatPct(near, 0)} to ${formatPct(far, 0)}` : "";
  return `${formatMetric(c.base)} -> ${formatMetric(c.best)} (${confirmedChange(c)}${interval}, confirmed on ${c.pairs} paired seeds)`;
}

/**
 * The confirmed change as text: its percentage (geometric on the log scale, so it may differ from
 * the means' ratio) where a percentage of the base means something, else the signed difference.
 */
function confirmedChange(c: { base: number | null; best: number | null; change_pct: number | null }): string {
  return c.change_pct !== null && Number.isFinite(c.change_pct) && changePct(c.base, c.best) !== null ? formatPct(c.change_pct) : formatChange(c.base, c.best);
}

/** How an experiment ended, as reports name it. */
export type Outcome = "baseline" | "kept" | "discarded" | "failed" | "running" | "proposing" | "unfinished";

/**
 * The outcome of an experiment; a discard whose runs all failed is a failure (as in `tally`), and
 * an experiment a stop cut short is unfinished (pass the state to know).
 */
export function outcome(e: ExperimentState, state?: CampaignState): Outcome {
  if (e.experiment === 0) return "baseline";
  if (e.phase === "discarded" && currentMetrics(e).length === 0) return "failed";
  if (state?.stopped && (e.phase === "running" || e.phase === "proposing")) return "unfinished";
  return e.phase;
}

/** One point of the metric chart. */
export interface ChartPoint {
  experiment: number;
  outcome: Outcome;
  /** The experiment's mean metric; null when it failed. */
  metric: number | null;
  /** The campaign's best (kept) mean after this experiment; null while the baseline has none. */
  best: number | null;
}

/**
 * The chart's points: the baseline (once it has finished a run) and every judged experiment, in
 * experiment order. "Best so far" is the mean of the most recently kept experiment among those up
 * to this one (the baseline until a keep): a lucky discarded run never moves it.
 */
export function chartPoints(state: CampaignState): ChartPoint[] {
  const points: ChartPoint[] = [];
  let bestAt: { seq: number; value: number | null } | null = null;
  for (const e of state.experiments) {
    if (!e) continue;
    const o = outcome(e);
    if (o === "baseline") {
      if (currentRuns(e).every((r) => r.status === "running")) continue;
      const value = experimentMean(e);
      bestAt = { seq: 0, value };
      points.push({ experiment: 0, outcome: o, metric: value, best: value });
      continue;
    }
    if (o === "running" || o === "proposing" || o === "unfinished") continue;
    const value = o === "failed" ? null : experimentMean(e);
    if (o === "kept" && e.verdict) {
      // Parallel experiments can be judged out of order: the later keep is the one that won.
      if (!bestAt || e.verdict.seq > bestAt.seq) {
        bestAt = { seq: e.verdict.seq, value };
      }
    }
    points.push({ experiment: e.experiment, outcome: o, metric: value, best: bestAt?.value ?? null });
  }
  return points;
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/**
 * A metric value with 4 significant digits, trailing zeros dropped ("3.2", "0.1234", "12350");
 * below 1e-3 or from 1e6 up in exponent form ("1.235e-7", "4e9").
 */
export function formatMetric(n: number | null): string {
  if (n === null || Number.isNaN(n)) return "n/a";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return "0";
  const abs = Math.abs(n);
  if (abs < 1e-3 || abs >= 1e6) {
    const [mantissa = "", exponent = "0"] = n.toExponential(3).split("e");
    const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    return `${m}e${Number(exponent)}`;
  }
  return String(Number(n.toPrecision(4)));
}

/** A signed metric difference ("+0.02", "-0.3", "0"). */
export function formatDelta(n: number | null): string {
  if (n === null || Number.isNaN(n)) return "n/a";
  const s = formatMetric(n);
  return n > 0 ? `+${s}` : s;
}

/** A percentage (already in percent units) with its sign and one decimal: "+6.3%", "-23.4%". */
export function formatPct(pct: number | null, digits = 1): string {
  if (pct === null || !Number.isFinite(pct)) return "n/a";
  // Rounding noise first (3.1999999999999997 vs 3.2), so the same change prints the same everywhere.
  const s = Math.abs(Number(pct.toPrecision(12))).toFixed(digits);
  if (Number(s) === 0) return `${(0).toFixed(digits)}%`;
  return `${pct > 0 ? "+" : "-"}${s}%`;
}

/** A duration in seconds for people: "12s", "1m12s", "2h05m", "3d04h". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

function formatUsd(n: number): string {
  return `$${n.toFixed(2)}`;
}

/** "mean ± stdev" over the successful runs, the single value for one, "n/a" for none. */
function metricCell(e: ExperimentState): string {
  const xs = currentMetrics(e);
  if (xs.length === 0) return "n/a";
  if (xs.length === 1) return formatMetric(xs[0] ?? null);
  return `${formatMetric(mean(xs))} ± ${formatMetric(stdev(xs))}`;
}

/** The experiment's mean minus the baseline it was judged against, and that in percent. */
function judgedDelta(e: ExperimentState): { delta: number | null; pct: number | null } {
  const base = e.verdict?.baselineMean ?? null;
  const value = experimentMean(e) ?? e.verdict?.candidateMean ?? null;
  if (base === null || value === null || e.experiment === 0) return { delta: null, pct: null };
  return { delta: value - base, pct: changePct(base, value) };
}

function runsCell(e: ExperimentState): string {
  const runs = currentRuns(e);
  const finished = runs.filter((r) => r.status !== "running");
  const ok = finished.filter((r) => r.status === "ok" && r.metric !== null).length;
  const running = runs.length - finished.length;
  const main = ok === finished.length ? String(ok) : `${ok}/${finished.length} ok`;
  return running > 0 ? `${main} +${running} running` : main;
}

/** Why an experiment ended as it did: the verdict's reason, else the first failed run's. */
function reasonOf(e: ExperimentState): string {
  if (e.verdict?.reason) return e.verdict.reason;
  const bad = currentRuns(e).find((r) => r.status !== "ok" && r.status !== "running");
  return bad ? `${bad.status}${bad.reason ? `: ${bad.reason}` : ""}` : "";
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder();
/** Size in UTF-8 bytes, the unit GitHub's comment limit counts. */
function bytes(s: string): number {
  return encoder.encode(s).length;
}

/** Cuts to at most `max` characters (code points), marking the cut with "…". */
function clip(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : `${cps.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/**
 * Makes user- or model-provided text inert in GitHub Markdown: HTML comments (which could hide
 * text) and `<details>`/`<summary>` tags (which could break our collapsed sections) are escaped.
 */
export function neutralizeHtml(s: string): string {
  return s
    .replace(/<!--/g, "&lt;!--")
    .replace(/--!?>/g, (m) => m.replace(">", "&gt;"))
    .replace(/<(\/?\s*(?:details|summary)\b)/gi, "&lt;$1");
}

/** One table cell: inert, one line, pipes escaped, bounded. */
export function tableCell(s: string, max = 200): string {
  const oneLine = s
    .replace(/\r\n|\r|\n/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return neutralizeHtml(clip(oneLine, max)).replace(/\\?\|/g, "\\|");
}

/** A code fence longer than any run of backticks inside `body`. */
function fenceFor(body: string): string {
  let longest = 0;
  for (const m of body.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return "`".repeat(Math.max(3, longest + 1));
}

/** Keeps whole lines up to `maxBytes`, saying how many were left out. */
function clipLines(text: string, maxBytes: number, note: (left: number) => string): string {
  if (bytes(text) <= maxBytes) return text;
  const lines = text.split("\n");
  const kept: string[] = [];
  let size = 0;
  for (const line of lines) {
    const b = bytes(line) + 1;
    if (size + b > maxBytes) break;
    kept.push(line);
    size += b;
  }
  // One line longer than the whole budget: keep its start rather than nothing.
  if (kept.length === 0) kept.push(clip(lines[0] ?? "", Math.max(1, Math.floor(maxBytes / 4))));
  return `${kept.join("\n")}\n${note(lines.length - kept.length)}`;
}

/** Closes a code fence that a cut left open, so it cannot swallow the rest of the report. */
function balanceFences(md: string): string {
  let open: string | null = null;
  for (const line of md.split("\n")) {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (!m?.[1]) continue;
    const fence = m[1];
    if (open === null) open = fence;
    else if (fence[0] === open[0] && fence.length >= open.length && line.trim() === fence) open = null;
  }
  return open === null ? md : `${md}\n${open}`;
}

/** A number in plain decimal form, as Mermaid's parser accepts it. */
function plainNumber(n: number): string {
  const s = String(Number(n.toPrecision(6)));
  if (!s.includes("e")) return s;
  const digits = Math.min(100, Math.max(0, 6 - Math.floor(Math.log10(Math.abs(n)))));
  return n
    .toFixed(digits)
    .replace(/(\.\d*?)0+$/, "$1")
    .replace(/\.$/, "");
}

/** What the caption of a chart says about its axis: log scale, clipped outliers. */
function axisNotes(scale: AxisScale, points: readonly ChartPoint[], name: string): string[] {
  const notes: string[] = [];
  if (scale.kind === "log") notes.push(`The ${name} axis is logarithmic: the values span orders of magnitude.`);
  if (scale.clipped.length > 0) {
    const shown = scale.clipped.slice(0, 5).map((c) => `#${points[c.index]?.experiment ?? "?"} (${formatMetric(c.value)})`);
    const more = scale.clipped.length > 5 ? ` and ${scale.clipped.length - 5} more` : "";
    notes.push(`Off the scale, drawn at the edge of the axis: ${shown.join(", ")}${more}.`);
  }
  return notes;
}

/**
 * The Mermaid `xychart-beta` block: x = experiment numbers, first line = each experiment's mean
 * metric, second line = best so far. Mermaid lines cannot have gaps, so a failed experiment is
 * drawn at the best-so-far value it was judged against (the caption says so). The y axis comes
 * from {@link chooseScale}: far outliers at its edge, log10 values when they span orders of
 * magnitude (the axis title and caption say so). Empty string when nothing has been measured.
 */
/**
 * At most `max` of `points`, spread evenly over them: the first, the last and every one where the
 * best changed are always among them (the line of the best keeps its steps).
 */
export function samplePoints(points: ChartPoint[], max: number): ChartPoint[] {
  if (points.length <= max) return points;
  const must = new Set<number>([0, points.length - 1]);
  points.forEach((p, i) => {
    if (i > 0 && p.best !== points[i - 1]?.best) must.add(i);
  });
  const room = Math.max(0, max - must.size);
  const chosen = new Set(must);
  for (let k = 0; k < room; k++) chosen.add(Math.round(((k + 0.5) * (points.length - 1)) / room));
  return [...chosen].sort((a, b) => a - b).map((i) => points[i] as ChartPoint);
}

/**
 * The chart as Mermaid; with `maxPoints`, a long campaign's chart shows that many experiments at
 * most (see samplePoints), so its size and the time to draw it do not grow with the campaign.
 */
export function renderMermaidChart(state: CampaignState, opts: { maxPoints?: number } = {}): string {
  const all = chartPoints(state).filter((p) => p.best !== null || p.metric !== null);
  const points = opts.maxPoints === undefined ? all : samplePoints(all, opts.maxPoints);
  if (points.length === 0) return "";
  const metric = points.map((p) => p.metric ?? p.best ?? 0);
  const best = points.map((p) => p.best ?? p.metric ?? 0);
  const scale = chooseScale(
    points.map((p) => p.metric),
    best,
  );
  const name = state.config.metric.name;
  const y = (v: number) => (scale.kind === "log" ? drawAt(scale, v) : scale.fromAxis(drawAt(scale, v)));
  const [lo, hi] = scale.kind === "log" ? [scale.lo, scale.hi] : [scale.fromAxis(scale.lo), scale.fromAxis(scale.hi)];
  const failed = points.some((p) => p.metric === null);
  const axisTitle = scale.kind === "log" ? `log10 ${name}` : name;
  return [
    "```mermaid",
    "xychart-beta",
    `  title "${name} per experiment"`,
    `  x-axis "experiment" [${points.map((p) => `"${p.experiment}"`).join(", ")}]`,
    `  y-axis "${axisTitle}" ${plainNumber(lo)} --> ${plainNumber(hi)}`,
    `  line [${metric.map((v) => plainNumber(y(v))).join(", ")}]`,
    `  line [${best.map((v) => plainNumber(y(v))).join(", ")}]`,
    "```",
    "",
    [
      `First line: each experiment's mean ${name}; second line: the best so far (${state.config.metric.goal}).${failed ? " Failed experiments are drawn at the best-so-far value." : ""}${points.length < all.length ? ` ${points.length} of ${all.length} experiments are drawn, every change of the best among them.` : ""}`,
      ...axisNotes(scale, points, name),
    ].join(" "),
  ].join("\n");
}

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** Reasoning traces by experiment number (Markdown, as stored beside the ledger). */
  traces?: Record<number, string>;
  /** The address of an experiment's full trace (on the ledger branch). */
  traceLink?: (experiment: number) => string;
  /** Upper bound of the whole report in UTF-8 bytes (a GitHub comment holds about 64 KB). */
  maxBytes?: number;
  /** Experiments the chart draws at most (see samplePoints); all when absent. */
  chartPoints?: number;
  /** How to reproduce the result: a shell command or script, shown as a code block. */
  reproduce?: string;
}

/** The report's title: `autoresearch: <metric> <baseline> -> <best> (<percent>)`, the confirmed change once there is one (see changeHeadline). */
export function reportTitle(state: CampaignState): string {
  return `autoresearch: ${state.config.metric.name} ${changeHeadline(state)}`;
}

/** Lines on the confirmation, the judging and the guards (empty when there is nothing to say). */
function judgingLines(state: CampaignState, s: CampaignSummary): string[] {
  const lines: string[] = [];
  const c = s.confirmation;
  if (c?.status === "done")
    lines.push(
      c.confirmed
        ? `- **Confirmed:** ${tableCell(changeHeadline(state), 300)}: base and best run interleaved on fresh seeds; ${tableCell(c.reason, 300)}`
        : `- **Not confirmed:** on fresh paired seeds, base and best gave ${formatMetric(c.base)} -> ${formatMetric(c.best)} (${confirmedChange(c)}): ${tableCell(c.reason, 300)}. The number above is the campaign's own, not confirmed.`,
    );
  else if (c?.status === "running") lines.push("- **Confirmation:** running (base and best, interleaved on fresh paired seeds)");
  else if (s.stopped !== null && s.best_commit !== state.baseCommit)
    lines.push(
      state.config.accept.confirm_repeats > 0
        ? "- **Not confirmed:** the campaign stopped before a confirmation ran (`autoresearch confirm`, or `/autoresearch confirm` in a comment on GitHub, runs one)"
        : "- **Not confirmed:** no confirmation ran (accept.confirm_repeats: 0; `autoresearch confirm`, or `/autoresearch confirm` in a comment on GitHub, runs one)",
    );
  const how = [
    "paired seeds",
    s.judging.scale === "log" ? "log scale" : "",
    s.judging.deterministic ? "deterministic target (one run per candidate, one re-check of each new best)" : "",
  ].filter(Boolean);
  // Said when it differs from the default (linear scale, noisy target).
  if (how.length > 1) lines.push(`- **Judging:** ${how.join(", ")}${s.judging.reason ? ` (${tableCell(s.judging.reason, 200)})` : ""}`);
  if (s.guards.length)
    lines.push(
      `- **Guards:** ${s.guards
        .map((g) => {
          const tol = state.config.guards.find((x) => x.name === g.name)?.tolerance;
          const tolText = tol ? (tol.kind === "relative" ? `${Number((tol.value * 100).toPrecision(6))}%` : formatMetric(tol.value)) : "0";
          return `${tableCell(g.name, 60)} (${g.goal}) ${formatMetric(g.baseline)} -> ${formatMetric(g.best)}, tolerance ${tolText}`;
        })
        .join("; ")}`,
    );
  return lines;
}

/** The summary bullet list every report starts with (state, metric, experiments, budget, best commit). */
export function summaryLines(state: CampaignState): string[] {
  const s = summarize(state);
  const b = state.config.budget;
  const delta = s.baseline !== null && s.best !== null ? s.best - s.baseline : null;
  const stateText = s.stopped !== null ? `stopped: ${tableCell(s.stopped, 300)}` : s.in_flight > 0 ? "running" : "waiting";
  const gain = delta === null ? null : s.goal === "minimize" ? -delta : delta;
  const better = gain === null ? "" : gain > 0 ? ", better" : gain < 0 ? ", worse" : ", unchanged";
  const pct = changePct(s.baseline, s.best);
  return [
    `- **State:** ${stateText}`,
    `- **${s.metric}** (${s.goal}): ${formatMetric(s.baseline)} -> ${formatMetric(s.best)} (${formatDelta(delta)}${pct === null ? "" : `, ${formatPct(pct)}`}${better})`,
    `- **Experiments:** ${s.experiments} run, ${s.kept} kept, ${s.discarded} discarded, ${s.failed} failed, ${s.in_flight} in flight${s.unfinished ? `, ${s.unfinished} cut short by the stop` : ""} (${s.runs} runs)`,
    `- **Budget used:** ${s.experiments} of ${b.max_experiments} experiments, ${formatDuration(s.elapsed_s)} of ${b.max_hours}h, ${formatUsd(s.cost_usd)} of ${formatUsd(b.max_cost_usd)}`,
    `- **Best commit:** \`${tableCell(s.best_commit.slice(0, 12), 12).replace(/`/g, "")}\`${s.best_commit === state.baseCommit ? " (the base commit)" : ""}`,
    ...judgingLines(state, s),
  ];
}

/** The head of the experiments table (see {@link tableRow}). */
export const TABLE_HEAD = ["| # | title | metric | runs | delta | verdict | reason |", "|---:|---|---|---:|---|---|---|"];

/** An experiment's title, or what stands in for it before (or without) a proposal. */
function titleOf(e: ExperimentState): string {
  return e.title || (e.phase === "failed" ? "(no proposal)" : "(proposing)");
}

/** One experiment as a row of the experiments table; `link` makes its number a link (to its trace). */
export function tableRow(e: ExperimentState, state: CampaignState, link?: (n: number) => string): string {
  const { delta, pct } = judgedDelta(e);
  const num = link && e.traceFile ? `[${e.experiment}](${link(e.experiment)})` : String(e.experiment);
  const deltaText = formatDeltaWithPct(delta, pct);
  const verdict = e.supersededBy !== undefined ? `${outcome(e, state)}, superseded by #${e.supersededBy}` : outcome(e, state);
  return `| ${num} | ${tableCell(titleOf(e), 100)} | ${metricCell(e)} | ${runsCell(e)} | ${deltaText} | ${verdict} | ${tableCell(reasonOf(e), 160)} |`;
}

function keptSection(e: ExperimentState, opts: MarkdownOptions, limits: { text: number; diff: number; trace: number }): string {
  const { delta, pct } = judgedDelta(e);
  const parts: string[] = [`### #${e.experiment}: ${tableCell(e.title, 150)}`, ""];
  parts.push(
    `${formatDeltaWithPct(delta, pct) || "n/a"} vs ${formatMetric(e.verdict?.baselineMean ?? null)}${e.verdict?.pairs ? ` on ${e.verdict.pairs} paired seeds` : ""}; +${e.linesAdded} -${e.linesRemoved} lines; commit \`${e.commit.slice(0, 12).replace(/`/g, "")}\``,
    "",
  );
  if (e.supersededBy !== undefined) parts.push(`Superseded by #${e.supersededBy}, which replaced it as a whole (their changes conflict).`, "");
  if (e.verdict?.guards?.length)
    parts.push(
      `Guards: ${e.verdict.guards.map((g) => `${tableCell(g.name, 60)} ${formatMetric(g.best)} -> ${formatMetric(g.candidate)} (tolerance ${formatMetric(g.tolerance)})`).join("; ")}`,
      "",
    );
  if (e.hypothesis.trim()) parts.push(balanceFences(neutralizeHtml(clip(e.hypothesis.trim(), limits.text))), "");
  if (e.diff.trim()) {
    const diff = clipLines(e.diff.replace(/\n+$/, ""), limits.diff, (n) => `... ${n} more lines not shown`);
    const fence = fenceFor(diff);
    parts.push(`${fence}diff`, diff, fence, "");
  }
  const trace = opts.traces?.[e.experiment];
  const link = opts.traceLink && (e.traceFile || trace !== undefined) ? opts.traceLink(e.experiment) : undefined;
  if (trace?.trim()) {
    const body = clipLines(neutralizeHtml(trace.trim()), limits.trace, (n) => `\n_(${n} more lines in the full trace)_`);
    parts.push("<details><summary>Reasoning trace</summary>", "", balanceFences(body), "");
    if (link) parts.push(`[Full trace](${link})`, "");
    parts.push("</details>", "");
  } else if (link) {
    parts.push(`[Reasoning trace](${link})`, "");
  }
  return parts.join("\n");
}

/** Why the baseline failed, with its last output lines and the hint that fits; "" unless it failed. */
export function baselineFailureSection(state: CampaignState): string {
  const run = failedBaselineRun(state);
  if (!run) return "";
  const hint = failureHint(run, { run: state.config.run, timeBox: state.config.budget.experiment_timeout, metric: state.config.metric.name });
  const parts = ["## Why the baseline failed", "", `Run with seed ${run.seed}: ${tableCell(`${run.status}${run.reason ? `: ${run.reason}` : ""}`, 300)}.`, ""];
  if (hint) parts.push(`**Hint:** ${tableCell(hint, 600)}`, "");
  const lines = tailLines(run.tail);
  if (lines.length) {
    const body = lines.join("\n");
    const fence = fenceFor(body);
    parts.push(`Last ${lines.length} lines of its output:`, "", `${fence}text`, body, fence, "");
  }
  return parts.join("\n");
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function cutBytes(s: string, max: number): string {
  if (bytes(s) <= max) return s;
  let out = "";
  let size = 0;
  for (const ch of s) {
    const b = bytes(ch);
    if (size + b > max) break;
    out += ch;
    size += b;
  }
  return out;
}

/**
 * The campaign report (pull request body or status comment): title, summary, chart, a table of
 * every experiment, how to reproduce, and per kept change its hypothesis, diff and collapsed trace.
 * At most `maxBytes` (default 60 000) UTF-8 bytes: when it would be longer, the oldest table rows
 * and kept sections are left out first, and a note says how many.
 */
export function renderMarkdown(state: CampaignState, opts: MarkdownOptions = {}): string {
  const maxBytes = opts.maxBytes ?? 60_000;
  const limits = {
    text: Math.max(200, Math.min(2_000, Math.floor(maxBytes / 30))),
    diff: Math.max(500, Math.min(6_000, Math.floor(maxBytes / 12))),
    trace: Math.max(500, Math.min(4_000, Math.floor(maxBytes / 15))),
  };
  const title = `# ${tableCell(reportTitle(state), 300)}`;
  const goal = state.goal.trim() ? [`> ${tableCell(state.goal, 300)}`, ""] : [];
  const head = [title, "", ...goal, ...summaryLines(state), ""].join("\n");
  let chart = renderMermaidChart(state, opts.chartPoints === undefined ? {} : { maxPoints: opts.chartPoints });
  const reproduce = opts.reproduce?.trim()
    ? (() => {
        const body = clipLines(opts.reproduce.trim(), limits.diff, (n) => `# ... ${n} more lines`);
        const fence = fenceFor(body);
        return ["## How to reproduce", "", `${fence}sh`, body, fence, ""].join("\n");
      })()
    : "";
  const experiments = state.experiments.filter((e): e is ExperimentState => e !== undefined);
  const rows = experiments.map((e) => tableRow(e, state, opts.traceLink));
  const kept = experiments.filter((e) => e.phase === "kept").map((e) => keptSection(e, opts, limits));

  const NOTE_RESERVE = 400;
  const notes: string[] = [];
  if (bytes(head) + bytes(chart) + bytes(reproduce) + NOTE_RESERVE > maxBytes / 2 && chart) {
    chart = "";
    notes.push("The chart was left out to keep the report within its size limit.");
  }
  const slow = slowBaseline(state);
  const warning = slow ? `> [!WARNING]\n> ${tableCell(slow.message, 500)}\n` : "";
  const failure = baselineFailureSection(state);
  const fixed = bytes(head) + bytes(warning) + bytes(failure) + bytes(chart) + bytes(reproduce) + bytes(TABLE_HEAD.join("\n")) + 80 + NOTE_RESERVE;
  let budget = Math.max(0, maxBytes - fixed);
  const sizeOf = (xs: readonly string[]) => xs.reduce((a, x) => a + bytes(x) + 1, 0);

  // Newest first into the budget: kept sections get up to half when both do not fit, then rows
  // the rest, then any kept sections left out take what rows did not use.
  const takeNewest = (items: readonly string[], limit: number): number => {
    let n = 0;
    let size = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      const b = bytes(items[i] ?? "") + 1;
      if (size + b > limit) break;
      size += b;
      n++;
    }
    return n;
  };
  const fitsAll = sizeOf(rows) + sizeOf(kept) <= budget;
  let keptN = fitsAll ? kept.length : takeNewest(kept, Math.max(budget / 2, budget - sizeOf(rows)));
  budget -= sizeOf(kept.slice(kept.length - keptN));
  const rowsN = fitsAll ? rows.length : takeNewest(rows, budget);
  budget -= sizeOf(rows.slice(rows.length - rowsN));
  if (keptN < kept.length) {
    const more = takeNewest(kept.slice(0, kept.length - keptN), budget);
    keptN += more;
  }
  const shownRows = rows.slice(rows.length - rowsN);
  const shownKept = kept.slice(kept.length - keptN);
  if (rowsN < rows.length) notes.push(`The ${rows.length - rowsN} oldest experiments are left out of the table to keep the report within its size limit.`);
  if (keptN < kept.length) notes.push(`The ${kept.length - keptN} oldest kept changes are left out below to keep the report within its size limit.`);

  const noteText = (ns: string[]) => (ns.length ? `${ns.map((n) => `> [!NOTE]\n> ${n}`).join("\n\n")}\n` : "");
  // Each part ends with a newline; parts are separated by a blank line.
  let md = [
    head,
    warning,
    failure,
    noteText(notes),
    chart ? `## ${tableCell(state.config.metric.name, 100)} per experiment\n\n${chart}\n` : "",
    `## Experiments\n\n${[...TABLE_HEAD, ...shownRows].join("\n")}\n`,
    reproduce,
    shownKept.length ? `## Kept changes\n\n${shownKept.join("\n")}` : kept.length ? "" : "No change has been kept yet.\n",
  ]
    .filter((p) => p !== "")
    .join("\n");
  if (bytes(md) > maxBytes) {
    // Only reachable when the fixed parts alone exceed a very small limit: cut, and say so.
    const note = "\n\n_(report cut to fit its size limit)_\n";
    md = balanceFences(cutBytes(md, Math.max(0, maxBytes - bytes(note) - 8))) + note;
    if (bytes(md) > maxBytes) md = cutBytes(md, maxBytes);
  }
  return md;
}

// ---------------------------------------------------------------------------------------------
// Terminal
// ---------------------------------------------------------------------------------------------

/** Removes control characters (ANSI escapes included) from text that reaches a terminal. */
function plain(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return s.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "").replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}

function pad(s: string, width: number, right = false): string {
  const n = Array.from(s).length;
  if (n >= width) return clip(s, width);
  return right ? " ".repeat(width - n) + s : s + " ".repeat(width - n);
}

/** Options of the terminal renderers. */
export interface TerminalOptions {
  /** Whether to use ANSI colors; false gives plain text without a single escape code. */
  color: boolean;
  /** Terminal width in columns (default 80). */
  width?: number;
  /** Recent experiments in the table (default 10); the baseline and every kept experiment are shown too. */
  rows?: number;
}

/**
 * The CLI's summary: baseline -> best with percent, counts, stop reason, and a table of the
 * baseline, every kept experiment and the most recent ones (number, title, metric, delta, verdict).
 */
export function renderTerminalSummary(state: CampaignState, opts: TerminalOptions): string {
  const c = pc.createColors(opts.color);
  const width = Math.max(50, opts.width ?? 80);
  const s = summarize(state);
  const pct = formatChange(s.baseline, s.best);
  const delta = s.baseline !== null && s.best !== null ? s.best - s.baseline : null;
  const good = delta !== null && (s.goal === "minimize" ? delta < 0 : delta > 0);
  const lines: string[] = [];
  const status = s.stopped !== null ? `stopped: ${plain(s.stopped)}` : s.in_flight > 0 ? "running" : "waiting";
  // Clip the plain text, then color it: clipping colored text could cut an escape sequence.
  const campaign = clip(`autoresearch #${plain(s.campaign)}`, 30);
  const headline = ` ${s.metric} (${s.goal}) · ${status}`;
  if (Array.from(campaign + headline).length <= width) lines.push(`${c.bold(campaign)}${headline}`);
  else lines.push(`${c.bold(campaign)} ${s.metric} (${s.goal})`, clip(status, width));
  lines.push(
    `baseline ${formatMetric(s.baseline)} -> best ${c.bold(formatMetric(s.best))} ${good ? c.green(`(${pct})`) : `(${pct})`}${s.best_commit !== state.baseCommit ? c.dim(` at ${plain(s.best_commit.slice(0, 10))}`) : ""}`,
  );
  if (s.confirmation?.status === "done")
    lines.push(
      s.confirmation.confirmed ? `confirmed: ${s.metric} ${c.bold(changeHeadline(state))}` : `${c.yellow("not confirmed")}: ${plain(s.confirmation.reason)}`,
    );
  lines.push(
    `experiments ${s.experiments}/${state.config.budget.max_experiments} · kept ${s.kept} · discarded ${s.discarded} · failed ${s.failed} · in flight ${s.in_flight} · runs ${s.runs} · ${formatUsd(s.cost_usd)} · ${formatDuration(s.elapsed_s)}`,
  );
  lines.push("");
  const numW = 4;
  const metricW = 19;
  const deltaW = 17;
  const verdictW = 10;
  const titleW = Math.max(10, width - numW - metricW - deltaW - verdictW - 4);
  lines.push(c.dim(`${pad("#", numW, true)} ${pad("title", titleW)} ${pad("metric", metricW)} ${pad("delta", deltaW)} ${pad("verdict", verdictW)}`.trimEnd()));
  const all = state.experiments.filter((e): e is ExperimentState => e !== undefined);
  const recent = new Set(all.slice(-(opts.rows ?? 10)));
  // The baseline and every kept experiment are always in the table: they are the campaign's result.
  const shown = all.filter((e) => recent.has(e) || e.experiment === 0 || e.phase === "kept");
  let previous = -1;
  for (const e of shown) {
    const skipped = all.filter((x) => x.experiment > previous && x.experiment < e.experiment).length;
    if (skipped > 0) lines.push(c.dim(`${pad("…", numW, true)} ${skipped} more experiment${skipped === 1 ? "" : "s"} (autoresearch report lists every one)`));
    previous = e.experiment;
    const { delta, pct: p } = judgedDelta(e);
    const o = outcome(e, state);
    const paint = o === "kept" ? c.green : o === "failed" ? c.red : o === "discarded" ? c.dim : o === "baseline" ? c.cyan : c.yellow;
    const deltaText = formatDeltaWithPct(delta, p);
    lines.push(
      `${pad(String(e.experiment), numW, true)} ${pad(plain(titleOf(e)), titleW)} ${pad(metricCell(e), metricW)} ${pad(deltaText, deltaW)} ${paint(o)}${e.supersededBy !== undefined ? c.dim(` (superseded by #${e.supersededBy})`) : ""}`,
    );
  }
  return lines.join("\n");
}

/** Options of {@link renderTerminalChart}. */
export interface TerminalChartOptions {
  /** Rows of the plot (default 10). */
  height?: number;
  /** Columns available (default 80); longer histories are sampled evenly, first and last kept. */
  width?: number;
  /** ANSI colors for the two lines (default false: no escape codes). */
  color?: boolean;
}

/**
 * The metric chart for a terminal (asciichart): each experiment's mean metric and the best so far.
 * The plot cannot have gaps, so a failed experiment carries the previous experiment's value; the
 * legend under the plot says so. Without color both lines use the same characters; the best-so-far
 * line is the one that only steps in the better direction.
 */
export function renderTerminalChart(state: CampaignState, opts: TerminalChartOptions = {}): string {
  const height = Math.max(2, Math.floor(opts.height ?? 10));
  const width = Math.max(30, Math.floor(opts.width ?? 80));
  const name = state.config.metric.name;
  let points = chartPoints(state);
  const firstValue = points.find((p) => p.metric !== null)?.metric ?? points.find((p) => p.best !== null)?.best ?? null;
  if (points.length === 0 || firstValue === null) return `(no ${name} measured yet)`;
  const scale = chooseScale(
    points.map((p) => p.metric),
    points.map((p) => p.best),
  );
  const metric: number[] = [];
  const best: number[] = [];
  let last = firstValue;
  for (const p of points) {
    last = p.metric ?? last;
    metric.push(drawAt(scale, last));
    best.push(drawAt(scale, p.best ?? last));
  }
  const labelW = 10;
  const plotW = Math.max(1, width - labelW - 3);
  let m = metric;
  let b = best;
  const all = points;
  if (points.length > plotW) {
    const idx = Array.from({ length: plotW }, (_, i) => Math.round((i * (points.length - 1)) / Math.max(1, plotW - 1)));
    m = idx.map((i) => metric[i] ?? scale.lo);
    b = idx.map((i) => best[i] ?? scale.lo);
    points = idx.map((i) => points[i] ?? points[0]).filter((p): p is NonNullable<typeof p> => p !== undefined);
  }
  // Axis coordinates are small and finite whatever the values (see chooseScale); plot them as
  // offsets from the bottom so that huge values with a tiny spread keep their precision.
  const { lo, hi } = scale;
  const plot = asciichart.plot([m.map((v) => v - lo), b.map((v) => v - lo)], {
    height,
    min: 0,
    max: hi - lo,
    padding: " ".repeat(labelW),
    format: (x: number) => pad(formatMetric(scale.fromAxis(x + lo)), labelW, true),
    ...(opts.color ? { colors: [asciichart.blue, asciichart.green] } : {}),
  });
  const c = pc.createColors(opts.color ?? false);
  const first = points[0]?.experiment ?? 0;
  const lastN = points[points.length - 1]?.experiment ?? 0;
  const failed = points.some((p) => p.metric === null);
  const legend = `${name} for experiments ${first}..${lastN}${scale.kind === "log" ? " (log scale)" : ""}: ${c.blue("metric per experiment")}, ${c.green("best so far")}${failed ? "; failed experiments carry the previous value" : ""}`;
  const notes = scale.clipped.length
    ? [`${" ".repeat(labelW + 1)}${clip(plain(axisNotes({ ...scale, kind: "linear" }, all, name).join(" ")), Math.max(20, width - labelW - 1))}`]
    : [];
  return [plot, `${" ".repeat(labelW + 1)}${legend}`, ...notes].join("\n");
}

/** An experiment being run now, for the progress line. */
export interface RunningExperiment {
  experiment: number;
  seed: number;
  /** When its current run started. */
  since: Date;
}

/**
 * The live progress text: "experiments 7/20 · kept 2 · failed 1 · best val_loss 0.1234 (-23.4%) ·
 * running #8 (12s), #9 (3s) · 1m12s". Goes onto a second line when wider than `width` (default 100).
 */
export function renderProgressLine(state: CampaignState, now: Date, running: readonly RunningExperiment[], width = 100): string {
  const s = summarize(state);
  const head = [
    `experiments ${s.experiments}/${state.config.budget.max_experiments}`,
    `kept ${s.kept}`,
    `failed ${s.failed}`,
    `best ${s.metric} ${formatMetric(s.best)}${s.best !== null && s.baseline !== null ? ` (${formatChange(s.baseline, s.best)})` : ""}`,
  ].join(" · ");
  const MAX_SHOWN = 4;
  const list = running
    .slice(0, MAX_SHOWN)
    .map((r) => `#${r.experiment} (${formatDuration((now.getTime() - r.since.getTime()) / 1000)})`)
    .join(", ");
  const more = running.length > MAX_SHOWN ? ` +${running.length - MAX_SHOWN} more` : "";
  const tail = [running.length ? `running ${list}${more}` : "", formatDuration(seconds(state.startedAt, now.toISOString()))].filter(Boolean).join(" · ");
  const one = `${head} · ${tail}`;
  return one.length <= width ? one : `${head}\n${tail}`;
}
