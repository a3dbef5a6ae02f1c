import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/core/config.js";
import { findKnobs, selectKnobs } from "../../src/proposers/knobs.js";

const run = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL("../../examples/tiny-regression/", import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tiny-regression-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Copies the example to a fresh folder, optionally rewriting constants of train.mjs. */
async function copy(name: string, constants: Record<string, string> = {}): Promise<string> {
  const to = join(dir, name);
  await cp(EXAMPLE, to, { recursive: true });
  let train = await readFile(join(to, "train.mjs"), "utf8");
  for (const [k, v] of Object.entries(constants)) {
    const next = train.replace(new RegExp(`^const ${k} = .*;$`, "m"), `const ${k} = ${v};`);
    expect(next, `${k} not found in train.mjs`).not.toBe(train);
    train = next;
  }
  await writeFile(join(to, "train.mjs"), train);
  return to;
}

/** Runs train then eval as the runner would; returns the metric and both outputs. */
async function trainAndEval(cwd: string, seed: number): Promise<{ valLoss: number; train: string; evalOut: string }> {
  const env = { ...process.env, AUTORESEARCH_SEED: String(seed) };
  const train = await run("node", ["train.mjs"], { cwd, env, timeout: 20_000 });
  const evaluation = await run("node", ["eval.mjs"], { cwd, env, timeout: 20_000 });
  const last = evaluation.stdout.trim().split("\n").at(-1) ?? "";
  const m = /^val_loss: (\S+)$/.exec(last);
  expect(m, `eval printed ${JSON.stringify(last)}`).not.toBeNull();
  return { valLoss: Number(m?.[1]), train: train.stdout, evalOut: evaluation.stdout };
}

describe("examples/tiny-regression", () => {
  it("has a valid campaign configuration whose knobs exist in train.mjs", async () => {
    const config = parseConfigText(await readFile(join(EXAMPLE, ".github/autoresearch.yml"), "utf8"));
    expect(config).toMatchObject({
      metric: { name: "val_loss", goal: "minimize" },
      run: "node train.mjs",
      eval: "node eval.mjs",
      editable: ["train.mjs"],
      budget: { experiment_timeout: 30, parallel: 2 },
      proposer: { kind: "mutate" },
    });
    const train = await readFile(join(EXAMPLE, "train.mjs"), "utf8");
    const knobs = selectKnobs(findKnobs({ "train.mjs": train }), config.proposer.knobs);
    expect(knobs.map((k) => k.name)).toEqual(config.proposer.knobs);
  });

  it("trains, evaluates, differs across seeds and repeats for a fixed seed", async () => {
    const cwd = await copy("default");
    const a = await trainAndEval(cwd, 0);
    const b = await trainAndEval(cwd, 1);
    const again = await trainAndEval(cwd, 0);
    expect(Number.isFinite(a.valLoss) && a.valLoss > 0).toBe(true);
    expect(a.train).toMatch(/train_loss/);
    expect(a.train).not.toMatch(/val_loss/);
    expect(b.valLoss).not.toBe(a.valLoss);
    // Noise, not a different task: seeds agree within 20%.
    expect(Math.abs(b.valLoss - a.valLoss) / a.valLoss).toBeLessThan(0.2);
    // The step cap ends training with the defaults, so a fixed seed is deterministic.
    expect(a.train).toMatch(/\(step cap\)/);
    expect(again.valLoss).toBe(a.valLoss);
  });

  it("rewards a better learning rate by well over 10%", async () => {
    const base = await copy("base");
    const tuned = await copy("tuned", { LEARNING_RATE: "0.02" });
    for (const seed of [0, 1]) {
      const [d, t] = await Promise.all([trainAndEval(base, seed), trainAndEval(tuned, seed)]);
      expect(t.valLoss, `seed ${seed}`).toBeLessThan(0.9 * d.valLoss);
    }
  });

  it("fails clearly when model.json is missing", async () => {
    const cwd = await copy("empty");
    await expect(run("node", ["eval.mjs"], { cwd })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("model.json not found") });
  });
});
