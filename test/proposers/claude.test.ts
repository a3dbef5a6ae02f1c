import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Usage } from "../../src/core/events.js";
import { ProposerError } from "../../src/errors.js";
import { costOf, DEFAULT_CLAUDE_MODEL, MODELS, modelInfo } from "../../src/proposers/claude/prices.js";
import { ClaudeProposer, createClaudeProposer } from "../../src/proposers/claude.js";
import { API_KEY, claudeConfig, context, goodSubmit, message, mockMessages, thinking, toolUse } from "./claude-helpers.js";

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

function proposer(config = claudeConfig(), maxRetries?: number) {
  return new ClaudeProposer({ config, apiKey: API_KEY, ...(maxRetries === undefined ? {} : { maxRetries }) });
}

describe("claude proposer: the tool loop", () => {
  it("reads a file, then submits; the second request carries the file as a tool result", async () => {
    const { scope, bodies } = mockMessages([
      {
        body: message(
          [
            thinking("Let me look at the evaluation first."),
            toolUse("tu_1", "read_file", { path: "eval.mjs" }),
            toolUse("tu_2", "read_file", { path: "../etc/passwd" }),
          ],
          { input_tokens: 2000, output_tokens: 300, cache_read_input_tokens: 0, cache_creation_input_tokens: 5000 },
        ),
      },
      {
        body: message([thinking("A larger learning rate should help."), goodSubmit()], {
          input_tokens: 400,
          output_tokens: 500,
          cache_read_input_tokens: 5000,
          cache_creation_input_tokens: 2000,
        }),
      },
    ]);
    const p = await proposer().propose(context(claudeConfig()));
    expect(scope.isDone()).toBe(true);
    expect(bodies).toHaveLength(2);
    expect(p.title).toBe("Raise learning rate to 0.02");
    expect(p.hypothesis).toContain("Expected effect: -3% val_loss");
    expect(p.edits).toEqual([{ kind: "replace", path: "train.mjs", search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.02;" }]);
    expect(p.trace).toContain("Let me look at the evaluation first.");
    expect(p.trace).toContain("A larger learning rate should help.");
    expect(p.trace).toContain("Files read: eval.mjs");
    expect(p.meta).toMatchObject({ model: "claude-sonnet-5-5", turns: 2, reads: ["eval.mjs"] });
    const second = bodies[1] as { messages: { role: string; content: { type: string; content?: string; is_error?: boolean; tool_use_id?: string }[] }[] };
    const results = second.messages[2]?.content ?? [];
    expect(results[0]).toMatchObject({ type: "tool_result", tool_use_id: "tu_1" });
    expect(results[0]?.content).toContain('<file path="eval.mjs">');
    expect(results[0]?.content).toContain("console.log('val_loss: 1')");
    expect(results[1]).toMatchObject({ type: "tool_result", tool_use_id: "tu_2", is_error: true });
    expect(results[1]?.content).toContain("'..'");
    // The assistant turn is sent back as it came (thinking blocks included).
    expect(second.messages[1]).toMatchObject({
      role: "assistant",
      content: [{ type: "thinking", signature: "sig" }, { type: "tool_use" }, { type: "tool_use" }],
    });
    // Usage: both calls, priced at claude-sonnet-5-5 (2 / 10 / 2.5 write / 0.1 read $ per million).
    expect(p.usage).toEqual({
      input_tokens: 2400,
      output_tokens: 800,
      cache_read_tokens: 5000,
      cache_write_tokens: 7000,
      cost_usd: (2400 * 2 + 800 * 10 + 5000 * 0.1 + 7000 * 2.5) / 1e6,
    });
  });

  it("puts cache-control markers on the stable prefix and the newest turn only", async () => {
    const { bodies } = mockMessages([{ body: message([toolUse("tu_1", "list_files", {})]) }, { body: message([goodSubmit()]) }]);
    await proposer().propose(context(claudeConfig()));
    for (const body of bodies as { system: { text: string; cache_control?: unknown }[]; messages: { content: { cache_control?: unknown }[] }[] }[]) {
      // System = [rules + goal, files]: one breakpoint, at the end of the files (tools come before system, so they are cached too).
      expect(body.system).toHaveLength(2);
      expect(body.system[0]?.cache_control).toBeUndefined();
      expect(body.system[0]?.text).toContain("# Rules");
      expect(body.system[1]?.cache_control).toEqual({ type: "ephemeral" });
      expect(body.system[1]?.text).toContain('<file path="train.mjs">');
      const marks = body.messages.flatMap((m, i) => m.content.map((b, j) => (b.cache_control ? `${i}.${j}` : ""))).filter(Boolean);
      const last = body.messages.length - 1;
      expect(marks).toEqual([`${last}.${(body.messages[last]?.content.length ?? 0) - 1}`]);
    }
    // The history is in the (uncached) first user message, not in the cached prefix.
    const first = bodies[0] as { messages: { content: { text: string }[] }[]; system: { text: string }[] };
    expect(first.messages[0]?.content[0]?.text).toContain("<history>");
    expect(first.system.map((s) => s.text).join("")).not.toContain("experiments judged so far");
  });

  it("sends adaptive thinking for models that have it, a token budget for older ones, none when turned off", async () => {
    const cases: [Record<string, unknown>, unknown][] = [
      [{ model: "claude-sonnet-5-5" }, { type: "adaptive", display: "summarized" }],
      [{ model: "claude-haiku-4-5" }, { type: "enabled", budget_tokens: 6000 }],
      [{ model: "claude-sonnet-5-5", thinking: false }, undefined],
    ];
    for (const [proposerCfg, expected] of cases) {
      const { bodies } = mockMessages([{ body: message([goodSubmit()]) }]);
      await proposer(claudeConfig({}, proposerCfg)).propose(context(claudeConfig({}, proposerCfg)));
      expect(bodies[0]?.thinking).toEqual(expected);
    }
  });

  it("gives the engine's feedback of rejected attempts to the model as delimited data", async () => {
    const { bodies } = mockMessages([{ body: message([goodSubmit()]) }]);
    const feedback = ["attempt 1: edit 1 (train.mjs): the search text must occur exactly once, found 0 times"];
    await proposer().propose(context(claudeConfig(), { feedback }));
    const text = (bodies[0] as { messages: { content: { text: string }[] }[] }).messages[0]?.content[0]?.text ?? "";
    expect(text).toMatch(/<feedback>\n.*found 0 times\n<\/feedback>/);
  });

  it("returns a failure the engine retries when the model never submits", async () => {
    const { scope } = mockMessages(Array.from({ length: 8 }, () => ({ body: message([{ type: "text", text: "Thinking aloud." }], undefined, "end_turn") })));
    const p = await proposer().propose(context(claudeConfig()));
    expect(scope.isDone()).toBe(true);
    expect(p.failure).toBe("the model did not call submit_experiment within 8 turns");
    expect(p.usage?.input_tokens).toBe(800);
  });
});

describe("claude proposer: API errors", () => {
  it("the SDK retries overload (529) and rate limits (429, honouring retry-after-ms), then succeeds", async () => {
    const { scope } = mockMessages([
      { status: 529, body: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, headers: { "retry-after-ms": "5" } },
      { status: 429, body: { type: "error", error: { type: "rate_limit_error", message: "slow down" } }, headers: { "retry-after-ms": "250" } },
      { body: message([goodSubmit()]) },
    ]);
    const started = Date.now();
    const p = await proposer().propose(context(claudeConfig()));
    expect(scope.isDone()).toBe(true);
    expect(p.title).toBe("Raise learning rate to 0.02");
    // The server's retry-after-ms was waited for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("gives up after the retries with a ProposerError", async () => {
    const overloaded = { status: 529, body: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, headers: { "retry-after-ms": "1" } };
    const { scope } = mockMessages([overloaded, overloaded, overloaded]);
    await expect(proposer(claudeConfig(), 2).propose(context(claudeConfig()))).rejects.toThrow(/unavailable after 3 tries: 529 overloaded_error Overloaded/);
    expect(scope.isDone()).toBe(true);
  });

  it("turns a refused key into a ProposerError that names the fix", async () => {
    mockMessages([{ status: 401, body: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } } }]);
    const err = await proposer()
      .propose(context(claudeConfig()))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProposerError);
    expect(String((err as Error).message)).toMatch(/ANTHROPIC_API_KEY.*proposer.kind: mutate/);
    expect(String((err as Error).message)).not.toContain(API_KEY);
  });
});

