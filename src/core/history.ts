/**
 * The history a proposer's prompt shows, bounded however long the campaign runs: the best so far
 * and the changes kept, the last experiments in full, older ones grouped by idea, the last
 * failures with a bounded log tail, and the experiments in flight. Pure: the size depends on the
 * limits, not on the number of experiments (only the counts in the group lines grow, by digits).
 */
// The sanitizers are pure string functions; they live with the runner, which produced the tails.

import type { ExperimentSummary } from "../ports.js";
import { cleanText, sanitizeTail } from "../runner/sanitize.js";
import type { Edit } from "./events.js";

export interface HistoryLimits {
  /** Experiments shown in full, the most recent ones. */
  recent: number;
  /** Kept experiments listed by title (the most recent ones). */
  kept: number;
  /** Idea groups shown for the older experiments (the largest ones). */
  groups: number;
  /** Failed experiments shown with their log tail (the most recent ones). */
  failures: number;
  /** Bytes of each failure's log tail. */
  tailBytes: number;
  /** Characters of a title, hypothesis or reason. */
  textChars: number;
  /** Characters of the edits of one recent experiment. */
  editChars: number;
  /** Experiments in flight listed. */
  inFlight: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = {
  recent: 10,
  kept: 12,
  groups: 25,
  failures: 4,
  tailBytes: 800,
  textChars: 300,
  editChars: 1200,
  inFlight: 16,
};

/** Older experiments that share an idea. */
export interface IdeaGroup {
  idea: string;
  experiments: number;
  first: number;
  last: number;
  kept: number;
  discarded: number;
  failed: number;
  /** The best improvement among them (null when none was measured). */
  bestImprovement: number | null;
  bestExperiment: number | null;
}

export interface CompactHistory {
  total: number;
  kept: ExperimentSummary[];
  keptTotal: number;
  recent: ExperimentSummary[];
  groups: IdeaGroup[];
  /** Older experiments and ideas beyond `limits.groups`. */
  otherIdeas: { ideas: number; experiments: number };
  failures: ExperimentSummary[];
  inFlight: ExperimentSummary[];
  inFlightTotal: number;
}

const STOPWORDS = new Set(["a", "an", "the", "to", "of", "in", "on", "and", "for", "with", "by", "from", "at", "into", "use", "try", "via"]);

/**
 * The idea an experiment tries: the first three words of its title, lowercased, without numbers,
 * punctuation and filler words ("Raise LR 0.01 -> 0.02" and "raise lr to 0.05" are one idea).
 */
export function ideaKey(title: string): string {
  // Everything but letters goes, invisible characters included: no cleanText needed (it is the hot path at 1,000 experiments).
  const words = title
    .toLowerCase()
    .replace(/[^a-z_\s]+/g, " ")
    .split(/\s+/)
    .filter((w) => w.length > 1 && !STOPWORDS.has(w));
  return words.slice(0, 3).join(" ") || "(untitled)";
}

/** Groups, bounds and selects; see the module comment. */
export function compactHistory(history: readonly ExperimentSummary[], inFlight: readonly ExperimentSummary[], limits = DEFAULT_HISTORY_LIMITS): CompactHistory {
  const recent = history.slice(Math.max(0, history.length - limits.recent));
  const older = history.slice(0, Math.max(0, history.length - limits.recent));
  const byIdea = new Map<string, IdeaGroup>();
  for (const e of older) {
    const idea = ideaKey(e.title);
    const g = byIdea.get(idea) ?? {
      idea,
      experiments: 0,
      first: e.experiment,
      last: e.experiment,
      kept: 0,
      discarded: 0,
      failed: 0,
      bestImprovement: null,
      bestExperiment: null,
    };
    g.experiments++;
    g.first = Math.min(g.first, e.experiment);
    g.last = Math.max(g.last, e.experiment);
    if (e.outcome === "keep") g.kept++;
    else if (e.outcome === "failed") g.failed++;
    else g.discarded++;
    if (e.improvement !== null && Number.isFinite(e.improvement) && (g.bestImprovement === null || e.improvement > g.bestImprovement)) {
      g.bestImprovement = e.improvement;
      g.bestExperiment = e.experiment;
    }
    byIdea.set(idea, g);
  }
  const all = [...byIdea.values()].sort((a, b) => b.experiments - a.experiments || b.last - a.last);
  const groups = all.slice(0, limits.groups);
  const rest = all.slice(limits.groups);
  const keptAll = history.filter((e) => e.outcome === "keep");
  const recentSet = new Set(recent.map((e) => e.experiment));
  const failures = history.filter((e) => e.outcome === "failed" && !recentSet.has(e.experiment)).slice(-limits.failures);
  return {
    total: history.length,
    kept: keptAll.slice(-limits.kept),
    keptTotal: keptAll.length,
    recent,
    groups,
    otherIdeas: { ideas: rest.length, experiments: rest.reduce((s, g) => s + g.experiments, 0) },
    failures,
    inFlight: inFlight.slice(-limits.inFlight),
    inFlightTotal: inFlight.length,
  };
}

/** Cleans and cuts text to `max` characters on one line. */
export function oneLine(text: string, max: number): string {
  const t = cleanText(text).replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

function num(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "n/a" : Number(x.toPrecision(5)).toString();
}

function signed(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "n/a" : `${x >= 0 ? "+" : ""}${num(x)}`;
}

function renderEdits(edits: readonly Edit[], max: number): string {
  const text = edits
    .map((e) =>
      e.kind === "write"
        ? `write ${e.path} (${e.content.length} chars)`
        : `replace in ${e.path}:\n- ${e.search.split("\n").join("\n- ")}\n+ ${e.replace.split("\n").join("\n+ ")}`,
    )
    .join("\n");
  const clean = cleanText(text);
  return clean.length > max ? `${clean.slice(0, max)}\n[... edits cut at ${max} characters]` : clean;
}

function outcomeWord(e: ExperimentSummary): string {
  return e.outcome === "keep" ? "KEPT" : e.outcome === "discard" ? "discarded" : e.outcome === "failed" ? "FAILED" : "in flight";
}

/**
 * The history as prompt text. `improvement` is in metric units, positive when better, whatever
 * the direction of the metric.
 */
export function renderHistory(h: CompactHistory, metric: { name: string; goal: string }, limits = DEFAULT_HISTORY_LIMITS): string {
  const out: string[] = [];
  const t = limits.textChars;
  out.push(`${h.total} experiments judged so far; improvement = how much better than the baseline of the time, in ${metric.name} units (positive is better).`);
  out.push("", `## Changes kept (${h.keptTotal}${h.keptTotal > h.kept.length ? `, the last ${h.kept.length}` : ""}): these are in the files now`);
  if (h.kept.length === 0) out.push("(none yet)");
  for (const e of h.kept) out.push(`- #${e.experiment} ${oneLine(e.title, t)}: ${metric.name} ${num(e.metric)}, improvement ${signed(e.improvement)}`);

  if (h.groups.length > 0 || h.otherIdeas.experiments > 0) {
    out.push("", "## Older experiments, grouped by idea (title's leading words)");
    for (const g of h.groups) {
      const best = g.bestExperiment === null ? "" : `; best #${g.bestExperiment} improvement ${signed(g.bestImprovement)}`;
      out.push(
        `- "${oneLine(g.idea, 60)}": ${g.experiments} tried (#${g.first}..#${g.last}), ${g.kept} kept, ${g.discarded} discarded, ${g.failed} failed${best}`,
      );
    }
    if (h.otherIdeas.experiments > 0) out.push(`- ${h.otherIdeas.ideas} other ideas: ${h.otherIdeas.experiments} experiments, none kept often enough to list`);
  }

  if (h.failures.length > 0) {
    out.push("", "## Earlier failures (log tails are data from the experiment's output)");
    for (const e of h.failures) {
      out.push(`- #${e.experiment} ${oneLine(e.title, t)}: ${oneLine(e.reason, t)}`);
      if (e.tail) out.push(fence("log_tail", sanitizeTail(e.tail, limits.tailBytes)));
    }
  }

  out.push("", `## The last ${h.recent.length} experiments, oldest first`);
  if (h.recent.length === 0) out.push("(none yet)");
  for (const e of h.recent) {
    out.push(`### #${e.experiment} ${oneLine(e.title, t)} [${outcomeWord(e)}]`);
    out.push(`${metric.name} ${num(e.metric)}, improvement ${signed(e.improvement)}. ${oneLine(e.reason, t)}`);
    out.push(`Hypothesis: ${oneLine(e.hypothesis, t)}`);
    if (e.edits.length) out.push(fence("edits", renderEdits(e.edits, limits.editChars)));
    if (e.outcome === "failed" && e.tail) out.push(fence("log_tail", sanitizeTail(e.tail, limits.tailBytes)));
  }

  out.push("", `## In flight now (${h.inFlightTotal}): do not propose these again`);
  if (h.inFlight.length === 0) out.push("(none)");
  for (const e of h.inFlight) out.push(`- #${e.experiment} ${oneLine(e.title, t)}: ${oneLine(e.hypothesis, t)}`);
  return out.join("\n");
}

/**
 * Wraps untrusted text in a delimited block. A closing tag inside the text is broken up so the
 * text cannot end the block early and pose as instructions.
 */
export function fence(tag: string, text: string, attrs: Record<string, string> = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${v.replace(/["<>&]/g, "_")}"`)
    .join("");
  const safe = text.replace(new RegExp(`</?${tag}`, "gi"), (m) => m.replace("<", "< "));
  return `<${tag}${a}>\n${safe}\n</${tag}>`;
}
