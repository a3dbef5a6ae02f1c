/**
 * The offline `mutate` proposer: a (1+1)-evolution strategy over the knobs of the editable files
 * (top-level numeric constants, and the call arguments `proposer.knobs` lists; never those
 * `proposer.exclude` lists). Each proposal changes one or two knobs by a multiplicative log-normal
 * step. Step sizes follow the 1/5 success rule per knob and the preferred direction follows the
 * last kept change (momentum). It holds no state: everything it knows is replayed from
 * `ctx.history` (each experiment's `meta.mutations` and outcome), so it survives restarts, and the
 * same context always gives the same proposal.
 */

import type { Edit } from "../core/events.js";
import { ProposerError } from "../errors.js";
import type { ExperimentSummary, Proposal, ProposalContext, Proposer } from "../ports.js";
import { findAllKnobs, formatValue, type Knob, parseLiteral, selectKnobs } from "./knobs.js";
import { createRng, type Rng } from "./rng.js";

/** One knob change, as stored in `meta.mutations` and read back from the history. */
export interface Mutation {
  file: string;
  name: string;
  from: number;
  to: number;
}

/** Initial log-space step size: a typical first change is a factor of about e^1 = 2.7, as a person would first try (the demo reaches its first keeps within a few experiments). */
export const SIGMA0 = 1.0;
export const SIGMA_MIN = 0.05;
export const SIGMA_MAX = 2.0;
/**
 * 1/5 success rule: a keep multiplies sigma by exp(0.8 / DAMPING), a discard or failure by
 * exp(-0.2 / DAMPING), so sigma is stable when one change in five is kept.
 */
export const TARGET_SUCCESS = 0.2;
export const DAMPING = 2;
/** Probability of changing two knobs at once instead of one. */
export const P_TWO_KNOBS = 0.3;
/** Probability of the momentum direction when the last kept change of a knob had one. */
export const P_MOMENTUM = 0.8;

/** What the history says about one knob. */
export interface KnobRecord {
  /** "file\0name". */
  key: string;
  sigma: number;
  keeps: number;
  /** Judged tries (keep, discard or failed). */
  tries: Array<{ experiment: number; from: number; to: number; outcome: ExperimentSummary["outcome"]; metric: number | null }>;
  /** +1 if the last kept change went up, -1 if down, 0 if none was kept. */
  momentum: -1 | 0 | 1;
}

export function knobKey(file: string, name: string): string {
  return `${file}\0${name}`;
}

/** The mutations recorded in an experiment's meta; [] for experiments of other proposers or bad data. */
export function mutationsOf(meta: Record<string, unknown> | undefined): Mutation[] {
  const list = meta?.mutations;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (m): m is Mutation =>
      typeof m === "object" &&
      m !== null &&
      typeof (m as Mutation).file === "string" &&
      typeof (m as Mutation).name === "string" &&
      Number.isFinite((m as Mutation).from) &&
      Number.isFinite((m as Mutation).to),
  );
}

function clampSigma(s: number): number {
  return Math.min(SIGMA_MAX, Math.max(SIGMA_MIN, s));
}

/** Replays the judged history (oldest first) into per-knob step sizes, success counts and momentum. */
export function replayKnobStats(history: readonly ExperimentSummary[]): Map<string, KnobRecord> {
  const stats = new Map<string, KnobRecord>();
  for (const exp of history) {
    if (exp.outcome === "running") continue;
    const kept = exp.outcome === "keep";
    for (const m of mutationsOf(exp.meta)) {
      const key = knobKey(m.file, m.name);
      const rec = stats.get(key) ?? { key, sigma: SIGMA0, keeps: 0, tries: [], momentum: 0 };
      rec.tries.push({ experiment: exp.experiment, from: m.from, to: m.to, outcome: exp.outcome, metric: exp.metric });
      const success = kept ? 1 : 0;
      rec.sigma = clampSigma(rec.sigma * Math.exp((success - TARGET_SUCCESS) / (1 - TARGET_SUCCESS) / DAMPING));
      if (kept) {
        rec.keeps++;
        if (m.to !== m.from) rec.momentum = m.to > m.from ? 1 : -1;
      }
      stats.set(key, rec);
    }
  }
  return stats;
}

function emptyRecord(knob: Knob): KnobRecord {
  return { key: knobKey(knob.file, knob.name), sigma: SIGMA0, keeps: 0, tries: [], momentum: 0 };
}

