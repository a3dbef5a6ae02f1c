import { describe, expect, it } from "vitest";
import { type Config, parseConfig } from "../../src/core/config.js";
import type { Edit } from "../../src/core/events.js";
import { ProposerError } from "../../src/errors.js";
import type { ExperimentSummary, ProposalContext } from "../../src/ports.js";
import { createProposer } from "../../src/proposers/index.js";
import { findKnobsInFile } from "../../src/proposers/knobs.js";
import {
  createMutateProposer,
  lineEdits,
  type Mutation,
  mutationsOf,
  proposeMutation,
  replayKnobStats,
  SIGMA_MAX,
  SIGMA_MIN,
  SIGMA0,
  upProbability,
} from "../../src/proposers/mutate.js";

const TRAIN = [
  'import { data } from "./data.mjs";',
  "",
  "const LEARNING_RATE = 0.002;",
  "const HIDDEN = 4;",
  "export const SHIFT = -3;",
  "const BIAS: number = -0.5;",
  "const DROPOUT = 0;",
  "let WARMUP = 0.0;",
  "",
  "function train() {",
  "  const LEARNING_RATE = 1;",
  "  return LEARNING_RATE * HIDDEN;",
  "}",
  "",
].join("\n");

function config(proposer: Record<string, unknown> = {}, editable = ["train.mjs"]): Config {
  return parseConfig({ metric: { name: "val_loss", goal: "minimize" }, run: "node train.mjs", editable, proposer });
}

function context(over: Partial<ProposalContext> = {}): ProposalContext {
  return {
    campaign: "7",
    experiment: 1,
    goal: "lower val_loss",
    config: config(),
    parent: "abc123",
    files: { "train.mjs": TRAIN },
    best: { metric: 0.4, baseline: 0.4 },
    history: [],
    inFlight: [],
    feedback: [],
    ...over,
  };
}

/** Applies edits the way the core does: each search text must occur exactly once. */
function apply(files: Record<string, string>, edits: Edit[]): Record<string, string> {
  const out = { ...files };
  for (const e of edits) {
    if (e.kind === "write") {
      out[e.path] = e.content;
      continue;
    }
    const text = out[e.path] ?? "";
    const at = text.indexOf(e.search);
    expect(at, `search text of ${e.path} not found`).toBeGreaterThanOrEqual(0);
    expect(text.indexOf(e.search, at + 1), `search text of ${e.path} occurs twice`).toBe(-1);
    out[e.path] = text.slice(0, at) + e.replace + text.slice(at + e.search.length);
  }
  return out;
}

function summary(experiment: number, outcome: ExperimentSummary["outcome"], mutations: Mutation[], metric: number | null = 0.3): ExperimentSummary {
  return { experiment, title: "t", hypothesis: "h", edits: [], meta: { mutations }, outcome, reason: "", metric, improvement: null };
}

const lr = (from: number, to: number): Mutation => ({ file: "train.mjs", name: "LEARNING_RATE", from, to });

