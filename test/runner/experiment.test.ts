import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ConfigInput, parseConfig } from "../../src/core/config.js";
import { runExperiment } from "../../src/runner/experiment.js";

const NODE = JSON.stringify(process.execPath);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "experiment-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(overrides: Partial<ConfigInput> = {}) {
  return parseConfig({
    metric: { name: "val_loss", goal: "minimize" },
    run: "true",
    editable: ["train.mjs"],
    budget: { experiment_timeout: 10 },
    ...overrides,
  });
}

describe("runExperiment", () => {
  it("reads the metric from the run's output and passes seed and time budget", async () => {
    await writeFile(
      join(dir, "train.mjs"),
      'console.log("seed", process.env.AUTORESEARCH_SEED, "budget", process.env.AUTORESEARCH_TIME_BUDGET);\nconsole.log("val_loss: 0.42");\n',
    );
    const r = await runExperiment({ cwd: dir, config: config({ run: `${NODE} train.mjs` }), seed: 7 });
    expect(r).toMatchObject({ status: "ok", metric: 0.42, exitCode: 0, reason: "" });
    expect(r.tail).toMatch(/^--- run: exit 0 after [\d.]+ s ---\nseed 7 budget 10\nval_loss: 0.42$/);
    expect(r.seconds).toBeGreaterThan(0);
  });

  it("gives the command the caller's environment, not necessarily this process's", async () => {
    const r = await runExperiment({
      cwd: dir,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
      config: config({ run: 'echo "token=${SECRET_TOKEN:-none} path=${PATH:+set}"; echo val_loss: 1' }),
      seed: 1,
      env: { PATH: process.env.PATH },
    });
    expect(r.status).toBe("ok");
    expect(r.tail).toContain("token=none path=set");
  });

  it("reports a non-zero exit as a crash naming the code, with the output", async () => {
    const r = await runExperiment({ cwd: dir, config: config({ run: "echo boom >&2; exit 3" }), seed: 1 });
    expect(r).toMatchObject({ status: "crash", metric: null, exitCode: 3, reason: "the run command exited with code 3" });
    expect(r.tail).toContain("boom");
  });

  it("reports a command killed by a signal as a crash naming the signal", async () => {
    const r = await runExperiment({ cwd: dir, config: config({ run: "kill -SEGV $$" }), seed: 1 });
    expect(r).toMatchObject({ status: "crash", exitCode: null, reason: "the run command was killed by SIGSEGV" });
  });

  it("reports a missing command as a crash with the shell's message in the tail", async () => {
    const restore = vi.fn(async () => dir);
    const r = await runExperiment({ cwd: dir, config: config({ run: "no-such-trainer --epochs 3" }), seed: 1, prepareEval: restore });
    expect(r).toMatchObject({ status: "crash", exitCode: 127 });
    expect(r.reason).toContain("127");
    expect(r.tail).toMatch(/no-such-trainer.*not found/);
    expect(restore).not.toHaveBeenCalled();
  });

  it("kills a run that exceeds the time box", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({ run: "echo started; sleep 30", budget: { experiment_timeout: 0.5 } }),
      seed: 1,
      graceSeconds: 0.5,
    });
    expect(r).toMatchObject({ status: "timeout", metric: null });
    expect(r.reason).toBe("run exceeded the time box of 0.5 s and was killed");
    expect(r.tail).toMatch(/^--- run: timed out after [\d.]+ s ---\nstarted$/);
    expect(r.seconds).toBeLessThan(3);
  });

  it("keeps what a Python run printed before the time box killed it (unbuffered output)", async () => {
    await writeFile(join(dir, "train.py"), 'import time\nprint("step 1: loss 2.5")\ntime.sleep(30)\n');
    const run = (env: NodeJS.ProcessEnv) =>
      runExperiment({
        cwd: dir,
        config: config({ run: "python3 train.py", budget: { experiment_timeout: 1 } }),
        seed: 1,
        graceSeconds: 0.5,
        env,
      });
    const r = await run({ PATH: process.env.PATH });
    expect(r.status).toBe("timeout");
    expect(r.tail).toContain("step 1: loss 2.5");
    // The caller's setting wins: with buffering asked for, the line dies with the process.
    const buffered = await run({ PATH: process.env.PATH, PYTHONUNBUFFERED: "" });
    expect(buffered.status).toBe("timeout");
    expect(buffered.tail).not.toContain("step 1");
  });

  it("stops and reports cancelled when the signal aborts", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await runExperiment({ cwd: dir, config: config({ run: "sleep 30" }), seed: 1, signal: ac.signal, graceSeconds: 0.5 });
    expect(r).toMatchObject({ status: "cancelled", metric: null, reason: "cancelled during run" });
    expect(r.seconds).toBeLessThan(3);
  });

  it("reports no_metric with what was printed", async () => {
    const r = await runExperiment({ cwd: dir, config: config({ run: "echo training; echo train_loss: 0.3" }), seed: 1 });
    expect(r).toMatchObject({ status: "no_metric", metric: null, exitCode: 0 });
    expect(r.reason).toContain('no line "val_loss: <number>" in the output; last lines: "training", "train_loss: 0.3"');
  });

  it("reports non_finite for a NaN metric", async () => {
    const r = await runExperiment({ cwd: dir, config: config({ run: "echo val_loss: nan" }), seed: 1 });
    expect(r).toMatchObject({ status: "non_finite", metric: null, reason: "val_loss is nan, not a finite number" });
  });

  it("reads guards like the metric: default line, pattern, or JSON file", async () => {
    await writeFile(join(dir, "m.json"), '{"peak_mb": 512}');
    const r = await runExperiment({
      cwd: dir,
      config: config({
        run: "echo val_loss: 0.4; echo accuracy: 0.91; echo 'took 12.5 s'",
        guards: [
          { name: "accuracy", goal: "maximize", tolerance: "1%" },
          { name: "secs", goal: "minimize", pattern: "took ([0-9.]+) s" },
          { name: "peak_mb", goal: "minimize", file: "m.json" },
        ],
      }),
      seed: 1,
    });
    expect(r).toMatchObject({ status: "ok", metric: 0.4, guards: { accuracy: 0.91, secs: 12.5, peak_mb: 512 } });
  });

  it("with an eval, reads a guard's file from the eval's folder, where the run's copy was removed", async () => {
    const evalDir = join(dir, "evaldir");
    const r = await runExperiment({
      cwd: dir,
      config: config({
        run: `echo '{"acc": 0.99}' > acc.json`,
        eval: "echo val_loss: 0.4",
        guards: [{ name: "acc", goal: "maximize", file: "acc.json" }],
      }),
      seed: 1,
      prepareEval: async () => {
        await mkdir(evalDir, { recursive: true });
        // An output the run left in the eval's folder: not the guard's value.
        await writeFile(join(evalDir, "acc.json"), '{"acc": 0.99}');
        return evalDir;
      },
    });
    expect(r).toMatchObject({ status: "no_metric", metric: null });
    expect(r.reason).toMatch(/^guard acc: metric file "acc.json"/);
  });

  it("a guard that cannot be read makes the run a failed run, naming the guard", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({ run: "echo val_loss: 0.4", guards: [{ name: "accuracy", goal: "maximize" }] }),
      seed: 1,
    });
    expect(r).toMatchObject({ status: "no_metric", metric: null });
    expect(r.reason).toMatch(/^guard accuracy: no line "accuracy: <number>" in the output/);
    expect(r.guards).toBeUndefined();
  });

  it("uses metric.pattern on the output", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({
        run: "echo 'step 499: train loss 2.41, val loss 2.40'",
        metric: { name: "val_loss", goal: "minimize", pattern: "val loss ([0-9.eE+-]+)" },
      }),
      seed: 1,
    });
    expect(r).toMatchObject({ status: "ok", metric: 2.4 });
  });

  it("evaluates with the locked files restored, after the run tampered with them", async () => {
    const evalSource = 'console.log("val_loss: 1.5");\n';
    await writeFile(join(dir, "eval.mjs"), evalSource);
    // The run tries to game the evaluation by rewriting it.
    await writeFile(
      join(dir, "train.mjs"),
      'import { writeFileSync } from "node:fs";\nwriteFileSync("eval.mjs", "console.log(\\"val_loss: 0.0001\\")");\nconsole.log("val_loss: 0.0001");\n',
    );
    const order: string[] = [];
    const prepareEval = async () => {
      order.push(`prepare saw ${(await readFile(join(dir, "eval.mjs"), "utf8")).includes("0.0001") ? "tampered" : "original"} eval`);
      await writeFile(join(dir, "eval.mjs"), evalSource);
      return dir;
    };
    const r = await runExperiment({ cwd: dir, config: config({ run: `${NODE} train.mjs`, eval: `${NODE} eval.mjs` }), seed: 1, prepareEval });
    expect(order).toEqual(["prepare saw tampered eval"]);
    expect(r).toMatchObject({ status: "ok", metric: 1.5, exitCode: 0 });
    // Both outputs are in the tail, labelled.
    expect(r.tail).toMatch(/^--- run: exit 0 after [\d.]+ s ---\nval_loss: 0.0001\n--- eval: exit 0 after [\d.]+ s ---\nval_loss: 1.5$/);
  });

  it("reads the metric from the eval, not the run, when there is an eval", async () => {
    const r = await runExperiment({ cwd: dir, config: config({ run: "echo val_loss: 1", eval: "echo evaluating" }), seed: 1 });
    expect(r.status).toBe("no_metric");
  });

  it("reports a failing eval as a crash", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({ run: "echo val_loss: 1", eval: "echo broken >&2; exit 2" }),
      seed: 1,
    });
    expect(r).toMatchObject({ status: "crash", exitCode: 2, reason: "eval failed: the eval command exited with code 2" });
    expect(r.tail).toContain("--- eval: exit 2");
    expect(r.tail).toContain("broken");
  });

  it("reports a failing preparation of the evaluation as a crash and does not evaluate", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({ run: "echo val_loss: 1", eval: "touch evaluated" }),
      seed: 1,
      prepareEval: async () => {
        throw new Error("checkout failed");
      },
    });
    expect(r).toMatchObject({ status: "crash", reason: "could not prepare the evaluation: checkout failed" });
    await expect(readFile(join(dir, "evaluated"))).rejects.toThrow(/ENOENT/);
  });

  it("with skipRun, runs no run command: prepares, then evaluates outputs already in the checkout", async () => {
    await writeFile(join(dir, "model.txt"), "0.25");
    const order: string[] = [];
    const r = await runExperiment({
      cwd: dir,
      config: config({ run: "touch trained; echo val_loss: 9", eval: 'echo "val_loss: $(cat model.txt)"' }),
      seed: 3,
      skipRun: true,
      prepareEval: async () => {
        order.push("prepare");
        return dir;
      },
    });
    expect(order).toEqual(["prepare"]);
    expect(r).toMatchObject({ status: "ok", metric: 0.25, exitCode: 0, reason: "" });
    expect(r.tail).toMatch(/^--- eval: exit 0 after [\d.]+ s ---\nval_loss: 0.25$/);
    await expect(readFile(join(dir, "trained"))).rejects.toThrow(/ENOENT/);
  });

  it("with skipRun and no eval command, reports a crash and prepares nothing", async () => {
    const restore = vi.fn(async () => dir);
    const r = await runExperiment({ cwd: dir, config: config({ run: "touch trained; echo val_loss: 1" }), seed: 1, skipRun: true, prepareEval: restore });
    expect(r).toMatchObject({ status: "crash", metric: null, exitCode: null, reason: "no eval command to run on the training outputs", tail: "" });
    expect(restore).not.toHaveBeenCalled();
    await expect(readFile(join(dir, "trained"))).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ["a written file", 'echo \'{"eval": {"val_loss": 0.75}}\' > out/metrics.json', "eval.val_loss", { status: "ok", metric: 0.75 }],
    ["a missing file", "true", "val_loss", { status: "no_metric", reason: 'metric file "out/metrics.json" was not written' }],
    ["a NaN in the file", "echo '{\"val_loss\": NaN}' > out/metrics.json", "val_loss", { status: "non_finite" }],
  ])("reads metric.file: %s", async (_name, run, name, expected) => {
    const r = await runExperiment({
      cwd: dir,
      config: config({ run: `mkdir -p out; ${run}`, metric: { name, goal: "minimize", file: "out/metrics.json" } }),
      seed: 1,
    });
    expect(r).toMatchObject(expected);
  });

  it("deletes the metric file before eval, so a stale one written by run is never read", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({
        run: "echo '{\"val_loss\": 0.001}' > metrics.json",
        eval: "echo evaluated",
        metric: { name: "val_loss", goal: "minimize", file: "metrics.json" },
      }),
      seed: 1,
    });
    expect(r).toMatchObject({ status: "no_metric", reason: 'metric file "metrics.json" was not written' });
  });

  it("gives eval PYTHONSAFEPATH=1: a json.py in its folder does not shadow the standard library", async () => {
    await writeFile(join(dir, "json.py"), "def dumps(x):\n    return '0.000001'\n");
    await writeFile(join(dir, "eval.py"), 'import json\nprint("val_loss:", json.dumps(1.5))\n');
    const r = await runExperiment({ cwd: dir, config: config({ run: "true", eval: "python3 eval.py" }), seed: 1 });
    expect(r).toMatchObject({ status: "ok", metric: 1.5 });
  });

  it("refuses a metric.file outside the checkout", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({ metric: { name: "x", goal: "minimize", file: "../../etc/passwd" } }),
      seed: 1,
    });
    expect(r).toMatchObject({ status: "no_metric", reason: 'metric.file "../../etc/passwd" is outside the repository' });
  });

  it("bounds and sanitizes the tail", async () => {
    const r = await runExperiment({
      cwd: dir,
      config: config({
        run: `${NODE} -e 'for (let i = 0; i < 20000; i++) console.log("\\u001b[31mline " + i + "\\u200b<!-- hidden -->\\u001b[0m"); console.log("val_loss: 2")'`,
      }),
      seed: 1,
    });
    expect(r.status).toBe("ok");
    expect(Buffer.byteLength(r.tail)).toBeLessThanOrEqual(4096);
    expect(r.tail.endsWith("line 19999\nval_loss: 2")).toBe(true);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that escapes are gone
    expect(r.tail).not.toMatch(/\u001b|\u200b|<!--|hidden/);
  });
});
