import { describe, expect, it } from "vitest";
import { minImprovementAbsolute, parseConfig, parseConfigText, parseDurationSeconds } from "../../src/core/config.js";
import { ConfigError } from "../../src/errors.js";

const minimal = "metric:\n  name: val_loss\n  goal: minimize\nrun: node train.mjs\neditable: [train.mjs]\n";

function issuesOf(text: string): string[] {
  try {
    parseConfigText(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("applies defaults to a minimal config", () => {
    const c = parseConfigText(minimal);
    expect(c.budget).toMatchObject({ experiment_timeout: 300, max_experiments: 50, parallel: 1, patience: 20 });
    expect(c.accept).toMatchObject({ repeats: 3, baseline_repeats: 3, confidence: 0.99, prefer_simpler: true });
    expect(c.proposer.kind).toBe("mutate");
  });

  it.each<[string, string, string]>([
    ["unknown top-level key", `${minimal}extra: 1\n`, "extra: unknown key"],
    ["unknown nested key", `${minimal}budget:\n  paralel: 2\n`, "budget.paralel: unknown key"],
    ["bad goal", minimal.replace("minimize", "lower"), "metric.goal:"],
    ["missing run", minimal.replace("run: node train.mjs\n", ""), "run:"],
    ["empty editable", minimal.replace("[train.mjs]", "[]"), "editable:"],
    [".github editable", minimal.replace("[train.mjs]", "[.github/workflows/x.yml]"), 'editable[0]: glob ".github/workflows/x.yml" reaches .github/**'],
    ["escaping glob", minimal.replace("[train.mjs]", "[../x.py]"), "editable[0]:"],
    ["bad duration", `${minimal}budget:\n  experiment_timeout: soon\n`, "budget.experiment_timeout: expected a positive duration"],
    ["bad percentage", `${minimal}accept:\n  min_improvement: "half"\n`, "accept.min_improvement"],
    [
      "pattern without a group",
      `${minimal.replace("goal: minimize", "goal: minimize\n  pattern: 'val [0-9.]+'")}`,
      "metric.pattern: expected exactly one capture group, found 0",
    ],
    ["invalid pattern", `${minimal.replace("goal: minimize", "goal: minimize\n  pattern: '(['")}`, "metric.pattern: invalid regular expression"],
    ["confidence out of range", `${minimal}accept:\n  confidence: 1.5\n`, "accept.confidence"],
    ["unknown scale", `${minimal}accept:\n  scale: sqrt\n`, "accept.scale"],
    ["one confirmation seed", `${minimal}accept:\n  confirm_repeats: 1\n`, "accept.confirm_repeats: expected 0 (off) or at least 2"],
    ["guard without a goal", `${minimal}guards:\n  - { name: acc }\n`, "guards[0].goal"],
    ["guard named like the metric", `${minimal}guards:\n  - { name: val_loss, goal: minimize }\n`, 'guards[0].name: "val_loss" is already the metric'],
    [
      "two guards of one name",
      `${minimal}guards:\n  - { name: acc, goal: maximize }\n  - { name: acc, goal: maximize }\n`,
      'guards[1].name: "acc" is already a guard',
    ],
    [
      "guard pattern without a group",
      `${minimal}guards:\n  - { name: acc, goal: maximize, pattern: 'acc [0-9.]+' }\n`,
      "guards[0].pattern: expected exactly one capture group",
    ],
    ["bad guard tolerance", `${minimal}guards:\n  - { name: acc, goal: maximize, tolerance: "a bit" }\n`, "guards[0].tolerance"],
    ["unknown guard key", `${minimal}guards:\n  - { name: acc, goal: maximize, tol: 1 }\n`, "guards[0].tol: unknown key"],
    ["input outside the repository", `${minimal}inputs: [../data]\n`, 'inputs[0]: path "../data" must be relative'],
    ["input in .git", `${minimal}inputs: [.git/config]\n`, 'inputs[0]: path ".git/config" is not an input'],
    ["a knob that is an expression", `${minimal}proposer:\n  knobs: ["lr * 2"]\n`, "proposer.knobs[0]: expected a constant name"],
    ["an excluded knob with two arguments", `${minimal}proposer:\n  exclude: ["f(a, b)"]\n`, "proposer.exclude[0]: expected a constant name"],
  ])("%s", (_n, text, message) => {
    expect(issuesOf(text).join("\n")).toContain(message);
  });

  it("accepts inputs and knobs in each of their forms", () => {
    const c = parseConfigText(
      `${minimal}inputs: [data/, input.txt, "shards/*.bin"]\nproposer:\n  knobs: [LR, "AdamW(lr)", "torch.optim.SGD(momentum)", "AdamW(lr=...)", "Adam(betas=)"]\n  exclude: [eval_iters, "print(end)"]\n`,
    );
    expect(c.inputs).toEqual(["data/", "input.txt", "shards/*.bin"]);
    expect(c.proposer.knobs).toHaveLength(5);
    expect(c.proposer.exclude).toEqual(["eval_iters", "print(end)"]);
    expect(parseConfigText(minimal).inputs).toEqual([]);
  });

  it("reports every problem, not only the first", () => {
    const issues = issuesOf("metric:\n  name: x\nrun: ''\neditable: []\nfoo: 1\n");
    expect(issues.length).toBeGreaterThanOrEqual(4);
  });

  it("names the line of a YAML syntax error", () => {
    expect(() => parseConfigText("metric: [\n")).toThrow(/not valid YAML/);
  });

  it("rejects an empty file", () => {
    expect(() => parseConfigText("")).toThrow(ConfigError);
  });

  it.each([
    ["90", 90],
    ["90s", 90],
    ["5m", 300],
    ["1.5h", 5400],
    ["500ms", 0.5],
    [30, 30],
    ["0", undefined],
    ["-1m", undefined],
    ["5 minutes", undefined],
  ] as const)("duration %s -> %s", (v, want) => {
    expect(parseDurationSeconds(v)).toBe(want);
  });

  it("reads guards with their tolerance, absolute or relative; scale and confirm_repeats default to auto and 5", () => {
    const c = parseConfigText(
      `${minimal}guards:\n  - { name: acc, goal: maximize, tolerance: "1%" }\n  - { name: secs, goal: minimize, file: m.json, tolerance: 5 }\n  - { name: mem, goal: minimize }\n`,
    );
    expect(c.guards).toEqual([
      { name: "acc", goal: "maximize", tolerance: { kind: "relative", value: 0.01 } },
      { name: "secs", goal: "minimize", file: "m.json", tolerance: { kind: "absolute", value: 5 } },
      { name: "mem", goal: "minimize", tolerance: { kind: "absolute", value: 0 } },
    ]);
    expect(c.accept).toMatchObject({ scale: "auto", confirm_repeats: 5 });
    expect(parseConfigText(`${minimal}accept:\n  confirm_repeats: 0\n`).accept.confirm_repeats).toBe(0);
  });

  it("resolves relative min_improvement against the baseline", () => {
    const c = parseConfigText(`${minimal}accept:\n  min_improvement: "2%"\n`);
    expect(minImprovementAbsolute(c, -50)).toBeCloseTo(1, 12);
    expect(minImprovementAbsolute(parseConfigText(minimal), 50)).toBe(0);
  });
});

describe("schedule", () => {
  const base = { metric: { name: "loss", goal: "minimize" }, run: "x", editable: ["a"] };
  it.each([
    ["0 2 * * *", undefined],
    ["*/15 * * * 1-5", undefined],
    ["61 2 * * *", "schedule: not a cron expression: Constraint error, got value 61 expected range 0-59"],
    ["nightly", 'schedule: expected five cron fields (minute hour day month weekday), got "nightly"'],
  ])("%j", (cron, problem) => {
    if (problem === undefined) expect(parseConfig({ ...base, schedule: cron }).schedule).toBe(cron);
    else expect(() => parseConfig({ ...base, schedule: cron })).toThrow(problem);
  });
});