/** Laplace-smoothed success rate: untried knobs get 0.5, knobs that keep failing fade but never reach 0. */
export function knobWeight(rec: KnobRecord): number {
  return (rec.keeps + 1) / (rec.tries.length + 2);
}

/** Probability of moving the value up, with the reason for the trace. */
export function upProbability(knob: Knob, rec: KnobRecord): { p: number; why: string } {
  const fromHere = rec.tries.filter((t) => t.from === knob.value && t.outcome !== "keep");
  const upFailed = fromHere.some((t) => t.to > t.from);
  const downFailed = fromHere.some((t) => t.to < t.from);
  if (upFailed && !downFailed) return { p: 1 - P_MOMENTUM, why: `going up from ${knob.literal} was already tried and not kept` };
  if (downFailed && !upFailed) return { p: P_MOMENTUM, why: `going down from ${knob.literal} was already tried and not kept` };
  if (rec.momentum !== 0) {
    const dir = rec.momentum > 0 ? "up" : "down";
    return { p: rec.momentum > 0 ? P_MOMENTUM : 1 - P_MOMENTUM, why: `momentum: the last kept change of this knob went ${dir}` };
  }
  // Constants set to 0 are usually non-negative (decay, dropout, warmup): try positive first.
  if (knob.value === 0) return { p: 0.75, why: "the value is 0 and such constants are usually non-negative" };
  return { p: 0.5, why: "no evidence yet, either way" };
}

interface Draw {
  to: number;
  literal: string;
  dir: 1 | -1;
  logStep: number;
}

/** One candidate value for a knob, or undefined when the draw collapsed onto the current value. */
function drawValue(knob: Knob, sigma: number, pUp: number, rng: Rng, precision: number): Draw | undefined {
  let dir: 1 | -1 = rng.uniform() < pUp ? 1 : -1;
  // Never a negligible step: at least a fifth of sigma.
  const mag = sigma * Math.max(0.2, Math.min(3, Math.abs(rng.normal())));
  const from = knob.value;
  let raw: number;
  if (from === 0) {
    // No scale to multiply: an additive step, one unit for integers, 1e-4..1e-1 for floats.
    raw = knob.isInt ? dir * Math.max(1, Math.round(mag * 2)) : dir * 10 ** (-4 + 3 * rng.uniform());
  } else {
    raw = from * Math.exp(dir * Math.sign(from) * mag);
  }
  if (knob.isInt && from !== 0) {
    let to = Math.abs(raw) >= 100 ? Math.round(Number(raw.toPrecision(2))) : Math.round(raw);
    if (to === from) to = Math.round(raw);
    if (to === from) to = from + dir;
    if (from >= 1) to = Math.max(1, to);
    if (from <= -1) to = Math.min(-1, to);
    if (to === from) {
      // Clamped at 1 (or -1): the only way is the other direction.
      dir = dir === 1 ? -1 : 1;
      to = from + dir;
    }
    raw = to;
  }
  const literal = formatValue(raw, knob, precision);
  const to = parseLiteral(literal).value;
  if (to === from || !Number.isFinite(to)) return undefined;
  return { to, literal, dir: to > from ? 1 : -1, logStep: from !== 0 && to !== 0 ? Math.log(to / from) : 0 };
}

function triedKey(m: Mutation): string {
  return `${knobKey(m.file, m.name)}\0${m.from}\0${m.to}`;
}

