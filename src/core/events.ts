/**
 * Ledger events: the append-only record of a campaign. One zod discriminated union; every line
 * carries a format version, a sequence number and a timestamp. `state = fold(events)`.
 */
import { z } from "zod";

export const LEDGER_VERSION = 1;

/** One edit a proposal makes: replace text that occurs exactly once, or write a whole file. */
export const EditSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("replace"),
    path: z.string().describe("Repository-relative path."),
    search: z.string().min(1).describe("Text that must occur exactly once in the file."),
    replace: z.string().describe("Replacement text."),
  }),
  z.strictObject({
    kind: z.literal("write"),
    path: z.string().describe("Repository-relative path."),
    content: z.string().describe("The whole new content of the file."),
  }),
]);
export type Edit = z.infer<typeof EditSchema>;

/**
 * Why a run produced no usable metric, or "ok". `cancelled`: stopped by the user or a restart, the
 * seed is run again; `lost`: no result arrived within its lease, twice (a run that never started or
 * whose result was lost), a failed run like a crash.
 */
export const RunStatusSchema = z.enum(["ok", "crash", "timeout", "no_metric", "non_finite", "rejected", "cancelled", "lost"]);
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** How far a run was kept from the machine (src/runner/isolation.ts says what each level holds). */
export const IsolationLevelSchema = z.enum(["sandbox", "user", "process", "none"]);
export type IsolationLevel = z.infer<typeof IsolationLevelSchema>;

export const UsageSchema = z.strictObject({
  input_tokens: z.number().int().min(0).default(0),
  output_tokens: z.number().int().min(0).default(0),
  cache_read_tokens: z.number().int().min(0).default(0),
  cache_write_tokens: z.number().int().min(0).default(0),
  cost_usd: z.number().min(0).default(0),
});
export type Usage = z.infer<typeof UsageSchema>;

export const ZERO_USAGE: Usage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cost_usd: 0 };

/** Adds two usages; the cost is rounded to a millionth of a cent so sums in the ledger stay readable. */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
    cost_usd: Math.round((a.cost_usd + b.cost_usd) * 1e8) / 1e8,
  };
}

/** Values of the guard metrics a run printed, by guard name (a run whose guard could not be read failed). */
export const GuardValuesSchema = z.record(z.string(), z.number()).describe("Guard metric values of the run, by guard name.");

/** How one guard compared on a candidate's paired seeds, as the verdict records it. */
export const GuardCheckSchema = z.strictObject({
  name: z.string(),
  best: z.number().describe("The best's mean of the guard over the paired seeds."),
  candidate: z.number().describe("The candidate's mean of the guard over the same seeds."),
  worse_by: z.number().describe("How much worse the candidate is, in the guard's units (negative: better)."),
  tolerance: z.number().min(0).describe("How much worse it may be, in the guard's units."),
  p_value: z.number().nullable().describe("One-sided p-value that it is worse by more than the tolerance."),
  ok: z.boolean().describe("False when the test shows it worse beyond its tolerance: the candidate is discarded."),
});
export type GuardCheck = z.infer<typeof GuardCheckSchema>;

/** Where the judge compares values: metric units or their logarithm. */
export const ScaleSchema = z.enum(["linear", "log"]);
export type Scale = z.infer<typeof ScaleSchema>;

/** Lines of code a change adds and removes, blank and comment-only lines not counted (prefer_simpler). */
export const CodeLinesSchema = z.strictObject({ added: z.number().int().min(0), removed: z.number().int().min(0) });
export type CodeLines = z.infer<typeof CodeLinesSchema>;

const base = {
  v: z.literal(LEDGER_VERSION).describe("Ledger format version."),
  seq: z.number().int().min(1).describe("1-based position in the ledger."),
  at: z.string().describe("ISO 8601 time of the event."),
};

/** Budget keys as written in the configuration (validated again when folded). */
const BudgetChangeSchema = z.record(z.string(), z.unknown()).describe("budget keys and their new values, as written in the configuration");

/** When work handed to another process counts as lost (ISO 8601); absent: only a restart loses it. */
const LeaseSchema = z.string().optional().describe("Deadline of the lease: past it, with no result, the work is handed out again once, then counted as lost.");