describe("proposeMutation", () => {
  it("gives the same proposal for the same context", () => {
    expect(proposeMutation(context())).toEqual(proposeMutation(context()));
  });

  it("gives different proposals for different experiment numbers", () => {
    const titles = new Set(Array.from({ length: 20 }, (_, i) => proposeMutation(context({ experiment: i + 1 })).title));
    expect(titles.size).toBeGreaterThanOrEqual(10);
  });

  it("draws anew on a retry after feedback", () => {
    const titles = new Set(Array.from({ length: 5 }, (_, i) => proposeMutation(context({ feedback: Array(i).fill("did not apply") })).title));
    expect(titles.size).toBeGreaterThan(1);
  });

  it("keeps integers integral and signs unchanged over 1000 proposals", () => {
    const before = new Map(findKnobsInFile("train.mjs", TRAIN).map((k) => [k.name, k]));
    for (let experiment = 1; experiment <= 1000; experiment++) {
      const p = proposeMutation(context({ experiment }));
      const after = new Map(findKnobsInFile("train.mjs", apply({ "train.mjs": TRAIN }, p.edits)["train.mjs"] ?? "").map((k) => [k.name, k]));
      const mutations = mutationsOf(p.meta);
      expect(mutations.length).toBeGreaterThanOrEqual(1);
      expect(mutations.length).toBeLessThanOrEqual(2);
      for (const m of mutations) {
        const old = before.get(m.name);
        const now = after.get(m.name);
        expect(old && now).toBeTruthy();
        if (!old || !now) continue;
        expect(now.value, `${m.name} in the file`).toBe(m.to);
        expect(m.to).not.toBe(m.from);
        expect(now.isInt, `${m.name} keeps its int/float form`).toBe(old.isInt);
        if (old.isInt) expect(Number.isInteger(m.to)).toBe(true);
        if (old.value > 0) expect(m.to).toBeGreaterThan(0);
        if (old.value < 0) expect(m.to).toBeLessThan(0);
        if (old.isInt && old.value >= 1) expect(m.to).toBeGreaterThanOrEqual(1);
      }
      // Only the chosen knobs moved.
      for (const [name, k] of before) if (!mutations.some((m) => m.name === name)) expect(after.get(name)?.value).toBe(k.value);
    }
  });

  it("changes only the configured knobs", () => {
    const ctx = context({ config: config({ knobs: ["HIDDEN", "SHIFT"] }) });
    for (let experiment = 1; experiment <= 100; experiment++) {
      for (const m of mutationsOf(proposeMutation({ ...ctx, experiment }).meta)) expect(["HIDDEN", "SHIFT"]).toContain(m.name);
    }
  });

  it("says which configured knobs are missing", () => {
    expect(() => proposeMutation(context({ config: config({ knobs: ["HIDDEN", "MOMENTUM"] }) }))).toThrow(/MOMENTUM/);
  });

  it("edits the whole original line, which occurs exactly once, and nothing else", () => {
    const p = proposeMutation(context({ config: config({ knobs: ["LEARNING_RATE"] }) }));
    const [m] = mutationsOf(p.meta);
    expect(p.edits).toHaveLength(1);
    expect(p.edits[0]).toMatchObject({ kind: "replace", path: "train.mjs", search: "const LEARNING_RATE = 0.002;" });
    const after = apply({ "train.mjs": TRAIN }, p.edits)["train.mjs"] ?? "";
    expect(after).toBe(TRAIN.replace("const LEARNING_RATE = 0.002;", `const LEARNING_RATE = ${m?.to};`));
    expect(after).toContain("  const LEARNING_RATE = 1;");
  });

  it("widens the search text when the line is not unique", () => {
    const py = "N = 1\nMAX_N = 1\n\ndef f():\n    N = 1\n";
    const ctx = context({ config: config({ knobs: ["N"] }, ["train.py"]), files: { "train.py": py } });
    const p = proposeMutation(ctx);
    const [edit] = p.edits;
    expect(edit?.kind).toBe("replace");
    const after = apply({ "train.py": py }, p.edits)["train.py"];
    const to = mutationsOf(p.meta)[0]?.to;
    expect(after).toBe(`N = ${to}\nMAX_N = 1\n\ndef f():\n    N = 1\n`);
  });

  it("applies two changes to neighbouring lines of one file", () => {
    const ctx = context({ config: config({ knobs: ["LEARNING_RATE", "HIDDEN"] }) });
    const two = Array.from({ length: 60 }, (_, i) => proposeMutation({ ...ctx, experiment: i + 1 })).filter((p) => mutationsOf(p.meta).length === 2);
    expect(two.length).toBeGreaterThan(0);
    for (const p of two) {
      const after = findKnobsInFile("train.mjs", apply({ "train.mjs": TRAIN }, p.edits)["train.mjs"] ?? "");
      for (const m of mutationsOf(p.meta)) expect(after.find((k) => k.name === m.name)?.value).toBe(m.to);
    }
  });

  it("does not re-propose a value already in flight or judged from the same setting", () => {
    const ctx = context({ config: config({ knobs: ["LEARNING_RATE"] }) });
    const first = mutationsOf(proposeMutation(ctx).meta);
    const again = mutationsOf(proposeMutation({ ...ctx, inFlight: [summary(1, "running", first, null)] }).meta);
    expect(again[0]?.to).not.toBe(first[0]?.to);
    const judged = mutationsOf(proposeMutation({ ...ctx, history: [summary(1, "discard", first)] }).meta);
    expect(judged[0]?.to).not.toBe(first[0]?.to);
  });

  it("writes a title, a hypothesis, meta and a trace that explains the choice", () => {
    const ctx = context({ config: config({ knobs: ["LEARNING_RATE"] }), experiment: 3, history: [summary(1, "keep", [lr(0.001, 0.002)], 0.35)] });
    const p = proposeMutation(ctx);
    const [m] = mutationsOf(p.meta);
    expect(p.title).toMatch(/^LEARNING_RATE 0\.002 -> [\d.e-]+$/);
    expect(p.hypothesis).toMatch(/LEARNING_RATE from 0\.002 to .* lowers val_loss\./);
    expect(p.usage).toBeUndefined();
    expect(m).toMatchObject({ file: "train.mjs", name: "LEARNING_RATE", from: 0.002 });
    expect(p.trace).toContain("### LEARNING_RATE (train.mjs:3)");
    expect(p.trace).toContain("1 kept of 1 tried");
    expect(p.trace).toContain("momentum: the last kept change of this knob went up");
    expect(p.trace).toContain("#1 0.001 -> 0.002 kept (val_loss 0.35)");
  });

  it("fails with a ProposerError when there is nothing to tune", () => {
    const ctx = context({ config: config({}, ["train.py"]), files: { "train.py": "def main():\n    lr = 0.1\n" } });
    expect(() => proposeMutation(ctx)).toThrow(ProposerError);
    expect(() => proposeMutation(ctx)).toThrow(
      "mutate found no top-level numeric constants in train.py; list them in proposer.knobs or use proposer.kind: claude",
    );
  });
});

