import { describe, expect, it } from "vitest";
import { ProposerError } from "../../src/errors.js";
import {
  findAllKnobs,
  findArgumentKnobsInFile,
  findKnobs,
  findKnobsInFile,
  formatValue,
  lineWithValue,
  looksLikeMeasurement,
  selectKnobs,
  topLevelLines,
} from "../../src/proposers/knobs.js";

describe("findKnobsInFile: forms that count", () => {
  it.each([
    ["train.mjs", "const LR = 0.01;", "LR", 0.01, false],
    ["train.js", "let steps = 3", "steps", 3, true],
    ["train.js", "var WIDTH = 64;", "WIDTH", 64, true],
    ["train.ts", "export const HIDDEN = 32;", "HIDDEN", 32, true],
    ["train.ts", "const LR: number = 1e-3;", "LR", 0.001, false],
    ["train.mjs", "const LR = 0.01; // tuned by hand", "LR", 0.01, false],
    ["train.mjs", "const LR = 0.01 /* why */", "LR", 0.01, false],
    ["train.mjs", "const SHIFT = -2;", "SHIFT", -2, true],
    ["train.mjs", "const TOKENS = 1_000_000;", "TOKENS", 1_000_000, true],
    ["train.mjs", "const EPS = .5;", "EPS", 0.5, false],
    ["train.py", "learning_rate = 3e-4", "learning_rate", 3e-4, false],
    ["train.py", "BATCH = 64  # comment", "BATCH", 64, true],
    ["train.py", "BATCH=64", "BATCH", 64, true],
    ["train.py", "warmup: int = 100", "warmup", 100, true],
    ["train.py", "dropout: float = 0.0", "dropout", 0, false],
    ["train.py", "bias = -0.5", "bias", -0.5, false],
    ["train.py", "TOTAL = 2_000", "TOTAL", 2000, true],
    ["train.py", "scale = 2.", "scale", 2, false],
    ["train.py", "big = 1E3", "big", 1000, false],
  ])("%s: %s", (file, line, name, value, isInt) => {
    const knobs = findKnobsInFile(file, `${line}\n`);
    expect(knobs).toEqual([expect.objectContaining({ file, name, value, isInt, line: 1, text: line })]);
  });
});

describe("findKnobsInFile: forms that do not count", () => {
  it.each([
    ["indented (python block)", "train.py", "def f():\n    lr = 0.1\n"],
    ["indented (js function)", "train.mjs", "function f() {\n  const lr = 0.1;\n}\n"],
    ["unindented inside braces", "train.mjs", "function f() {\nconst lr = 0.1;\n}\n"],
    ["inside a call's parentheses", "train.py", "config = dict(\nlr=0.1,\n)\n"],
    ["python triple-quoted string", "train.py", '"""\nlr = 0.1\n"""\n'],
    ["python single-quoted triple string", "train.py", "doc = '''\nlr = 0.1\n'''\n"],
    ["js template literal", "train.mjs", "const doc = `\nconst lr = 0.1;\n`;\n"],
    ["js block comment", "train.mjs", "/*\nconst lr = 0.1;\n*/\n"],
    ["js line comment", "train.mjs", "// const lr = 0.1;\n"],
    ["python comment", "train.py", "# lr = 0.1\n"],
    ["a string value", "train.py", 'lr = "0.1"\n'],
    ["an expression", "train.mjs", "const lr = 0.1 * 2;\n"],
    ["a comparison", "train.py", "lr == 0.1\n"],
    ["augmented assignment", "train.py", "lr += 0.1\n"],
    ["hex", "train.mjs", "const MASK = 0xff;\n"],
    ["bigint", "train.mjs", "const N = 10n;\n"],
    ["python statement in a js file", "train.mjs", "lr = 0.1\n"],
    ["js declaration in a python file", "train.py", "const lr = 0.1;\n"],
  ])("%s", (_what, file, content) => {
    expect(findKnobsInFile(file, content)).toEqual([]);
  });

  it("finds the constants after a closed block or string", () => {
    const py = 'def f():\n    x = 1\n"""doc\nlr = 9\n"""\nlr = 0.1\n';
    expect(findKnobsInFile("t.py", py).map((k) => [k.name, k.value, k.line])).toEqual([["lr", 0.1, 6]]);
    const js = "/* c */\nconst s = 'a { b';\nfunction f() {\n  return 1;\n}\nconst LR = 2e-3;\n";
    expect(findKnobsInFile("t.mjs", js).map((k) => [k.name, k.line])).toEqual([["LR", 6]]);
  });

  it("keeps the last assignment of a reassigned name", () => {
    expect(findKnobsInFile("t.py", "lr = 1\nlr = 2\n").map((k) => [k.value, k.line])).toEqual([[2, 2]]);
  });

  it("handles CRLF line endings", () => {
    expect(findKnobsInFile("t.py", "lr = 0.5\r\nn = 3\r\n").map((k) => [k.name, k.text])).toEqual([
      ["lr", "lr = 0.5"],
      ["n", "n = 3"],
    ]);
  });
});

