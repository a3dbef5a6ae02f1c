/**
 * The claude proposer's prompt size and local overhead, no network.
 *
 * A synthetic ledger of N experiments on the tiny-regression example (its train.mjs is the
 * editable file): six idea families with numbered variants, one experiment in seven crashing with
 * a 6 KB log tail, one in ten kept, two in flight. The ledger is folded and turned into a proposal
 * context exactly as the engine does (src/core/context.ts), then into the Messages API request.
 *
 * - prompt_tokens_at_1000_experiments: JSON size of that request (system, tools, first user message)
 *   at N = 1,000, at 4 characters per token; `growth_100_to_1000` compares it with N = 100.
 * - proposal_overhead_ms: one proposal at N = 1,000 through ClaudeProposer.propose with a client
 *   that answers at once (a read_file turn, then a submission): building both requests, the tools,
 *   zod validation of the reply, applying its edits, the trace. Median of OVERHEAD_REPEATS.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type Anthropic from "@anthropic-ai/sdk";
import { proposalContext } from "../src/core/context.js";
import { type LedgerEvent, type NewEventInput, stamp } from "../src/core/events.js";
import { fold } from "../src/core/state.js";
import type { ProposalContext } from "../src/ports.js";
import { firstUserText } from "../src/proposers/claude/prompt.js";
import { ClaudeProposer } from "../src/proposers/claude.js";
import { type BenchResult, round } from "./result.js";

const CHARS_PER_TOKEN = 4;
const OVERHEAD_REPEATS = 21;
const IDEAS = ["Raise learning rate", "Lower weight decay", "Widen hidden layer", "Add warmup steps", "Change batch size", "Scale init"];

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

async function exampleFiles(): Promise<Record<string, string>> {
  return { "train.mjs": await readFile(join(root, "examples", "tiny-regression", "train.mjs"), "utf8") };
}

const config = {
  metric: { name: "val_loss", goal: "minimize" },
  run: "node train.mjs",
  eval: "node eval.mjs",
  editable: ["train.mjs"],
  budget: { max_experiments: 5000, max_cost_usd: 1000, parallel: 2 },
  proposer: { kind: "claude" },
};

/** The ledger of a campaign with `n` judged experiments and two in flight. */
export function syntheticLedger(n: number): LedgerEvent[] {
  const ev: NewEventInput[] = [
    { type: "campaign_started", campaign: "1", config, base_commit: "c0", goal: "Lower val_loss of the tiny regression within the time box.", source: "cli" },
    { type: "run_started", experiment: 0, commit: "c0", seed: 1 },
    { type: "run_finished", experiment: 0, commit: "c0", seed: 1, status: "ok", metric: 1, seconds: 1, exit_code: 0 },
    {
      type: "experiment_judged",
      experiment: 0,
      commit: "c0",
      verdict: "keep",
      reason: "baseline",
      baseline_mean: 1,
      candidate_mean: 1,
      improvement: 0,
      p_value: null,
    },
  ];
  let best = "c0";
  for (let k = 1; k <= n + 2; k++) {
    const commit = `c${k}`;
    const idea = IDEAS[k % IDEAS.length];
    ev.push({ type: "experiment_requested", experiment: k, parent: best });
    ev.push({
      type: "experiment_proposed",
      experiment: k,
      parent: best,
      commit,
      branch: `autoresearch/1/${k}`,
      title: `${idea} (variant ${k})`,
      hypothesis: `Variant ${k} of "${idea}": the training curve suggests the current setting is off by a factor of about ${1 + (k % 5) / 10}; ${"this should lower the loss. ".repeat(6)}`,
      edits: [{ kind: "replace", path: "train.mjs", search: `const KNOB_${k % 6} = ${k - 1};`, replace: `const KNOB_${k % 6} = ${k};` }],
      diff: `-const KNOB_${k % 6} = ${k - 1};\n+const KNOB_${k % 6} = ${k};`,
      lines_added: 1,
      lines_removed: 1,
    });
    if (k > n) continue; // in flight
    const crashed = k % 7 === 0;
    ev.push({ type: "run_started", experiment: k, commit, seed: 1 });
    ev.push({
      type: "run_finished",
      experiment: k,
      commit,
      seed: 1,
      status: crashed ? "crash" : "ok",
      metric: crashed ? null : 1 - (k % 13) / 100,
      seconds: 2,
      exit_code: crashed ? 1 : 0,
      reason: crashed ? "exit code 1" : "",
      tail: crashed ? `${"  at train (train.mjs:42:7)\n".repeat(220)}RangeError: invalid array length` : "",
    });
    const keep = !crashed && k % 10 === 0;
    ev.push({
      type: "experiment_judged",
      experiment: k,
      commit,
      verdict: keep ? "keep" : "discard",
      reason: crashed ? "run (seed 1) crashed: exit code 1" : keep ? "better beyond the noise" : "not better",
      baseline_mean: 1,
      candidate_mean: crashed ? null : 1 - (k % 13) / 100,
      improvement: crashed ? null : (k % 13) / 100,
      p_value: null,
    });
    if (keep) best = commit;
  }
  return stamp(ev, 0, new Date("2026-01-01T00:00:00Z"));
}

