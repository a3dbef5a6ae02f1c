/** The configuration `autoresearch init` writes, as text (the command itself is tested end to end in init.test.ts). */
import { describe, expect, it } from "vitest";
import { configText, type Draft } from "../../src/cli/init/draft.js";
import { parseConfigText } from "../../src/core/config.js";

describe("configText", () => {
  const draft: Draft = {
    run: "python train.py",
    editable: ["train.py"],
    inputs: [],
    metric: { name: "val_loss", goal: "minimize" },
    goal: "minimize",
    knobs: [],
    exclude: [],
    proposer: "mutate",
  };

  it("is valid as written, with no guard", () => {
    expect(parseConfigText(configText(draft)).guards).toEqual([]);
  });

  it("has a commented guards example that is valid once uncommented", () => {
    const text = configText(draft).replace(/^# (guards:| {2}- \{ name: )/gm, "$1");
    expect(text).toMatch(/^guards:$/m);
    const config = parseConfigText(text);
    expect(config.guards).toEqual([
      { name: "accuracy", goal: "maximize", tolerance: { kind: "relative", value: 0.01 } },
      { name: "train_seconds", goal: "minimize", tolerance: { kind: "absolute", value: 30 } },
    ]);
    expect(config.accept).toMatchObject({ scale: "auto", confirm_repeats: 5 });
  });
});