describe("replayKnobStats: the 1/5 success rule, replayed from the history", () => {
  const sigmaAfter = (outcomes: ExperimentSummary["outcome"][]) =>
    replayKnobStats(outcomes.map((o, i) => summary(i + 1, o, [lr(0.002, 0.003)]))).get("train.mjs\0LEARNING_RATE")?.sigma ?? SIGMA0;

  it.each([
    ["nothing", [], "equal"],
    ["one keep", ["keep"], "larger"],
    ["one discard", ["discard"], "smaller"],
    ["one failure", ["failed"], "smaller"],
    ["one keep in five", ["keep", "discard", "discard", "discard", "discard"], "equal"],
    ["two keeps in five", ["keep", "discard", "keep", "discard", "discard"], "larger"],
  ] as const)("%s -> sigma %s than at the start", (_what, outcomes, expected) => {
    const s = sigmaAfter([...outcomes]);
    if (expected === "equal") expect(s).toBeCloseTo(SIGMA0, 10);
    else if (expected === "larger") expect(s).toBeGreaterThan(SIGMA0);
    else expect(s).toBeLessThan(SIGMA0);
  });

  it("stays within its bounds", () => {
    expect(sigmaAfter(Array(50).fill("keep"))).toBe(SIGMA_MAX);
    expect(sigmaAfter(Array(200).fill("discard"))).toBe(SIGMA_MIN);
  });

  it("ignores experiments without mutations and experiments still running", () => {
    const other: ExperimentSummary = { ...summary(1, "keep", []), meta: { from: "claude" } };
    expect(replayKnobStats([other, summary(2, "running", [lr(1, 2)])]).size).toBe(0);
  });

  it("shows in the next proposal's meta", () => {
    const ctx = context({ config: config({ knobs: ["LEARNING_RATE"] }), experiment: 4 });
    const sigmaOf = (history: ExperimentSummary[]) =>
      (proposeMutation({ ...ctx, history }).meta?.mutations as Array<{ sigma: number }> | undefined)?.[0]?.sigma;
    expect(sigmaOf([])).toBe(SIGMA0);
    expect(sigmaOf([summary(1, "keep", [lr(0.001, 0.002)])])).toBeGreaterThan(SIGMA0);
    expect(sigmaOf([summary(1, "discard", [lr(0.002, 0.003)])])).toBeLessThan(SIGMA0);
  });

  it("sets the momentum of each knob from its last kept change", () => {
    const stats = replayKnobStats([
      summary(1, "keep", [lr(0.001, 0.002)]),
      summary(2, "keep", [lr(0.002, 0.0015)]),
      summary(3, "discard", [lr(0.0015, 0.003)]),
    ]);
    expect(stats.get("train.mjs\0LEARNING_RATE")).toMatchObject({ keeps: 2, momentum: -1 });
  });
});

describe("upProbability", () => {
  const knob = findKnobsInFile("train.mjs", "const LR = 0.002;\n")[0];
  const rec = (tries: Array<[number, number, ExperimentSummary["outcome"]]>, momentum: -1 | 0 | 1) => ({
    key: "k",
    sigma: SIGMA0,
    keeps: 0,
    momentum,
    tries: tries.map(([from, to, outcome], i) => ({ experiment: i + 1, from, to, outcome, metric: null })),
  });
  it.each([
    ["no evidence", [], 0, 0.5],
    ["kept going up", [[0.001, 0.002, "keep"]], 1, 0.8],
    ["kept going down", [[0.004, 0.002, "keep"]], -1, 0.2],
    ["up from here failed", [[0.002, 0.004, "discard"]], 1, 0.2],
    ["down from here failed", [[0.002, 0.001, "failed"]], 0, 0.8],
    [
      "both failed: momentum decides",
      [
        [0.002, 0.001, "discard"],
        [0.002, 0.004, "discard"],
      ],
      -1,
      0.2,
    ],
  ] as const)("%s -> P(up) %s", (_what, tries, momentum, p) => {
    if (!knob) throw new Error("no knob");
    expect(
      upProbability(
        knob,
        rec(
          tries.map((t) => [...t]),
          momentum,
        ),
      ).p,
    ).toBeCloseTo(p, 10);
  });

  it("prefers the momentum direction across many proposals", () => {
    const ctx = context({ config: config({ knobs: ["LEARNING_RATE"] }), history: [summary(1, "keep", [lr(0.001, 0.002)])] });
    const ups = Array.from({ length: 200 }, (_, i) => mutationsOf(proposeMutation({ ...ctx, experiment: i + 2 }).meta)[0]).filter(
      (m) => m && m.to > m.from,
    ).length;
    expect(ups).toBeGreaterThan(130);
    expect(ups).toBeLessThan(190);
  });
});

