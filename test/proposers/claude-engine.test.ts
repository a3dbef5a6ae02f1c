/** The claude proposer driven by the engine (proposeExperiment, drive) with the test fakes, and its secret hygiene. */
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { fold } from "../../src/core/state.js";
import { proposeExperiment } from "../../src/engine/steps.js";
import { drive } from "../../src/local/driver.js";
import type { Logger } from "../../src/ports.js";
import { ClaudeProposer } from "../../src/proposers/claude.js";
import { createProposer } from "../../src/proposers/index.js";
import { FakeExecutor, FakeRepoHost, fixedClock, MemoryLedgerStore } from "../fakes/index.js";
import { API, API_KEY, goodSubmit, message, mockMessages, TRAIN, thinking, toolUse } from "./claude-helpers.js";

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});

const rawConfig = (budget: Record<string, unknown> = {}, proposer: Record<string, unknown> = {}) => ({
  metric: { name: "val_loss", goal: "minimize" },
  run: "node train.mjs",
  editable: ["train.mjs"],
  budget: { max_cost_usd: 5, parallel: 1, max_experiments: 1, ...budget },
  accept: { repeats: 1, baseline_repeats: 1 },
  proposer: { kind: "claude", model: "claude-sonnet-5-5", ...proposer },
});

function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, meta?: Record<string, unknown>) => void lines.push(`${level} ${msg} ${JSON.stringify(meta ?? {})}`);
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

async function campaign(budget: Record<string, unknown> = {}, proposer: Record<string, unknown> = {}) {
  const repo = new FakeRepoHost({ "train.mjs": TRAIN, "eval.mjs": "console.log('val_loss: 1')\n" });
  const ledger = new MemoryLedgerStore();
  await ledger.append(
    [{ type: "campaign_started", campaign: "1", config: rawConfig(budget, proposer), base_commit: "base", goal: "Lower val_loss.", source: "cli" }],
    0,
  );
  return { repo, ledger };
}