function contextAt(n: number, files: Record<string, string>): ProposalContext {
  const s = fold(syntheticLedger(n));
  return proposalContext(s, n + 3, s.best.commit, files);
}

function requestChars(p: ClaudeProposer, ctx: ProposalContext): number {
  return JSON.stringify(p.request(ctx, [{ role: "user", content: [{ type: "text", text: firstUserText(ctx) }] }])).length;
}

/** A client that answers at once: a read_file call, then a submission that applies. */
function instantClient(files: Record<string, string>): Anthropic {
  const line = (files["train.mjs"] ?? "").split("\n").find((l) => /^const [A-Z_]+ = /.test(l)) ?? "";
  const usage = { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 5000, cache_creation_input_tokens: 0 };
  let turn = 0;
  const reply = (content: unknown[]) => ({
    id: "m",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-5-5",
    content,
    stop_reason: "tool_use",
    stop_sequence: null,
    usage,
  });
  return {
    messages: {
      create: async () =>
        turn++ % 2 === 0
          ? reply([
              { type: "thinking", thinking: "Look at the file.", signature: "s" },
              { type: "tool_use", id: "t1", name: "read_file", input: { path: "train.mjs" } },
            ])
          : reply([
              {
                type: "tool_use",
                id: "t2",
                name: "submit_experiment",
                input: {
                  title: "Change the first constant",
                  hypothesis: "A benchmark submission that applies.",
                  expected_effect: "none",
                  edits: [{ kind: "replace", path: "train.mjs", search: line, replace: `${line} // changed` }],
                },
              },
            ]),
    },
  } as unknown as Anthropic;
}

export async function proposerBenchmarks(): Promise<BenchResult[]> {
  const files = await exampleFiles();
  const ctx100 = contextAt(100, files);
  const ctx1000 = contextAt(1000, files);
  const p = new ClaudeProposer({ config: ctx1000.config, apiKey: "bench-no-key" });
  const tokens100 = requestChars(p, ctx100) / CHARS_PER_TOKEN;
  const tokens1000 = requestChars(p, ctx1000) / CHARS_PER_TOKEN;
  const growth = tokens1000 / tokens100 - 1;

  const ctx = { ...ctx1000, readFile: async (path: string) => files[path], listFiles: async () => Object.keys(files) };
  const times: number[] = [];
  for (let i = 0; i < OVERHEAD_REPEATS; i++) {
    const fast = new ClaudeProposer({ config: ctx1000.config, apiKey: "bench-no-key", client: instantClient(files) });
    const t = performance.now();
    const proposal = await fast.propose(ctx);
    times.push(performance.now() - t);
    if (proposal.edits.length !== 1) throw new Error("the benchmark reply did not apply");
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? Number.NaN;

  return [
    {
      name: "prompt_tokens_at_1000_experiments",
      value: Math.round(tokens1000),
      unit: "tokens",
      better: "lower",
      goal: "<= 30000, growth from 100 <= 20%",
      pass: tokens1000 <= 30_000 && growth <= 0.2,
      tokens_at_100: Math.round(tokens100),
      growth_100_to_1000: round(growth, 3),
      chars_per_token: CHARS_PER_TOKEN,
    },
    {
      name: "proposal_overhead_ms",
      value: round(median, 3),
      unit: "ms",
      better: "lower",
      note: "one proposal at 1,000 experiments, two turns (read_file, submit), instant API",
      repeats: OVERHEAD_REPEATS,
      max_ms: round(times.at(-1) ?? Number.NaN, 3),
    },
  ];
}