describe("claude proposer: setup and budget", () => {
  it("needs an API key, and says to use mutate without one", () => {
    expect(() => createClaudeProposer({ config: claudeConfig(), env: {} })).toThrow(ProposerError);
    expect(() => createClaudeProposer({ config: claudeConfig(), env: { ANTHROPIC_API_KEY: " " } })).toThrow(/ANTHROPIC_API_KEY.*proposer\.kind: mutate/);
  });

  it("refuses a model it cannot price unless the config prices it", () => {
    expect(() => proposer(claudeConfig({}, { model: "claude-future-9" }))).toThrow(/proposer\.prices\.claude-future-9/);
    const p = proposer(claudeConfig({}, { model: "claude-future-9", prices: { "claude-future-9": { input: 1, output: 2 } } }));
    expect(p.info.price).toEqual({ input: 1, output: 2, cache_write: 1.25, cache_read: 0.1 });
  });

  it("does not call the API when its allowance is spent, and cannot work at all when the budget is zero", async () => {
    // Its reservation from the engine is spent: the proposal fails (the campaign may go on).
    const spent = await proposer().propose(context(claudeConfig(), { costUsd: 1, budgetUsd: 0 }));
    expect(spent.failure).toMatch(/the cost this proposal may spend is used up \(\$0\.0000 of \$0\.0000\)/);
    // Without a reservation, what is left of the budget is the allowance.
    const noneLeft = await proposer().propose(context(claudeConfig(), { costUsd: 5 }));
    expect(noneLeft.failure).toMatch(/used up/);
    // A zero budget: the proposer cannot work at all (a ProposerError, which stops the campaign).
    await expect(proposer(claudeConfig({}, {}, { max_cost_usd: 0 })).propose(context(claudeConfig({}, {}, { max_cost_usd: 0 })))).rejects.toThrow(
      /max_cost_usd is 0.*proposer\.kind: mutate/,
    );
    // No interceptor was defined and the network is off: a call would have failed differently.
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("the default model is one the SDK and the price table know", () => {
    expect(MODELS[DEFAULT_CLAUDE_MODEL]).toBeDefined();
    expect(proposer().model).toBe(DEFAULT_CLAUDE_MODEL);
  });
});

describe("cost arithmetic", () => {
  const u = (input: number, output: number, read = 0, write = 0) => ({
    input_tokens: input,
    output_tokens: output,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: write,
  });
  it.each<[string, ReturnType<typeof u>, number]>([
    ["claude-sonnet-5-5", u(1_000_000, 0), 2],
    ["claude-sonnet-5-5", u(0, 1_000_000), 10],
    ["claude-sonnet-5-5", u(0, 0, 1_000_000), 0.1],
    ["claude-sonnet-5-5", u(0, 0, 0, 1_000_000), 2.5],
    ["claude-opus-5-5", u(10_000, 2_000, 50_000, 8_000), (10_000 * 4 + 2_000 * 20 + 50_000 * 0.2 + 8_000 * 5) / 1e6],
    ["claude-haiku-4-5", u(1234, 567, 8910, 1112), (1234 * 1 + 567 * 5 + 8910 * 0.1 + 1112 * 1.25) / 1e6],
    ["claude-opus-4-6", u(0, 0), 0],
  ])("%s %j costs $%f", (model, usage, dollars) => {
    const info = modelInfo(model);
    if (!info) throw new Error(`no price for ${model}`);
    const cost: Usage = costOf(usage, info.price);
    expect(cost.cost_usd).toBeCloseTo(dollars, 8);
    expect(cost).toMatchObject({
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cache_read_tokens: usage.cache_read_input_tokens,
      cache_write_tokens: usage.cache_creation_input_tokens,
    });
  });

  it("a price in the config overrides the table", () => {
    const info = modelInfo("claude-sonnet-5-5", { "claude-sonnet-5-5": { input: 3, output: 15, cache_read: 0.3 } });
    expect(info?.price).toEqual({ input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 });
    expect(costOf(u(0, 0, 0, 0), info!.price).cost_usd).toBe(0);
    expect(costOf({ input_tokens: 10, output_tokens: 1 }, info!.price).cost_usd).toBeCloseTo((10 * 3 + 15) / 1e6, 10);
  });
});
