/**
 * What Claude models cost and how they think. Prices are US dollars per million tokens (5-minute
 * cache writes; the prompt cache here only uses the default 5-minute lifetime), as the team knew
 * them when this table was written: they were not checked against a live price list from this
 * build environment, so verify them on Anthropic's pricing page. The config's `proposer.prices`
 * overrides any entry and prices models this table does not know.
 */
import type { ModelPrice } from "../../core/config.js";
import type { Usage } from "../../core/events.js";

/** The model the claude proposer uses when `proposer.model` is not set. */
export const DEFAULT_CLAUDE_MODEL = "claude-sonnet-5-5";

/** How a model takes the `thinking` parameter: adaptive, a manual token budget, or not at all. */
export type ThinkingMode = "adaptive" | "budget" | "none";

export interface ModelInfo {
  price: Required<ModelPrice>;
  thinking: ThinkingMode;
}

const p = (input: number, output: number, cache_write: number, cache_read: number): Required<ModelPrice> => ({ input, output, cache_write, cache_read });

const OPUS_45 = p(5, 25, 6.25, 0.5);
const SONNET_4 = p(3, 15, 3.75, 0.3);
const HAIKU_45 = p(1, 5, 1.25, 0.1);
const SONNET_5 = p(2, 10, 2.5, 0.2);
const FABLE_5 = p(10, 50, 12.5, 1);

/** Known models; dated ids share their alias's entry. */
export const MODELS: Readonly<Record<string, ModelInfo>> = {
  "claude-fable-5-1": { price: p(10, 50, 12.5, 0.25), thinking: "adaptive" },
  "claude-mythos-5-1": { price: p(10, 50, 12.5, 0.25), thinking: "adaptive" },
  "claude-fable-5": { price: FABLE_5, thinking: "adaptive" },
  "claude-mythos-5": { price: FABLE_5, thinking: "adaptive" },
  "claude-opus-5-5": { price: p(4, 20, 5, 0.2), thinking: "adaptive" },
  // Cache hits were cut from $0.20 to $0.10 (0.05 x input) on 2026-10-07.
  "claude-sonnet-5-5": { price: p(2, 10, 2.5, 0.1), thinking: "adaptive" },
  // The band for prompts up to 100,000 tokens (the proposer's prompts stay far below).
  "claude-haiku-5-5": { price: p(0.1, 0.5, 0.125, 0.01), thinking: "adaptive" },
  "claude-opus-5": { price: OPUS_45, thinking: "adaptive" },
  "claude-sonnet-5": { price: SONNET_5, thinking: "adaptive" },
  "claude-opus-4-8": { price: OPUS_45, thinking: "adaptive" },
  "claude-opus-4-7": { price: OPUS_45, thinking: "adaptive" },
  "claude-opus-4-6": { price: OPUS_45, thinking: "adaptive" },
  "claude-sonnet-4-6": { price: SONNET_4, thinking: "adaptive" },
  "claude-opus-4-5": { price: OPUS_45, thinking: "budget" },
  "claude-opus-4-5-20251101": { price: OPUS_45, thinking: "budget" },
  "claude-sonnet-4-5": { price: SONNET_4, thinking: "budget" },
  "claude-sonnet-4-5-20250929": { price: SONNET_4, thinking: "budget" },
  "claude-haiku-4-5": { price: HAIKU_45, thinking: "budget" },
  "claude-haiku-4-5-20251001": { price: HAIKU_45, thinking: "budget" },
};

/** Fills the optional cache rates with Anthropic's usual multipliers (writes 1.25x, hits 0.1x input). */
export function fullPrice(price: ModelPrice): Required<ModelPrice> {
  return { input: price.input, output: price.output, cache_write: price.cache_write ?? price.input * 1.25, cache_read: price.cache_read ?? price.input * 0.1 };
}

/**
 * The price and thinking mode of `model`: the config's price wins over the table; a model known
 * to neither is undefined (the caller refuses to spend money it cannot count). Models only the
 * config knows get no thinking parameter (their support is unknown).
 */
export function modelInfo(model: string, overrides: Readonly<Record<string, ModelPrice>> = {}): ModelInfo | undefined {
  const known = MODELS[model];
  const override = overrides[model];
  if (override) return { price: fullPrice(override), thinking: known?.thinking ?? "none" };
  return known;
}

/** Token counts the API reports (`usage` of a Messages response). */
export interface ApiUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/**
 * The cost of one response. `input_tokens` in the API's usage excludes the cached tokens, which
 * are reported (and priced) separately.
 */
export function costOf(usage: ApiUsage, price: Required<ModelPrice>): Usage {
  const u: Usage = {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_read_tokens: usage.cache_read_input_tokens ?? 0,
    cache_write_tokens: usage.cache_creation_input_tokens ?? 0,
    cost_usd: 0,
  };
  const dollars =
    (u.input_tokens * price.input + u.output_tokens * price.output + u.cache_read_tokens * price.cache_read + u.cache_write_tokens * price.cache_write) / 1e6;
  // Rounded to a millionth of a cent so sums in the ledger stay readable.
  u.cost_usd = Math.round(dollars * 1e8) / 1e8;
  return u;
}
