import { describe, expect, it } from "vitest";
import type { Config } from "../../src/core/config.js";
import { parseMetric, readMetricFile } from "../../src/runner/metric.js";

const byName: Config["metric"] = { name: "val_loss", goal: "minimize" };
const byPattern: Config["metric"] = { name: "val_loss", goal: "minimize", pattern: "val loss ([0-9.eE+-]+)" };
const byLoosePattern: Config["metric"] = { name: "acc", goal: "maximize", pattern: "acc=(\\S+)" };

describe("parseMetric", () => {
  it.each([
    ["colon", "val_loss: 0.1234", byName, 0.1234],
    ["equals sign and exponent", "val_loss = 1e-3", byName, 0.001],
    ["indent and trailing text", "  val_loss:2.5 (best so far)", byName, 2.5],
    ["negative value", "val_loss: -3", byName, -3],
    ["a sentence's full stop", "val_loss: 0.5.", byName, 0.5],
    ["leading dot", "val_loss: .5", byName, 0.5],
    ["last line wins", "val_loss: 3\nval_loss: 2\nval_loss: 1\ndone", byName, 1],
    ["other metrics around it", "train_loss: 9\nval_loss: 4\nval_loss_ema: 7", byName, 4],
    ["ANSI colours around it", "\u001b[32mval_loss: 0.5\u001b[0m\n", byName, 0.5],
    ["after a progress bar", "epoch 1 10%\repoch 1 100%\rval_loss: 0.7\n", byName, 0.7],
    ["CRLF line endings", "val_loss: 0.25\r\nbye\r\n", byName, 0.25],
    ["a number line beats a later word line", "val_loss: 0.5\nval_loss: pending", byName, 0.5],
    ["pattern", "step 499: train loss 2.41, val loss 2.40", byPattern, 2.4],
    ["pattern, last match wins", "step 1: val loss 3.1\nstep 2: val loss 2.9 | step 3: val loss 2.8\nend", byPattern, 2.8],
    ["pattern with exponent", "val loss 1.5e-2", byPattern, 0.015],
    ["pattern, trimmed capture", "acc=0.91", byLoosePattern, 0.91],
  ])("reads %s", (_name, output, metric, expected) => {
    expect(parseMetric(output, metric)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["NaN", "val_loss: nan", byName, /val_loss is nan, not a finite number/],
    ["NaN capitalised", "val_loss: NaN", byName, /NaN/],
    ["inf", "val_loss: inf", byName, /inf/],
    ["-inf", "val_loss = -inf", byName, /-inf/],
    ["Infinity", "val_loss: Infinity", byName, /Infinity/],
    ["overflow", "val_loss: 1e999", byName, /1e999/],
    ["last line NaN after good ones", "val_loss: 0.5\nval_loss: nan", byName, /nan/],
    ["pattern capture NaN", "val loss nan", { ...byLoosePattern, pattern: "val loss (\\S+)" }, /nan/],
    ["pattern capture inf", "acc=inf", byLoosePattern, /inf/],
  ])("reports %s as non_finite", (_name, output, metric, reason) => {
    const r = parseMetric(output, metric);
    expect(r).toMatchObject({ ok: false, status: "non_finite" });
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it.each([
    ["missing", "epoch 1\ntrain_loss: 0.3\nsaved", byName, /no line "val_loss: <number>" in the output; last lines: "epoch 1", "train_loss: 0.3", "saved"/],
    ["empty output", "", byName, /the output was empty/],
    ["not a number", "val_loss: abc", byName, /the line "val_loss: abc" does not hold a number/],
    ["number glued to a word", "val_loss: 0.5abc", byName, /"val_loss: 0.5abc" does not hold a number/],
    ["a version-like value", "val_loss: 1.2.3", byName, /does not hold a number/],
    ["'inf' starting a word", "val_loss: inference", byName, /does not hold a number/],
    ["case differs", "VAL_LOSS: 0.5", byName, /no line/],
    ["not at line start", "epoch 3 val_loss: 0.5", byName, /no line/],
    [
      "pattern without match",
      "train loss 2.41",
      byPattern,
      /no match for metric.pattern \/val loss \(\[0-9.eE\+-\]\+\)\/ in the output; last lines: "train loss 2.41"/,
    ],
    ["pattern capturing a non-number", "acc=high", byLoosePattern, /matched "acc=high" but captured "high", which is not a number/],
    ["pattern capturing dots only", "val loss ...", byPattern, /captured "\.\.\."/],
  ])("reports %s as no_metric", (_name, output, metric, reason) => {
    const r = parseMetric(output, metric);
    expect(r).toMatchObject({ ok: false, status: "no_metric" });
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("quotes only the last few lines, shortened", () => {
    const output = Array.from({ length: 50 }, (_, i) => `line ${i} ${"x".repeat(200)}`).join("\n");
    const r = parseMetric(output, byName);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain("line 49");
      expect(r.reason).not.toContain("line 44");
      expect(r.reason.length).toBeLessThan(800);
    }
  });

  it("treats regex characters in the name literally", () => {
    const metric: Config["metric"] = { name: "val.loss", goal: "minimize" };
    expect(parseMetric("valXloss: 1\nval.loss: 2\nvalyloss: 3", metric)).toEqual({ ok: true, value: 2 });
  });
});

describe("readMetricFile", () => {
  it.each([
    ["a number", '{"val_loss": 0.25}', "val_loss", 0.25],
    ["a numeric string", '{"val_loss": " 1e-2 "}', "val_loss", 0.01],
    ["a nested dotted key", '{"eval": {"val_loss": 1.5}}', "eval.val_loss", 1.5],
    ["a literal dotted key first", '{"eval.val_loss": 2, "eval": {"val_loss": 1}}', "eval.val_loss", 2],
  ])("reads %s", (_name, json, name, expected) => {
    expect(readMetricFile(json, name)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["Python's bare NaN", '{"val_loss": NaN}', "val_loss", "non_finite", /"val_loss" in the metric file is NaN/],
    ["Python's bare -Infinity", '{"a": 1, "val_loss": -Infinity}', "val_loss", "non_finite", /-Infinity/],
    ["a string nan", '{"val_loss": "nan"}', "val_loss", "non_finite", /nan/],
    ["an overflowing number", '{"val_loss": 1e999}', "val_loss", "non_finite", /Infinity/],
    ["a missing key", '{"train_loss": 1, "step": 3}', "val_loss", "no_metric", /has no key "val_loss"; the top level has keys "train_loss", "step"/],
    ["a missing nested key", '{"eval": {"loss": 1}}', "eval.val_loss", "no_metric", /eval has keys "loss"/],
    ["a string", '{"val_loss": "low"}', "val_loss", "no_metric", /is "low", not a number/],
    ["null", '{"val_loss": null}', "val_loss", "no_metric", /is null, not a number/],
    ["an object", '{"val_loss": {"mean": 1}}', "val_loss", "no_metric", /is object, not a number/],
    ["an array at the top", "[1, 2]", "val_loss", "no_metric", /expected a JSON object, found an array/],
    ["invalid JSON", '{"val_loss": ', "val_loss", "no_metric", /is not valid JSON/],
  ])("reports %s", (_name, json, name, status, reason) => {
    const r = readMetricFile(json, name);
    expect(r).toMatchObject({ ok: false, status });
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("does not turn NaN inside a string into a value", () => {
    const r = readMetricFile('{"note": "x: NaN,", "val_loss": 0.5}', "val_loss");
    expect(r).toEqual({ ok: true, value: 0.5 });
  });
});
