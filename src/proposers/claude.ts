/**
 * The `claude` proposer: an LLM agent behind the Proposer port. Each proposal is a bounded tool
 * loop (read_file, list_files, submit_experiment) over a prompt whose stable prefix (rules, goal,
 * editable files) is cached. The budget is checked before every call, each response's usage is
 * priced, API overload is retried with backoff, and the thinking is kept as the trace.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { Config } from "../core/config.js";
import { applyEdits } from "../core/edits.js";
import { addUsage, type Usage, ZERO_USAGE } from "../core/events.js";
import { oneLine } from "../core/history.js";
import { ProposalInterrupted, ProposerError } from "../errors.js";
import { type Logger, type Proposal, type ProposalContext, type Proposer, silentLogger } from "../ports.js";
import { costOf, DEFAULT_CLAUDE_MODEL, type ModelInfo, modelInfo } from "./claude/prices.js";
import { firstUserText, systemBlocks } from "./claude/prompt.js";
import { listFilesTool, READ_TOTAL_CHARS, type ReadBudget, readFileTool, SubmitExperimentSchema, TOOLS, zodProblems } from "./claude/tools.js";

/** Model calls in one proposal (one attempt of the engine). */
export const MAX_TURNS = 8;
export const MAX_TOKENS = 16_000;
/** Token budget of manual extended thinking, for models without adaptive thinking. */
export const THINKING_BUDGET = 6_000;
/** Characters of the trace kept from the model's thinking and text. */
export const TRACE_CHARS = 60_000;

export interface ClaudeOptions {
  config: Config;
  apiKey: string;
  /** Default https://api.anthropic.com. */
  baseURL?: string;
  /**
   * Retries of one call on 408, 409, 429, 5xx (529 overloaded included) and connection errors, done
   * by the Anthropic SDK itself (exponential backoff with jitter, or the server's retry-after).
   */
  maxRetries?: number;
  logger?: Logger;
  /** A ready client (tests); built from apiKey and baseURL otherwise. */
  client?: Anthropic;
}

/** What one proposal's loop records for the trace. */
interface TraceParts {
  thinking: string[];
  text: string[];
  tools: string[];
}

export class ClaudeProposer implements Proposer {
  readonly model: string;
  readonly info: ModelInfo;
  private readonly client: Anthropic;
  private readonly maxRetries: number;
  private readonly logger: Logger;

  constructor(opts: ClaudeOptions) {
    const p = opts.config.proposer;
    this.model = p.model ?? DEFAULT_CLAUDE_MODEL;
    const info = modelInfo(this.model, p.prices);
    if (!info)
      throw new ProposerError(
        `no price known for model ${this.model}: add proposer.prices.${this.model} (input and output in $ per million tokens) so that budget.max_cost_usd can be enforced`,
      );
    this.info = info;
    this.maxRetries = opts.maxRetries ?? 5;
    this.logger = opts.logger ?? silentLogger;
    // The SDK retries on its own; its retry notices (info level: method, URL, status, never the key)
    // go to our logger.
    const log = this.logger;
    this.client =
      opts.client ??
      new Anthropic({
        apiKey: opts.apiKey,
        baseURL: opts.baseURL ?? "https://api.anthropic.com",
        maxRetries: this.maxRetries,
        timeout: 300_000,
        logLevel: "info",
        logger: {
          debug: () => {},
          info: (message: string) => log.info("anthropic api", { detail: String(message) }),
          warn: (message: string) => log.warn("anthropic api", { detail: String(message) }),
          error: (message: string) => log.warn("anthropic api", { detail: String(message) }),
        },
      });
  }

  /** The request for the given conversation (exported through buildRequest for the benchmark). */
  request(ctx: ProposalContext, messages: Anthropic.MessageParam[]): Anthropic.MessageCreateParamsNonStreaming {
    const thinking: Partial<Anthropic.MessageCreateParamsNonStreaming> = !ctx.config.proposer.thinking
      ? {}
      : this.info.thinking === "adaptive"
        ? { thinking: { type: "adaptive", display: "summarized" } }
        : this.info.thinking === "budget"
          ? { thinking: { type: "enabled", budget_tokens: THINKING_BUDGET } }
          : {};
    return {
      model: this.model,
      max_tokens: MAX_TOKENS,
      system: systemBlocks(ctx),
      tools: TOOLS,
      // Forced tool use is refused with thinking on (and by newer models): the loop asks instead.
      tool_choice: { type: "auto" },
      messages: withCacheBreakpoint(messages),
      ...thinking,
    };
  }