export const LedgerEventSchema = z.discriminatedUnion("type", [
  z.strictObject({
    ...base,
    type: z.literal("campaign_started"),
    campaign: z.string().describe("Campaign id (an issue number on GitHub, a counter locally)."),
    config: z.unknown().describe("The configuration as written (validated again on fold)."),
    base_commit: z.string().describe("The commit the campaign starts from; experiment 0 measures it."),
    goal: z.string().describe("What to improve, in the user's words (issue text or CLI goal)."),
    source: z.enum(["cli", "demo", "label", "schedule", "dispatch"]),
  }),
  z.strictObject({
    ...base,
    type: z.literal("experiment_requested"),
    experiment: z.number().int().min(1),
    parent: z.string().describe("The campaign's best commit when the proposal was asked for."),
    reserved_usd: z.number().min(0).optional().describe("LLM spend reserved for this proposal; counted as spent if the proposal never reports."),
    lease_until: LeaseSchema,
  }),
  z.strictObject({
    ...base,
    type: z.literal("experiment_proposed"),
    experiment: z.number().int().min(1),
    parent: z.string(),
    commit: z.string(),
    branch: z.string(),
    title: z.string(),
    hypothesis: z.string(),
    edits: z.array(EditSchema),
    diff: z.string().describe("Unified diff against the parent (bounded)."),
    lines_added: z.number().int().min(0),
    lines_removed: z.number().int().min(0),
    code_lines: CodeLinesSchema.optional(),
    trace_file: z.string().optional().describe("Where the full trace is stored, relative to the campaign folder."),
    meta: z.record(z.string(), z.unknown()).default({}).describe("Proposer-specific data it needs to read back (mutate: the mutations)."),
    usage: UsageSchema.optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("proposal_failed"),
    experiment: z.number().int().min(1),
    reason: z.string(),
    usage: UsageSchema.optional(),
    fatal: z.boolean().optional().describe("The proposer cannot work at all (no API key, nothing to tune): the campaign stops."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("proposal_interrupted"),
    experiment: z.number().int().min(1),
    reason: z.string(),
    usage: UsageSchema.optional().describe("What the interrupted proposal spent; replaces its reservation."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("run_started"),
    experiment: z.number().int().min(0),
    commit: z.string(),
    seed: z.number().int(),
    lease_until: LeaseSchema,
  }),
  z.strictObject({
    ...base,
    type: z.literal("runs_dispatched"),
    experiment: z.number().int().min(0),
    commit: z.string(),
    seeds: z.array(z.number().int()).describe("The seeds the dispatch runs (one job each)."),
    run_id: z.number().int().describe("The workflow run GitHub made for the dispatch: its result is read for these seeds only."),
    url: z.string().optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("run_finished"),
    experiment: z.number().int().min(0),
    commit: z.string(),
    seed: z.number().int(),
    status: RunStatusSchema,
    metric: z.number().nullable(),
    seconds: z.number().min(0),
    exit_code: z.number().int().nullable(),
    reason: z.string().default(""),
    tail: z.string().default("").describe("Bounded, sanitized end of the run's output."),
    guards: GuardValuesSchema.optional(),
    url: z.string().optional().describe("Where the run can be seen (GitHub: the workflow run's page), when known."),
    isolation: IsolationLevelSchema.optional().describe("The isolation the run had; absent in ledgers written before it was recorded."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("experiment_rebased"),
    experiment: z.number().int().min(1),
    parent: z.string().describe("The new best commit the edits were re-applied on."),
    commit: z.string(),
    diff: z.string(),
    lines_added: z.number().int().min(0),
    lines_removed: z.number().int().min(0),
    code_lines: CodeLinesSchema.optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("rebase_conflicted"),
    experiment: z.number().int().min(1),
    onto: z.string().describe("The best commit the candidate's change could not be merged onto."),
    conflicts: z.array(z.string()).describe("Paths git's three-way merge could not resolve."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("experiment_judged"),
    experiment: z.number().int().min(0),
    commit: z.string(),
    verdict: z.enum(["keep", "discard"]),
    reason: z.string(),
    baseline_mean: z.number().nullable(),
    candidate_mean: z.number().nullable(),
    improvement: z.number().nullable().describe("Baseline mean minus candidate mean, sign flipped for maximize."),
    p_value: z.number().nullable(),
    pairs: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Seeds on which both the candidate and the best it was compared with have a result (the means are over these)."),
    guards: z.array(GuardCheckSchema).optional().describe("How each guard metric compared on those seeds."),
    supersedes: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("A keep that replaces the best as a whole (its change conflicted with the best's): the experiment whose keep it supersedes."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("judging_changed"),
    scale: ScaleSchema.describe("Where the noise is pooled and the test made from now on."),
    deterministic: z.boolean().describe("True while every repeated measurement has been identical: one run per candidate."),
    reason: z.string(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("confirmation_requested"),
    reason: z.string().describe("Who asked (autoresearch confirm) for a confirmation of a finished campaign."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("confirmation_started"),
    base_commit: z.string(),
    best_commit: z.string(),
    best_experiment: z.number().int().min(1),
    seeds: z.array(z.number().int()).min(1).describe("Fresh seeds, on neither commit before: each runs on both, interleaved."),
    reason: z.string(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("confirmation_judged"),
    best_commit: z.string(),
    confirmed: z.boolean().describe("True when a paired one-sided test at accept.confidence shows the best better than the base."),
    pairs: z.number().int().min(0).describe("Seeds with a result on both commits."),
    base_mean: z.number().nullable(),
    best_mean: z.number().nullable().describe("Means over the paired seeds (geometric on the log scale)."),
    change_pct: z.number().nullable().describe("Change of the best from the base, in percent of the base (negative: lower)."),
    interval_pct: z
      .tuple([z.number(), z.number()])
      .nullable()
      .describe("Two-sided interval of change_pct at 1 - 2 * (1 - confidence): its end nearer no change is the one-sided bound of the test."),
    p_value: z.number().nullable(),
    scale: ScaleSchema,
    reason: z.string(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("campaign_paused"),
    reason: z.string().describe("Who or what paused it; nothing new starts until campaign_resumed."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("campaign_resumed"),
    reason: z.string().default("resumed"),
    restart: z
      .boolean()
      .default(true)
      .describe("True when the process that held the work in flight is gone (a CLI restart): its runs are run again and its proposals asked for again."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("budget_changed"),
    budget: BudgetChangeSchema,
    reason: z.string().default(""),
  }),
  z.strictObject({
    ...base,
    type: z.literal("instructions_added"),
    text: z.string().describe("More instructions for the proposer, from a maintainer (data, not rules)."),
    by: z.string().default("").describe("Who added them."),
    comment_id: z.number().int().optional().describe("The comment that gave them (GitHub), so a redelivered comment adds nothing."),
  }),
  z.strictObject({
    ...base,
    type: z.literal("published"),
    channel: z.enum(["status_comment", "pull_request"]).describe("What was published: the status comment on the tracking issue, or the pull request."),
    id: z.number().int().describe("The comment id, or the pull request number."),
    url: z.string(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("campaign_stopped"),
    reason: z.string(),
  }),
]);
export type LedgerEvent = z.infer<typeof LedgerEventSchema>;
export type LedgerEventType = LedgerEvent["type"];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the store numbers and timestamps it. */
export type NewEvent = DistributiveOmit<LedgerEvent, "v" | "seq" | "at">;
/** Input form (defaults optional) of an event without its envelope. */
export type NewEventInput = DistributiveOmit<z.input<typeof LedgerEventSchema>, "v" | "seq" | "at">;

/** A line of the ledger that could not be read; reported, never silently dropped. */
export interface LedgerProblem {
  line: number;
  message: string;
  text: string;
}

/** Parses JSON Lines text into events and problems (line numbers are 1-based). */
export function parseLedger(text: string): { events: LedgerEvent[]; problems: LedgerProblem[] } {
  const events: LedgerEvent[] = [];
  const problems: LedgerProblem[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      problems.push({ line: i + 1, message: "not valid JSON", text: raw.slice(0, 200) });
      return;
    }
    const r = LedgerEventSchema.safeParse(json);
    if (!r.success) {
      const first = r.error.issues[0];
      problems.push({ line: i + 1, message: `not a known event: ${first ? `${first.path.join(".")} ${first.message}` : "invalid"}`, text: raw.slice(0, 200) });
      return;
    }
    events.push(r.data);
  });
  return { events, problems };
}

/** Numbers and timestamps new events after `lastSeq`. */
export function stamp(events: NewEventInput[], lastSeq: number, now: Date): LedgerEvent[] {
  return events.map((e, i) => LedgerEventSchema.parse({ ...e, v: LEDGER_VERSION, seq: lastSeq + i + 1, at: now.toISOString() }));
}