describe("topLevelLines", () => {
  it("marks lines inside brackets, strings and comments", () => {
    expect(topLevelLines("a = [\n1,\n]\nb = 2\n", "py")).toEqual([true, false, false, true, true]);
  });
});

describe("findKnobs / selectKnobs", () => {
  const files = { "b.py": "x = 1\n", "a.mjs": "const LR = 0.1;\nconst N = 2;\n" };

  it("collects every file in path order", () => {
    expect(findKnobs(files).map((k) => `${k.file}:${k.name}`)).toEqual(["a.mjs:LR", "a.mjs:N", "b.py:x"]);
  });

  it("keeps only the listed knobs", () => {
    expect(selectKnobs(findKnobs(files), ["N", "x"]).map((k) => k.name)).toEqual(["N", "x"]);
  });

  it("names the listed knobs it cannot find", () => {
    expect(() => selectKnobs(findKnobs(files), ["LR", "DROPOUT", "WIDTH"])).toThrow(
      expect.objectContaining({ name: "ProposerError", message: expect.stringContaining("DROPOUT, WIDTH") }),
    );
  });

  it("explains what to do when there is nothing to tune", () => {
    expect(() => selectKnobs([], [], ["train.py"])).toThrow(ProposerError);
    expect(() => selectKnobs([], [], ["train.py"])).toThrow(
      "mutate found no top-level numeric constants in train.py; list them in proposer.knobs or use proposer.kind: claude",
    );
  });
});

describe("formatValue", () => {
  it.each([
    [0.0041234, "0.002", "0.0041"],
    [3, "2.0", "3.0"],
    [0.00041, "3e-4", "4.1e-4"],
    [12.6, "10", "13"],
    [1234567, "1_000_000", "1_234_567"],
    [-0.73, "-0.5", "-0.73"],
    [-7.4, "-2", "-7"],
  ])("%s like %s -> %s", (value, literal, expected) => {
    expect(formatValue(value, { literal, isInt: !/[.eE]/.test(literal) })).toBe(expected);
  });

  it("replaces only the literal in its line", () => {
    const [knob] = findKnobsInFile("t.py", "lr = 0.1  # was 0.1\n");
    expect(knob && lineWithValue(knob, "0.2")).toBe("lr = 0.2  # was 0.1");
  });
});