  async propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal> {
    const max = ctx.config.budget.max_cost_usd;
    let usage: Usage = { ...ZERO_USAGE };
    const trace: TraceParts = { thinking: [], text: [], tools: [] };
    const budget: ReadBudget = { charsLeft: READ_TOTAL_CHARS, reads: [] };
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: [{ type: "text", text: firstUserText(ctx) }] }];
    let lastInvalid: { submission: ReturnType<typeof SubmitExperimentSchema.parse>; errors: string } | undefined;

    if (max <= 0)
      throw new ProposerError("budget.max_cost_usd is 0, so the claude proposer may not call the API; raise it or use proposer.kind: mutate", { usage });
    // What this proposal may spend: its reservation from the engine, or what is left of the budget.
    const allowance = ctx.budgetUsd ?? max - (ctx.costUsd ?? 0);
    for (let turn = 1; turn <= MAX_TURNS; turn++) {
      // Checked before every call, so a proposal goes past its allowance by one model turn at most.
      if (usage.cost_usd >= allowance) {
        return {
          title: "",
          hypothesis: "",
          edits: [],
          trace: renderTrace(trace, budget, undefined),
          usage,
          failure: `the cost this proposal may spend is used up ($${usage.cost_usd.toFixed(4)} of $${Math.max(0, allowance).toFixed(4)})`,
        };
      }
      const response = await this.call(this.request(ctx, messages), signal, usage);
      const cost = costOf(response.usage, this.info.price);
      usage = addUsage(usage, cost);
      this.logger.debug("claude response", {
        experiment: ctx.experiment,
        turn,
        stop: response.stop_reason,
        input: cost.input_tokens,
        output: cost.output_tokens,
        cache_read: cost.cache_read_tokens,
        cache_write: cost.cache_write_tokens,
        cost_usd: cost.cost_usd,
      });
      for (const block of response.content) {
        if (block.type === "thinking") trace.thinking.push(block.thinking);
        else if (block.type === "text") trace.text.push(block.text);
      }
      messages.push({ role: "assistant", content: response.content as Anthropic.ContentBlockParam[] });
      const calls = response.content.filter((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
      if (calls.length === 0) {
        messages.push({ role: "user", content: [{ type: "text", text: "Call submit_experiment with your experiment now." }] });
        continue;
      }
      const results: Anthropic.ToolResultBlockParam[] = [];
      for (const call of calls) {
        if (call.name === "submit_experiment") {
          const parsed = SubmitExperimentSchema.safeParse(call.input);
          if (!parsed.success) {
            trace.tools.push(`submit_experiment rejected: ${zodProblems(parsed.error)}`);
            results.push(toolResult(call.id, `invalid submission: ${zodProblems(parsed.error)}`, true));
            continue;
          }
          const applied = applyEdits(ctx.files, parsed.data.edits, ctx.config.editable);
          if (!applied.ok) {
            const errors = applied.errors.join("; ");
            lastInvalid = { submission: parsed.data, errors };
            trace.tools.push(`submit_experiment rejected: ${errors}`);
            results.push(toolResult(call.id, `the edits do not apply, nothing was committed: ${errors}. Fix them and call submit_experiment again.`, true));
            continue;
          }
          return this.proposal(parsed.data, trace, budget, usage, turn);
        }
        if (call.name === "read_file") {
          const r = await readFileTool(ctx, call.input, budget);
          trace.tools.push(
            `read_file ${oneLine(String((call.input as { path?: unknown })?.path ?? ""), 200)}${r.isError ? ` (error: ${oneLine(r.content, 200)})` : ""}`,
          );
          results.push(toolResult(call.id, r.content, r.isError));
        } else if (call.name === "list_files") {
          const r = await listFilesTool(ctx, call.input);
          trace.tools.push("list_files");
          results.push(toolResult(call.id, r.content, r.isError));
        } else {
          results.push(toolResult(call.id, `unknown tool ${call.name}`, true));
        }
      }
      messages.push({ role: "user", content: results });
    }
    // Out of turns: give the engine the last submission (its errors become the next attempt's
    // feedback), or say that nothing was submitted.
    if (lastInvalid) return { ...this.proposal(lastInvalid.submission, trace, budget, usage, MAX_TURNS) };
    return {
      title: "",
      hypothesis: "",
      edits: [],
      trace: renderTrace(trace, budget, undefined),
      usage,
      failure: `the model did not call submit_experiment within ${MAX_TURNS} turns`,
    };
  }

  private proposal(s: ReturnType<typeof SubmitExperimentSchema.parse>, trace: TraceParts, budget: ReadBudget, usage: Usage, turns: number): Proposal {
    return {
      title: oneLine(s.title, 120),
      hypothesis: `${s.hypothesis.trim()}\n\nExpected effect: ${s.expected_effect.trim()}`,
      edits: s.edits,
      trace: renderTrace(trace, budget, { model: this.model, turns, usage }),
      usage,
      meta: { model: this.model, turns, reads: budget.reads },
    };
  }

  /** One API call; the SDK retries overload, rate limits, server and connection errors. */
  private async call(params: Anthropic.MessageCreateParamsNonStreaming, signal: AbortSignal | undefined, usage: Usage): Promise<Anthropic.Message> {
    try {
      return await this.client.messages.create(params, { signal });
    } catch (err) {
      if (err instanceof Anthropic.APIUserAbortError || signal?.aborted) throw new ProposalInterrupted("the proposal was interrupted", { usage, cause: err });
      if (err instanceof Anthropic.AuthenticationError || err instanceof Anthropic.PermissionDeniedError)
        throw new ProposerError(`the Anthropic API refused the key (${err.status}); check ANTHROPIC_API_KEY, or use proposer.kind: mutate`, { usage });
      if (err instanceof Anthropic.NotFoundError) throw new ProposerError(`the Anthropic API does not know model ${this.model}; set proposer.model`, { usage });
      if (err instanceof Anthropic.BadRequestError) throw new ProposerError(`the Anthropic API rejected the request: ${apiMessage(err)}`, { usage });
      if (isTransient(err)) throw new ProposerError(`the Anthropic API is unavailable after ${this.maxRetries + 1} tries: ${apiMessage(err)}`, { usage });
      throw err;
    }
  }
}