function countOccurrences(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

/**
 * Edits that turn `content` into the content with the given lines replaced: one replace edit per
 * line (its whole original line, widened by neighbouring lines until it is unique), checked by
 * applying them in order; a whole-file write when that does not work out.
 */
export function lineEdits(path: string, content: string, changes: ReadonlyMap<number, string>): Edit[] {
  const lines = content.split("\n");
  const target = lines.map((l, i) => {
    const c = changes.get(i);
    return c === undefined ? l : l.endsWith("\r") ? `${c}\r` : c;
  });
  const expected = target.join("\n");
  const edits: Edit[] = [];
  for (const [index] of [...changes].sort((a, b) => a[0] - b[0])) {
    let found: Edit | undefined;
    for (let radius = 0; radius <= 3 && !found; radius++) {
      for (const [before, after] of [
        [radius, radius],
        [radius, radius + 1],
        [radius + 1, radius],
      ] as const) {
        const lo = Math.max(0, index - before);
        const hi = Math.min(lines.length - 1, index + after);
        const search = lines.slice(lo, hi + 1).join("\n");
        if (search.trim() !== "" && countOccurrences(content, search) === 1) {
          found = { kind: "replace", path, search, replace: target.slice(lo, hi + 1).join("\n") };
          break;
        }
      }
    }
    if (!found) return [{ kind: "write", path, content: expected }];
    edits.push(found);
  }
  let applied = content;
  for (const e of edits) {
    if (e.kind !== "replace" || countOccurrences(applied, e.search) !== 1) return [{ kind: "write", path, content: expected }];
    const at = applied.indexOf(e.search);
    applied = applied.slice(0, at) + e.replace + applied.slice(at + e.search.length);
  }
  return applied === expected ? edits : [{ kind: "write", path, content: expected }];
}

function fmt(n: number): string {
  return Number(n.toPrecision(4)).toString();
}

function outcomeMark(outcome: ExperimentSummary["outcome"]): string {
  return outcome === "keep" ? "kept" : outcome === "failed" ? "failed" : outcome === "discard" ? "discarded" : "in flight";
}

interface Chosen {
  knob: Knob;
  rec: KnobRecord;
  weight: number;
  draw: Draw;
  direction: { p: number; why: string };
  collisions: number;
}

/** Options of the mutate proposer; none are needed today. */
export type MutateOptions = Record<string, never>;

/** The offline proposer; see the module comment. */
export class MutateProposer implements Proposer {
  async propose(ctx: ProposalContext): Promise<Proposal> {
    return proposeMutation(ctx);
  }
}

export function createMutateProposer(_opts: MutateOptions = {}): Proposer {
  return new MutateProposer();
}

/** The proposal for a context: pure and deterministic. */
export function proposeMutation(ctx: ProposalContext): Proposal {
  const paths = Object.keys(ctx.files).sort();
  const knobs = selectKnobs(findAllKnobs(ctx.files), ctx.config.proposer.knobs, paths, ctx.config.proposer.exclude ?? []);
  const stats = replayKnobStats(ctx.history);
  const tried = new Set<string>();
  for (const exp of [...ctx.history, ...ctx.inFlight]) for (const m of mutationsOf(exp.meta)) tried.add(triedKey(m));

  // The feedback count is in the seed so that a retry after a rejected edit draws anew.
  const seedText = `${ctx.config.proposer.seed}:${ctx.campaign}:${ctx.experiment}:${ctx.feedback.length}`;
  const rng = createRng(seedText);
  const count = knobs.length >= 2 && rng.uniform() < P_TWO_KNOBS ? 2 : 1;

  const pool = knobs.map((knob) => {
    const rec = stats.get(knobKey(knob.file, knob.name)) ?? emptyRecord(knob);
    return { knob, rec, weight: knobWeight(rec) };
  });
  const totalWeight = pool.reduce((s, p) => s + p.weight, 0);
  const chosen: Chosen[] = [];
  while (chosen.length < count && pool.length > 0) {
    const [pick] = pool.splice(rng.weighted(pool.map((p) => p.weight)), 1);
    if (!pick) break;
    const direction = upProbability(pick.knob, pick.rec);
    let draw: Draw | undefined;
    let collisions = 0;
    // Redraw values already tried (judged or in flight) from this same starting value.
    for (let attempt = 0; attempt < 40; attempt++) {
      const precision = 2 + Math.min(2, Math.floor(attempt / 10));
      const d = drawValue(pick.knob, pick.rec.sigma, direction.p, rng, precision);
      if (!d) continue;
      draw = d;
      if (!tried.has(triedKey({ file: pick.knob.file, name: pick.knob.name, from: pick.knob.value, to: d.to }))) break;
      collisions++;
    }
    if (draw) chosen.push({ ...pick, draw, direction, collisions });
  }
  if (chosen.length === 0) {
    throw new ProposerError(`mutate could not find a new value for ${knobs.map((k) => k.name).join(", ")}`);
  }

  const mutations: Mutation[] = chosen.map((c) => ({ file: c.knob.file, name: c.knob.name, from: c.knob.value, to: c.draw.to }));
  const edits: Edit[] = [];
  for (const path of paths) {
    // Two knobs may share a line (`AdamW(p, lr=3e-4, weight_decay=0.1)`): replace right to left.
    const changes = new Map<number, string>();
    const here = chosen.filter((c) => c.knob.file === path).sort((a, b) => a.knob.line - b.knob.line || b.knob.column - a.knob.column);
    for (const c of here) {
      const text = changes.get(c.knob.line - 1) ?? c.knob.text;
      changes.set(c.knob.line - 1, text.slice(0, c.knob.column) + c.draw.literal + text.slice(c.knob.column + c.knob.literal.length));
    }
    if (changes.size > 0) edits.push(...lineEdits(path, ctx.files[path] ?? "", changes));
  }

  const ambiguous = (k: Knob) => knobs.some((o) => o.name === k.name && o.file !== k.file);
  const label = (k: Knob) => (ambiguous(k) ? `${k.file}:${k.name}` : k.name);
  const title = chosen.map((c) => `${label(c.knob)} ${c.knob.literal} -> ${c.draw.literal}`).join(", ");
  const metric = ctx.config.metric;
  const better = metric.goal === "minimize" ? "lowers" : "raises";
  const hypothesis = `${chosen
    .map((c) => `${c.draw.dir > 0 ? "raising" : "lowering"} ${label(c.knob)} from ${c.knob.literal} to ${c.draw.literal}`)
    .join(" and ")
    .replace(/^./, (s) => s.toUpperCase())} ${better} ${metric.name}.`;

  return {
    title,
    hypothesis,
    edits,
    trace: renderTrace(ctx, knobs, chosen, totalWeight, seedText, label),
    meta: { mutations: chosen.map((c, i) => ({ ...mutations[i], sigma: Number(c.rec.sigma.toFixed(4)) })) },
  };
}

function renderTrace(
  ctx: ProposalContext,
  knobs: readonly Knob[],
  chosen: readonly Chosen[],
  totalWeight: number,
  seedText: string,
  label: (k: Knob) => string,
): string {
  const out: string[] = [];
  out.push(`## mutate: experiment ${ctx.experiment}`, "");
  out.push(
    `Tuning ${knobs.length} knob${knobs.length === 1 ? "" : "s"} (${knobs.map(label).join(", ")}); ` +
      `${chosen.length} changed this time (two at once with probability ${P_TWO_KNOBS}). Random seed \`${seedText}\`.`,
    "",
  );
  for (const c of chosen) {
    const { knob, rec, draw } = c;
    out.push(`### ${label(knob)} (${knob.file}:${knob.line})`, "");
    const record = rec.tries.length === 0 ? "never tried yet" : `${rec.keeps} kept of ${rec.tries.length} tried`;
    out.push(`- **Why this knob:** drawn with weight ${fmt(c.weight)} of ${fmt(totalWeight)} (${record}; weight = (kept + 1) / (tried + 2)).`);
    const successes = rec.tries.map((t) => (t.outcome === "keep" ? "+" : "-")).join("");
    out.push(
      `- **Step size:** sigma ${fmt(rec.sigma)} in log space (starts at ${SIGMA0}; each keep multiplies it by ${fmt(Math.exp(1 / DAMPING))}, ` +
        `each discard by ${fmt(Math.exp(-TARGET_SUCCESS / (1 - TARGET_SUCCESS) / DAMPING))}, the 1/5 success rule` +
        `${successes ? `; record ${successes}` : ""}).`,
    );
    out.push(`- **Direction:** ${draw.dir > 0 ? "up" : "down"} (P(up) = ${fmt(c.direction.p)}: ${c.direction.why}).`);
    const step = knob.value === 0 ? "an additive step from 0" : `x${fmt(draw.to / knob.value)}, log step ${draw.logStep >= 0 ? "+" : ""}${fmt(draw.logStep)}`;
    out.push(`- **Change:** \`${knob.text.trim()}\` -> ${draw.literal} (${step}).`);
    if (c.collisions > 0) out.push(`- Redrew ${c.collisions} value${c.collisions === 1 ? "" : "s"} that had already been tried from ${knob.literal}.`);
    const before = rec.tries.map(
      (t) =>
        `#${t.experiment} ${fmt(t.from)} -> ${fmt(t.to)} ${outcomeMark(t.outcome)}${t.metric === null ? "" : ` (${ctx.config.metric.name} ${fmt(t.metric)})`}`,
    );
    const pending = ctx.inFlight.flatMap((e) =>
      mutationsOf(e.meta)
        .filter((m) => m.file === knob.file && m.name === knob.name)
        .map((m) => `#${e.experiment} ${fmt(m.from)} -> ${fmt(m.to)} in flight`),
    );
    const all = [...before, ...pending];
    out.push(`- **Tried before:** ${all.length === 0 ? "nothing" : all.join("; ")}.`, "");
  }
  return out.join("\n");
}
