import { describe, expect, it } from "vitest";
import { findMetrics } from "../../src/cli/init/numbers.js";
import { parseMetric } from "../../src/runner/metric.js";

describe("findMetrics", () => {
  it.each([
    ["step N: train loss X, val loss Y", "step 0: train loss 4.1, val loss 4.2\nstep 100: train loss 2.5, val loss 2.401\n", "val_loss", 2.401, "minimize"],
    ["a phrase", "Iteration 1000\nCost on training data: 1.1e-5\nCost on new testing data: 2.4e-6\n", "cost_on_new_testing_data", 2.4e-6, "minimize"],
    ["key=value pairs", "epoch 3/10 accuracy=0.91\n", "accuracy", 0.91, "maximize"],
    ["JSON lines", '{"step": 1, "val_loss": 3.2}\n{"step": 2, "val_loss": 2.9, "lr": 0.001}\n', "val_loss", 2.9, "minimize"],
    ["the default form", "training...\nval_bpb:          0.997900\n", "val_bpb", 0.9979, "minimize"],
    ["a table with pipes", "Epoch 1 | Train Loss: 0.612 | Val Acc: 88.1%\nEpoch 2 | Train Loss: 0.512 | Val Acc: 91.2%\n", "val_acc", 91.2, "maximize"],
    [
      "a final line",
      "iter 10 loss 2.3 time 12.3ms\niter 20 loss 2.1 time 11.9ms\nFinal validation loss = 1.234e-02\n",
      "final_validation_loss",
      0.01234,
      "minimize",
    ],
    ["an accuracy sentence", "Test set: Average loss: 0.0330, Accuracy: 9897/10000 (99%)\n", "average_loss", 0.033, "minimize"],
  ])("%s", (_what, output, name, value, goal) => {
    const [best] = findMetrics(output);
    expect(best).toMatchObject({ name, value, goal });
    // The configuration it offers reads the same value back.
    const read = parseMetric(output, { name: best?.name as string, goal: best?.goal as "minimize", pattern: best?.pattern });
    expect(read).toEqual({ ok: true, value });
  });

  it("writes no pattern when the default reading finds the value", () => {
    expect(findMetrics("val_loss: 0.5\n")[0]).toMatchObject({ name: "val_loss", pattern: undefined });
    expect(findMetrics("val loss 0.5\n")[0]?.pattern).toBeDefined();
  });

  it("ranks counters, times and learning rates below the metric, and leaves out unlabelled numbers", () => {
    const found = findMetrics("step 1 lr 0.001 loss 3.0 dt 120ms\nstep 2 lr 0.001 loss 2.5 dt 118ms\n42\n");
    expect(found[0]?.name).toBe("loss");
    expect(found.map((c) => c.name)).toEqual(expect.arrayContaining(["step", "lr"]));
    expect(found.find((c) => c.name === "step")?.score ?? 0).toBeLessThan(0);
  });

  it("finds nothing in output without labelled numbers", () => {
    expect(findMetrics("done\n3\n")).toEqual([]);
    expect(findMetrics("")).toEqual([]);
  });
});