describe("findArgumentKnobsInFile", () => {
  it("finds numeric keyword arguments of python calls and defaults, not strings, comments or expressions", () => {
    const py = [
      "import torch",
      "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)",
      "# AdamW(lr=9.9)",
      's = "f(lr=1)"',
      "x = f(a == 1, b=2 * 3, c=-0.5)",
      "def train(steps=100, batch_size = 32):",
      "    sched = CosineLR(opt,",
      "        warmup=10,  # steps",
      "    )",
      "opt2 = AdamW(params, lr=1e-3)",
      'print("loss", end="", flush=True)',
    ].join("\n");
    expect(findArgumentKnobsInFile("train.py", py).map((k) => [k.name, k.callee, k.arg, k.value, k.line, k.literal])).toEqual([
      ["AdamW(lr)", "torch.optim.AdamW", "lr", 3e-4, 2, "3e-4"],
      ["AdamW(weight_decay)", "torch.optim.AdamW", "weight_decay", 0.1, 2, "0.1"],
      ["f(c)", "f", "c", -0.5, 5, "-0.5"],
      ["train(steps)", "train", "steps", 100, 6, "100"],
      ["train(batch_size)", "train", "batch_size", 32, 6, "32"],
      ["CosineLR(warmup)", "CosineLR", "warmup", 10, 8, "10"],
      ["AdamW(lr)#2", "AdamW", "lr", 1e-3, 10, "1e-3"],
    ]);
  });

  it("finds named arguments passed as an object literal in javascript, and defaults", () => {
    const js = [
      "const opt = tf.train.adam(0.01);",
      "const net = new Network({ hidden: 32, learningRate: 0.05, name: 'x' });",
      "function train(epochs = 20) {}",
      "const cfg = { lr: 0.1 };",
      "// new Network({ hidden: 64 })",
    ].join("\n");
    expect(findArgumentKnobsInFile("nn.mjs", js).map((k) => [k.name, k.value, k.line])).toEqual([
      ["Network(hidden)", 32, 2],
      ["Network(learningRate)", 0.05, 2],
      ["train(epochs)", 20, 3],
    ]);
  });

  it("gives the column of the literal in its line, so the line can be rewritten", () => {
    const [k] = findArgumentKnobsInFile("t.py", "opt = SGD(p, lr=0.1)  # lr=0.1\n");
    expect(k && lineWithValue(k, "0.2")).toBe("opt = SGD(p, lr=0.2)  # lr=0.1");
  });
});

describe("knob specs", () => {
  const files = {
    "train.py": "LR = 0.1\neval_iters = 200\nSEED = 1\nopt = torch.optim.AdamW(p, lr=3e-4, weight_decay=0.1)\nsched = Step(opt, gamma=0.9, lr=5)\n",
  };
  const all = findAllKnobs(files);
  const names = (specs: string[], exclude: string[] = []) => selectKnobs(all, specs, ["train.py"], exclude).map((k) => k.name);

  it.each([
    [["LR"], ["LR"]],
    [["AdamW(lr)"], ["AdamW(lr)"]],
    [["AdamW(lr=...)"], ["AdamW(lr)"]],
    [["optim.AdamW(lr)"], ["AdamW(lr)"]],
    [["gamma"], ["Step(gamma)"]],
    [["lr"], ["AdamW(lr)", "Step(lr)"]],
    [
      ["weight_decay", "LR"],
      ["LR", "AdamW(weight_decay)"],
    ],
  ])("%j selects %j", (specs, expected) => {
    expect(names(specs)).toEqual(expected);
  });

  it("tunes every constant but the measurement ones by default, and never an excluded knob", () => {
    expect(names([])).toEqual(["LR"]);
    expect(names(["LR", "AdamW(lr)"], ["AdamW(lr)"])).toEqual(["LR"]);
    expect(() => names(["LR"], ["LR"])).toThrow("proposer.exclude leaves none of proposer.knobs to tune in train.py");
    expect(() => selectKnobs(findAllKnobs({ "t.py": "eval_iters = 3\n" }), [], ["t.py"])).toThrow(/only measurement or logging settings.*eval_iters/);
  });

  it("names a call argument it cannot find", () => {
    expect(() => names(["Adam(lr)"])).toThrow(/not numeric constants or call arguments of train\.py: Adam\(lr\)/);
  });

  it.each([
    ["eval_iters", true],
    ["eval_interval", true],
    ["log_interval", true],
    ["SEED", true],
    ["printEvery", true],
    ["temperature", true],
    ["top_k", true],
    ["NUM_VAL", true],
    ["val_split", true],
    ["Trainer(log_every)", true],
    ["LEARNING_RATE", false],
    ["n_layer", false],
    ["dropout", false],
    ["max_iters", false],
    ["interval_fn", true],
    ["evaluator_lr", false],
  ])("looksLikeMeasurement(%s) = %s", (name, yes) => {
    expect(looksLikeMeasurement(name)).toBe(yes);
  });
});
