/** init's questions and flags, with a scripted Asker instead of a terminal. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Asker, Choice } from "../../src/cli/init/ask.js";
import { claudeRefiner } from "../../src/cli/init/claude.js";
import { answersOf } from "../../src/cli/init/command.js";
import { init } from "../../src/cli/init.js";
import { parseConfigText } from "../../src/core/config.js";
import { makeRepo, tempRoot } from "./helpers.js";

const TRAIN = `import os
LR = 0.3
HIDDEN = 8
eval_iters = 5
for step in range(2):
    print(f"step {step} lr {LR} train loss {1 + LR:.3f} val acc {0.5 + step / 10:.3f}")
`;

/** Answers each question with the scripted reply for the first key its message contains, and records the questions. */
function scripted(replies: Record<string, (choices?: Choice<unknown>[], fallback?: unknown) => unknown>): Asker & { asked: string[] } {
  const asked: string[] = [];
  const answer = (message: string, choices?: Choice<unknown>[], fallback?: unknown) => {
    asked.push(message);
    const key = Object.keys(replies).find((k) => message.includes(k));
    if (!key) throw new Error(`unexpected question: ${message}`);
    return (replies[key] as (c?: Choice<unknown>[], f?: unknown) => unknown)(choices, fallback);
  };
  return {
    asked,
    select: async (m, c, f) => answer(m, c as Choice<unknown>[], f) as never,
    input: async (m, f) => answer(m, undefined, f) as string,
    confirm: async (m, f) => answer(m, undefined, f) as boolean,
    checkbox: async (m, c) => answer(m, c as Choice<unknown>[]) as never,
  };
}

let root: Awaited<ReturnType<typeof tempRoot>>;
beforeAll(async () => {
  root = await tempRoot("init-flow");
});
afterAll(async () => {
  await root.cleanup();
});

describe("init in a terminal", () => {
  it("asks each question with the guess as its default and writes the answers", async () => {
    const repo = await makeRepo(root.dir, "asked", { "train.py": TRAIN, "tools/plot.py": "print(1)\n" });
    const asker = scripted({
      "Which command runs one experiment?": (choices) => {
        expect(choices?.[0]).toMatchObject({ value: "python3 train.py", description: "from script train.py" });
        return "python3 train.py";
      },
      "Which files may the proposer change?": (_c, fallback) => {
        expect(fallback).toBe("train.py");
        return "train.py";
      },
      "Files git does not track": () => "",
      "Run `python3 train.py` once now": () => true,
      "Which number is the metric?": (choices) => {
        expect(choices?.map((c) => (c.value as { name: string }).name)).toEqual(expect.arrayContaining(["val_acc", "train_loss", "lr"]));
        return choices?.find((c) => (c.value as { name: string }).name === "val_acc")?.value;
      },
      "Is a lower or a higher val_acc better?": (_c, fallback) => {
        expect(fallback).toBe("maximize");
        return "maximize";
      },
      "Time box of one run": () => "45s",
      "Which knobs may mutate change?": (choices) => {
        expect(choices).toEqual([
          { name: "LR", value: "LR", checked: true },
          { name: "HIDDEN", value: "HIDDEN", checked: true },
          { name: "eval_iters  (looks like a measurement or logging setting)", value: "eval_iters", checked: false },
        ]);
        return ["LR"];
      },
    });
    const said: string[] = [];
    const r = await init({ root: repo, force: false, answers: {}, asker, say: (t) => said.push(t) });
    const config = parseConfigText(await readFile(r.path, "utf8"));
    expect(config).toMatchObject({ run: "python3 train.py", editable: ["train.py"], inputs: [], budget: { experiment_timeout: 45 } });
    expect(config.metric).toMatchObject({ name: "val_acc", goal: "maximize" });
    expect(config.proposer).toMatchObject({ knobs: ["LR"], exclude: ["HIDDEN", "eval_iters"] });
    expect(asker.asked).toHaveLength(8);
  });

  it("asks nothing that a flag answers", async () => {
    const repo = await makeRepo(root.dir, "flags", { "train.py": TRAIN });
    const asker = scripted({});
    const answers = answersOf({
      run: "python3 train.py",
      eval: "",
      editable: "train.py",
      metric: "train loss",
      goal: "minimize",
      timeout: "30s",
      inputs: "",
      knobs: "LR,HIDDEN",
      exclude: "eval_iters",
      proposer: "mutate",
    });
    const r = await init({ root: repo, force: false, answers, runOnce: true, asker, env: process.env });
    expect(asker.asked).toEqual([]);
    const config = parseConfigText(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8"));
    expect(config.metric).toMatchObject({ name: "train_loss", goal: "minimize" });
    expect(config.metric.pattern).toBeDefined();
    expect(config).toMatchObject({ budget: { experiment_timeout: 30 }, proposer: { knobs: ["LR", "HIDDEN"], exclude: ["eval_iters"] } });
    expect(r.ranOnce?.ok).toBe(true);
  });

  it.each([
    [{ goal: "lower" }, "--goal: expected minimize or maximize"],
    [{ proposer: "gpt" }, "--proposer: expected mutate or claude"],
    [{ pattern: "loss (\\d+) (\\d+)" }, "--pattern: expected exactly one capture group, found 2"],
    [{ pattern: "([" }, "--pattern: invalid regular expression"],
  ])("rejects a bad flag %j", (flags, message) => {
    expect(() => answersOf(flags)).toThrow(message);
  });
});

describe("init --claude in a terminal", () => {
  const draft = {
    run: "python3 train.py",
    editable: ["train.py"],
    inputs: [],
    metric: { name: "val_loss", goal: "minimize" as const },
    goal: "minimize" as const,
    knobs: ["LR"],
    exclude: [],
    proposer: "mutate" as const,
  };
  const reply = {
    run: "python3 train.py",
    eval: null,
    editable: ["train.py"],
    inputs: [],
    metric: { name: "val_loss", goal: "minimize", pattern: null },
    knobs: ["LR", "HIDDEN"],
    exclude: [],
    instructions: "Try wider layers.",
  };
  const client = {
    messages: {
      create: async () => ({
        content: [{ type: "tool_use", id: "t", name: "submit_config", input: reply }],
        usage: { input_tokens: 10, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      }),
    },
  } as unknown as import("@anthropic-ai/sdk").default;
  const ctx = { view: { tracked: ["train.py"], texts: {}, untracked: [] }, output: "val_loss: 0.5\n", candidates: [] };

  it.each([
    [true, ["LR", "HIDDEN"], "Try wider layers."],
    [false, ["LR"], undefined],
  ])("asks before applying (answer %s)", async (yes, knobs, instructions) => {
    const said: string[] = [];
    const asker = scripted({ "Apply Claude's draft?": () => yes });
    const refine = claudeRefiner({ apiKey: "k", approve: "ask", say: (t) => said.push(t), asker, client });
    const out = await refine(draft, ctx);
    expect(asker.asked).toEqual(["Apply Claude's draft?"]);
    expect(out.knobs).toEqual(knobs);
    expect(out.instructions).toBe(instructions);
    expect(said.join("\n")).toContain("  proposer.knobs: LR -> LR, HIDDEN");
  });
});