/** Errors the SDK retries: once they reach us, the retries are spent. */
function isTransient(err: unknown): boolean {
  if (err instanceof Anthropic.APIConnectionError) return true;
  if (err instanceof Anthropic.APIError) {
    const status = err.status ?? 0;
    return status === 408 || status === 409 || status === 429 || status >= 500;
  }
  return false;
}

function apiMessage(err: unknown): string {
  if (err instanceof Anthropic.APIError)
    return `${err.status ?? "no status"} ${err.type ?? ""} ${oneLine(err.apiMessage ?? "", 300)}`.replace(/\s+/g, " ").trim();
  return err instanceof Error ? oneLine(err.message, 300) : String(err);
}

function toolResult(id: string, content: string, isError: boolean): Anthropic.ToolResultBlockParam {
  return { type: "tool_result", tool_use_id: id, content, ...(isError ? { is_error: true } : {}) };
}

/**
 * A copy of the conversation with one cache breakpoint, on the last block of the last message, so
 * each turn of the tool loop reads the previous turns from the cache (with the system prompt's
 * breakpoint: two of the four allowed).
 */
export function withCacheBreakpoint(messages: readonly Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  return messages.map((m, i) => {
    if (i !== messages.length - 1 || typeof m.content === "string") return m;
    const content = m.content.map((b, j) => (j === m.content.length - 1 ? ({ ...b, cache_control: { type: "ephemeral" } } as Anthropic.ContentBlockParam) : b));
    return { ...m, content } as Anthropic.MessageParam;
  });
}

function renderTrace(t: TraceParts, budget: ReadBudget, done: { model: string; turns: number; usage: Usage } | undefined): string {
  const out: string[] = [];
  if (done) {
    const u = done.usage;
    out.push(
      `Proposed by ${done.model} in ${done.turns} turn${done.turns === 1 ? "" : "s"}; ${u.input_tokens} input, ${u.cache_read_tokens} cache-read, ${u.cache_write_tokens} cache-write, ${u.output_tokens} output tokens; $${u.cost_usd.toFixed(4)}.`,
      "",
    );
  }
  if (budget.reads.length) out.push(`Files read: ${budget.reads.join(", ")}.`, "");
  if (t.thinking.length) out.push("### Thinking", "", ...t.thinking.map((x) => x.trim()), "");
  if (t.text.length) out.push("### Notes", "", ...t.text.map((x) => x.trim()), "");
  if (t.tools.length) out.push("### Tool calls", "", ...t.tools.map((x) => `- ${x}`), "");
  const text = out.join("\n");
  return text.length > TRACE_CHARS ? `${text.slice(0, TRACE_CHARS)}\n\n[... trace cut at ${TRACE_CHARS} characters]` : text;
}

/** The claude proposer for a configuration and an environment (the API key is read here, never elsewhere). */
export function createClaudeProposer(opts: { config: Config; env: Record<string, string | undefined>; logger?: Logger }): Proposer {
  const apiKey = opts.env.ANTHROPIC_API_KEY?.trim();
  if (!apiKey)
    throw new ProposerError(
      "proposer.kind: claude needs an Anthropic API key in ANTHROPIC_API_KEY; set it, or use proposer.kind: mutate (offline, no key) in the configuration",
    );
  return new ClaudeProposer({ config: opts.config, apiKey, baseURL: opts.env.ANTHROPIC_BASE_URL?.trim() || undefined, logger: opts.logger });
}