describe("lineEdits", () => {
  it("falls back to writing the file when no unique context exists", () => {
    const text = "x = 1\nx = 1\nx = 1\nx = 1\nx = 1\nx = 1\nx = 1\nx = 1\nx = 1\n";
    expect(lineEdits("t.py", text, new Map([[4, "x = 2"]]))).toEqual([
      { kind: "write", path: "t.py", content: text.replace(/^((?:x = 1\n){4})x = 1/, "$1x = 2") },
    ]);
  });

  it("keeps CRLF line endings", () => {
    const edits = lineEdits("t.py", "a = 1\r\nb = 2\r\n", new Map([[1, "b = 3"]]));
    expect(apply({ "t.py": "a = 1\r\nb = 2\r\n" }, edits)["t.py"]).toBe("a = 1\r\nb = 3\r\n");
  });
});

describe("the registry", () => {
  it("creates the mutate proposer", async () => {
    const p = createProposer(config(), { env: {} });
    expect((await p.propose(context())).title).toBe((await createMutateProposer().propose(context())).title);
  });

  it("creates claude only with an API key, and suggests mutate without one", () => {
    expect(() => createProposer(config({ kind: "claude" }), { env: {} })).toThrow(ProposerError);
    expect(() => createProposer(config({ kind: "claude" }), { env: {} })).toThrow(/ANTHROPIC_API_KEY.*proposer\.kind: mutate/);
    expect(createProposer(config({ kind: "claude" }), { env: { ANTHROPIC_API_KEY: "sk-test" } })).toBeDefined();
  });
});

describe("call arguments and exclusions", () => {
  const PY = [
    "import torch",
    "eval_iters = 200",
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)",
    "for step in range(100):",
    "    loss = step_fn(opt)",
    "",
  ].join("\n");
  const pyContext = (proposer: Record<string, unknown>, experiment = 1) =>
    context({ experiment, config: config(proposer, ["train.py"]), files: { "train.py": PY } });

  it("tunes a keyword argument the configuration lists, changing only its literal", () => {
    for (let n = 1; n <= 20; n++) {
      const p = proposeMutation(pyContext({ knobs: ["AdamW(lr)"] }, n));
      const after = apply({ "train.py": PY }, p.edits)["train.py"] ?? "";
      const m = /^opt = torch\.optim\.AdamW\(model\.parameters\(\), lr=([0-9.e-]+), weight_decay=0\.1\)$/m.exec(after);
      expect(m, after).not.toBeNull();
      expect(Number(m?.[1])).not.toBe(3e-4);
      expect(after.replace(/lr=[0-9.e-]+/, "lr=3e-4")).toBe(PY);
      expect(p.title).toMatch(/^AdamW\(lr\) 3e-4 -> /);
    }
  });

  it("changes two arguments of one line together when both are drawn", () => {
    let both = 0;
    for (let n = 1; n <= 40; n++) {
      const p = proposeMutation(pyContext({ knobs: ["AdamW(lr)", "AdamW(weight_decay)"] }, n));
      const after = apply({ "train.py": PY }, p.edits)["train.py"] ?? "";
      const m = /AdamW\(model\.parameters\(\), lr=([0-9.e-]+), weight_decay=([0-9.e-]+)\)/.exec(after);
      expect(m, after).not.toBeNull();
      const changed = mutationsOf(p.meta);
      if (changed.length === 2) {
        both++;
        expect(Number(m?.[1])).toBe(changed.find((c) => c.name === "AdamW(lr)")?.to);
        expect(Number(m?.[2])).toBe(changed.find((c) => c.name === "AdamW(weight_decay)")?.to);
      }
    }
    expect(both).toBeGreaterThan(0);
  });

  it("never touches an excluded knob, nor a measurement setting by default", () => {
    for (let n = 1; n <= 30; n++) {
      const names = mutationsOf(proposeMutation(pyContext({ knobs: ["lr", "weight_decay"], exclude: ["weight_decay"] }, n)).meta).map((m) => m.name);
      expect(names).toEqual(["AdamW(lr)"]);
    }
    // By default only top-level constants are tuned, and eval_iters is a measurement setting: nothing left.
    expect(() => proposeMutation(pyContext({}))).toThrow(/only measurement or logging settings, which are not tuned unless listed: eval_iters/);
  });
});
