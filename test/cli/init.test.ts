/**
 * `autoresearch init --yes --run-once` end to end, then the campaign, with no edit to the
 * configuration in between: small repositories as new users bring them.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/core/config.js";
import { cli, ensureBuilt, git, lastLine, makeRepo, tempRoot } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("init");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

/** init, commit the configuration as the README says, run a short campaign; returns what each step printed. */
async function initThenRun(repo: string, initArgs: string[] = []) {
  const init = await cli(root.dir, repo, ["init", "--yes", "--run-once", ...initArgs]);
  expect(init.code, init.all).toBe(0);
  const text = await readFile(join(repo, ".github", "autoresearch.yml"), "utf8");
  const config = parseConfigText(text);
  const validate = await cli(root.dir, repo, ["validate"]);
  expect(validate.code, validate.all).toBe(0);
  await git(repo, ["add", ".github/autoresearch.yml"]);
  await git(repo, ["commit", "-q", "-m", "autoresearch config"]);
  const run = await cli(root.dir, repo, ["run", "--json", "--max-experiments", "3", "--no-progress"], { timeoutMs: 90_000 });
  expect(run.code, run.all).toBe(0);
  const summary = JSON.parse(lastLine(run.stdout)) as Record<string, unknown>;
  return { init, text, config, run, summary };
}

const PY_STEPS = `import os, random

LEARNING_RATE = 0.5
eval_interval = 1
eval_iters = 4
SEED = 1337

with open(os.path.join("data", "target.txt")) as f:
    target = float(f.read())
random.seed(int(os.environ.get("AUTORESEARCH_SEED", SEED)))
for step in range(0, 3, eval_interval):
    noise = sum(random.random() for _ in range(eval_iters)) * 1e-5
    train_loss = (LEARNING_RATE - target) ** 2 + 1.0 / (step + 1) + noise
    val_loss = (LEARNING_RATE - target) ** 2 + 0.5 / (step + 1) + noise
    print(f"step {step}: train loss {train_loss:.5f}, val loss {val_loss:.5f}")
`;

const NODE_PHRASE = `// A tiny network's training, as a JavaScript tutorial prints it.
const LEARNING_RATE = 0.8;
const HIDDEN = 3;
const ITERATIONS = 200;
let cost = 1;
for (let i = 0; i < ITERATIONS; i++) cost = Math.abs(LEARNING_RATE - 0.3) ** 2 * 1e-5 + 1 / (HIDDEN * (i + 1)) * 1e-6;
console.log("Iteration " + ITERATIONS + " done");
console.log("Cost on training data: " + (cost * 2).toExponential(3));
console.log("Cost on new testing data: " + (cost + Number(process.env.AUTORESEARCH_SEED) * 1e-12).toExponential(4));
`;

const PY_KWARG = `import os

def fit(weights, lr=0.01, steps=3):
    w = weights
    for _ in range(steps):
        w = w - lr * 2 * (w - 3.0)
    return w

w = fit(0.0, lr=0.05, steps=20)
accuracy = 1.0 / (1.0 + (w - 3.0) ** 2) + int(os.environ.get("AUTORESEARCH_SEED", "1")) * 1e-9
print(f"epoch 20 accuracy={accuracy:.6f}")
`;

describe("init --yes --run-once, then a campaign with no edit", { timeout: 150_000 }, () => {
  it("a Python script printing 'step N: train loss X, val loss Y' that needs a git-ignored data folder", async () => {
    const repo = await makeRepo(root.dir, "py-steps", { "train.py": PY_STEPS, ".gitignore": "data/\n__pycache__/\n" });
    await import("node:fs/promises").then(async (fs) => {
      await fs.mkdir(join(repo, "data"));
      await fs.writeFile(join(repo, "data", "target.txt"), "0.1\n");
    });
    const { init, config, text, summary } = await initThenRun(repo);
    expect(init.stdout).toContain("Run command: python3 train.py (from script train.py)");
    expect(config.run).toBe("python3 train.py");
    expect(config.inputs).toEqual(["data/"]);
    expect(config.metric).toMatchObject({ name: "val_loss", goal: "minimize" });
    expect(config.metric.pattern).toBeDefined();
    expect(config.proposer.knobs).toEqual(["LEARNING_RATE"]);
    expect(config.proposer.exclude).toEqual(["eval_interval", "eval_iters", "SEED"]);
    expect(text).toMatch(/experiment_timeout: \d+s {2}# one run took \d+\.\d s; 2x headroom/);
    expect(init.stdout).toMatch(/Time box: \d+s \(one run took/);
    // The baseline is the last val loss: (0.5 - 0.1)^2 + 0.5/3 plus a tiny noise.
    expect(summary.baseline as number).toBeCloseTo(0.16 + 0.5 / 3, 3);
    expect(summary).toMatchObject({ experiments: 3, failed: 0 });
  });

  it("a Node script that prints its metric in a phrase", async () => {
    const repo = await makeRepo(root.dir, "node-phrase", { "network.js": NODE_PHRASE, "README.md": "# A neural network in JavaScript\n" });
    const { config, summary } = await initThenRun(repo);
    expect(config.run).toBe("node network.js");
    expect(config.metric).toMatchObject({ name: "cost_on_new_testing_data", goal: "minimize" });
    expect(config.proposer.knobs).toEqual(["LEARNING_RATE", "HIDDEN", "ITERATIONS"]);
    expect(summary.baseline as number).toBeGreaterThan(0);
    expect(summary.baseline as number).toBeLessThan(1e-5);
    expect(summary).toMatchObject({ experiments: 3, failed: 0 });
  });

  it("a script whose learning rate is an inline keyword argument: mutate tunes it", async () => {
    const repo = await makeRepo(root.dir, "py-kwarg", { "model.py": PY_KWARG });
    const { config, summary } = await initThenRun(repo);
    expect(config.metric).toMatchObject({ name: "accuracy", goal: "maximize" });
    expect(config.proposer.knobs).toEqual(["fit(lr)", "fit(steps)"]);
    expect(summary).toMatchObject({ experiments: 3, failed: 0 });
    const events = (await readFile(join(repo, ".autoresearch", "campaigns", "1", "events.jsonl"), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const titles = events.filter((e) => e.type === "experiment_proposed").map((e) => e.title as string);
    expect(titles.some((t) => /^fit\((lr|steps)\)/.test(t))).toBe(true);
    // The kept change edits the call's argument in place.
    if ((summary.kept as number) > 0) {
      const best = await git(repo, ["show", "autoresearch/1/best:model.py"]);
      expect(best).toMatch(/^w = fit\(0\.0, lr=[0-9.e-]+, steps=\d+\)$/m);
      expect(best).not.toBe(PY_KWARG.trimEnd());
    }
  });
});

describe("init --run-once that fails", { timeout: 60_000 }, () => {
  it("shows the last lines and the hint, writes what it guessed, and exits 2", async () => {
    const repo = await makeRepo(root.dir, "py-broken", { "train.py": "import sys\nLR = 0.1\nprint('loading')\nraise SystemExit('no GPU found')\n" });
    const r = await cli(root.dir, repo, ["init", "--yes", "--run-once"]);
    expect(r.code, r.all).toBe(2);
    expect(r.stdout).toContain("The run command exited with code 1. Last lines of its output:");
    expect(r.stdout).toContain("  no GPU found");
    expect(r.stdout).toContain("Fill in the lines marked TODO");
    expect(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8")).toMatch(/^run: python3 train\.py$/m);
  });
});
