/** Shared fixtures of the claude proposer tests: a config, a context, and Messages API replies for nock. */
import nock from "nock";
import { type Config, type ConfigInput, parseConfig } from "../../src/core/config.js";
import type { ProposalContext } from "../../src/ports.js";

export const API = "https://api.anthropic.com";
export const API_KEY = "sk-ant-test-KEY-0123456789abcdef";

export const TRAIN = ["const LEARNING_RATE = 0.01;", "const HIDDEN = 8;", "", "export function train() {", "  return LEARNING_RATE * HIDDEN;", "}", ""].join(
  "\n",
);

export function claudeConfig(over: Partial<ConfigInput> = {}, proposer: Record<string, unknown> = {}, budget: Record<string, unknown> = {}): Config {
  return parseConfig({
    metric: { name: "val_loss", goal: "minimize" },
    run: "node train.mjs",
    eval: "node eval.mjs",
    editable: ["train.mjs"],
    ...over,
    budget: { max_cost_usd: 5, ...budget },
    proposer: { kind: "claude", model: "claude-sonnet-5-5", ...proposer },
  });
}

export function context(config: Config, over: Partial<ProposalContext> = {}): ProposalContext {
  return {
    campaign: "1",
    experiment: 1,
    goal: "Lower val_loss.",
    config,
    parent: "base",
    files: { "train.mjs": TRAIN },
    best: { metric: 0.5, baseline: 0.5 },
    history: [],
    inFlight: [],
    feedback: [],
    costUsd: 0,
    readFile: async (p) => ({ "train.mjs": TRAIN, "eval.mjs": "console.log('val_loss: 1')\n" })[p],
    listFiles: async () => ["eval.mjs", "train.mjs"],
    ...over,
  };
}

type Usage = { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
const USAGE: Usage = { input_tokens: 100, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

/** A Messages API response body. */
export function message(content: unknown[], usage: Usage = USAGE, stop = "tool_use") {
  return { id: "msg_test", type: "message", role: "assistant", model: "claude-sonnet-5-5", content, stop_reason: stop, stop_sequence: null, usage };
}

export const thinking = (text: string) => ({ type: "thinking", thinking: text, signature: "sig" });
export const toolUse = (id: string, name: string, input: unknown) => ({ type: "tool_use", id, name, input });

export const goodSubmit = (id = "tu_submit") =>
  toolUse(id, "submit_experiment", {
    title: "Raise learning rate to 0.02",
    hypothesis: "The loss still falls steadily at the end of training, so a larger step should converge further in the time box.",
    expected_effect: "-3% val_loss",
    edits: [{ kind: "replace", path: "train.mjs", search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.02;" }],
  });

/** Records each request body and authorization header, then answers with the given replies in order. */
export function mockMessages(replies: { status?: number; body: unknown; headers?: Record<string, string> }[]) {
  const bodies: Record<string, unknown>[] = [];
  const auth: string[] = [];
  const scope = nock(API);
  for (const r of replies) {
    scope
      .post("/v1/messages", (body) => {
        bodies.push(body as Record<string, unknown>);
        return true;
      })
      .reply(function () {
        auth.push(String(this.req.headers.authorization ?? this.req.headers["x-api-key"] ?? ""));
        return [r.status ?? 200, r.body as nock.Body, r.headers ?? {}];
      });
  }
  return { scope, bodies, auth };
}