describe("claude proposer through the engine", () => {
  it("an edit that does not apply goes back to the model, which corrects it; the experiment is committed with both calls' cost", async () => {
    const { repo, ledger } = await campaign();
    const badSubmit = toolUse("tu_bad", "submit_experiment", {
      title: "Raise learning rate to 0.02",
      hypothesis: "A larger step converges further within the time box.",
      expected_effect: "-3% val_loss",
      edits: [{ kind: "replace", path: "train.mjs", search: "const LEARNING_RATE = 0.001;", replace: "const LEARNING_RATE = 0.02;" }],
    });
    const { scope, bodies } = mockMessages([{ body: message([thinking("Try a larger rate."), badSubmit]) }, { body: message([goodSubmit()]) }]);
    const state = fold((await ledger.read()).events);
    const proposer = new ClaudeProposer({ config: state.config, apiKey: API_KEY });
    const events = await proposeExperiment(
      state,
      { kind: "propose", experiment: 1, parent: "base", reserveUsd: 5 },
      { repo, ledger, proposer, executor: new FakeExecutor(repo, () => 1), logger: capturingLogger([]) },
    );
    expect(scope.isDone()).toBe(true);
    const retry = (bodies[1] as { messages: { content: { type: string; is_error?: boolean; content?: string }[] }[] }).messages[2]?.content[0];
    expect(retry).toMatchObject({ type: "tool_result", is_error: true });
    expect(retry?.content).toContain("the search text must occur exactly once, found 0 times");
    expect(events).toHaveLength(1);
    const ev = events[0];
    if (ev?.type !== "experiment_proposed") throw new Error(`expected experiment_proposed, got ${ev?.type}`);
    expect(ev.title).toBe("Raise learning rate to 0.02");
    expect(ev.usage).toMatchObject({ input_tokens: 200, output_tokens: 100, cost_usd: (200 * 2 + 100 * 10) / 1e6 });
    expect(repo.tree(ev.commit)["train.mjs"]).toContain("const LEARNING_RATE = 0.02;");
    const trace = ledger.traces.get(1) ?? "";
    expect(trace).toContain("Try a larger rate.");
    expect(trace).toContain("submit_experiment rejected: edit 1 (train.mjs): the search text must occur exactly once");
  });

  it("budget exhaustion in the middle of a proposal stops the campaign with its reason, and the spend is recorded", async () => {
    // The first proposal runs alone with the whole budget reserved, spends it on its first call,
    // and makes no second one.
    // $100 per million input tokens: the first call (100 input tokens) costs $0.01, the whole budget.
    const { repo, ledger } = await campaign({ max_cost_usd: 0.01 }, { prices: { "claude-sonnet-5-5": { input: 100, output: 0 } } });
    const { scope } = mockMessages([{ body: message([toolUse("tu_1", "read_file", { path: "eval.mjs" })]) }]);
    const state0 = fold((await ledger.read()).events);
    const proposer = new ClaudeProposer({ config: state0.config, apiKey: API_KEY });
    const { state } = await drive({
      events: (await ledger.read()).events,
      deps: { repo, ledger, proposer, executor: new FakeExecutor(repo, () => 1), logger: capturingLogger([]) },
      clock: fixedClock(),
      signal: new AbortController().signal,
      tickMs: 5,
    });
    expect(scope.isDone()).toBe(true);
    expect(state.stopped?.reason).toBe("cost budget spent ($0.01 of max_cost_usd: 0.01)");
    expect(ledger.events.find((e) => e.type === "experiment_requested")).toMatchObject({ reserved_usd: 0.01 });
    expect(state.costUsd).toBeCloseTo(0.01, 10);
    const failed = ledger.events.find((e) => e.type === "proposal_failed");
    expect(failed).toMatchObject({ type: "proposal_failed", usage: { input_tokens: 100, cost_usd: 0.01 } });
  });

  it("a campaign of proposals that never submit spends at most one model turn beyond max_cost_usd", async () => {
    // $700 per million input tokens: each call (100 input tokens) costs $0.07.
    const { repo, ledger } = await campaign(
      { max_cost_usd: 1, parallel: 2, max_experiments: 20, patience: 20 },
      { prices: { "claude-sonnet-5-5": { input: 700, output: 0 } } },
    );
    let calls = 0;
    const scope = nock(API)
      .persist()
      .post("/v1/messages")
      .reply(() => {
        calls++;
        return [200, message([toolUse(`tu_${calls}`, "read_file", { path: "eval.mjs" })])];
      });
    const state0 = fold((await ledger.read()).events);
    const proposer = new ClaudeProposer({ config: state0.config, apiKey: API_KEY });
    const { state } = await drive({
      events: (await ledger.read()).events,
      deps: { repo, ledger, proposer, executor: new FakeExecutor(repo, () => 1), logger: capturingLogger([]) },
      clock: fixedClock(),
      signal: new AbortController().signal,
      tickMs: 5,
    });
    scope.persist(false);
    expect(state.stopped?.reason).toMatch(/^cost budget spent/);
    // What the ledger recorded is what the API was paid for.
    expect(state.costUsd).toBeCloseTo(calls * 0.07, 10);
    expect(state.costUsd).toBeGreaterThanOrEqual(1);
    expect(state.costUsd).toBeLessThan(1 + 0.07);
  });

  it("neither the API key nor a GitHub token reaches a request body, a trace or a log", async () => {
    const githubToken = "ghp_TESTTOKEN0123456789abcdefABCDEF0123";
    const saved = process.env.GITHUB_TOKEN;
    process.env.GITHUB_TOKEN = githubToken;
    try {
      const { repo, ledger } = await campaign();
      const logs: string[] = [];
      const state = fold((await ledger.read()).events);
      // The proposer gets the whole environment, as the CLI gives it.
      const proposer = createProposer(state.config, { env: { ...process.env, ANTHROPIC_API_KEY: API_KEY }, logger: capturingLogger(logs) });
      const { scope, bodies, auth } = mockMessages([
        { body: message([toolUse("tu_1", "list_files", {}), toolUse("tu_2", "read_file", { path: "eval.mjs" })]) },
        { status: 529, body: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, headers: { "retry-after-ms": "1" } },
        { body: message([goodSubmit()]) },
      ]);
      await proposeExperiment(
        state,
        { kind: "propose", experiment: 1, parent: "base", reserveUsd: 5 },
        { repo, ledger, proposer, executor: new FakeExecutor(repo, () => 1), logger: capturingLogger(logs) },
      );
      expect(scope.isDone()).toBe(true);
      // The key is sent, in the authorization header only.
      expect(auth).toEqual([`Bearer ${API_KEY}`, `Bearer ${API_KEY}`, `Bearer ${API_KEY}`]);
      expect(logs.some((l) => l.includes("claude response"))).toBe(true);
      const texts = [...bodies.map((b) => JSON.stringify(b)), ...ledger.traces.values(), ...logs, JSON.stringify(ledger.events)];
      for (const secret of [API_KEY, githubToken]) for (const t of texts) expect(t).not.toContain(secret);
    } finally {
      if (saved === undefined) delete process.env.GITHUB_TOKEN;
      else process.env.GITHUB_TOKEN = saved;
    }
  });
});
