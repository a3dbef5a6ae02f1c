// LOCKED: evaluates model.json (written by train.mjs) on the held-out split and prints the
// metric. The model is a plain MLP: tanh between layers, a linear output.
import { existsSync, readFileSync } from "node:fs";
import { INPUT_DIM, loadData } from "./prepare.mjs";

const MODEL_FILE = "model.json";

function fail(message) {
  console.error(`eval: ${message}`);
  process.exit(1);
}

if (!existsSync(MODEL_FILE)) fail(`${MODEL_FILE} not found in ${process.cwd()}; run "node train.mjs" first`);

let model;
try {
  model = JSON.parse(readFileSync(MODEL_FILE, "utf8"));
} catch (err) {
  fail(`${MODEL_FILE} is not valid JSON: ${err.message}`);
}

// Check the shapes so a malformed model fails loudly instead of scoring NaN.
const layers = model?.layers;
if (!Array.isArray(layers) || layers.length === 0) fail(`${MODEL_FILE} has no "layers" array`);
let width = INPUT_DIM;
for (const [i, layer] of layers.entries()) {
  const { W, b } = layer ?? {};
  if (!Array.isArray(W) || !Array.isArray(b) || W.length !== b.length || b.length === 0) fail(`layer ${i}: expected W (out x in) and b (out)`);
  for (const row of W) if (!Array.isArray(row) || row.length !== width) fail(`layer ${i}: each row of W needs ${width} inputs`);
  width = b.length;
}
if (width !== 1) fail(`the last layer must have one output, has ${width}`);

function predict(x) {
  let h = x;
  for (const [i, { W, b }] of layers.entries()) {
    const out = new Array(b.length);
    for (let j = 0; j < b.length; j++) {
      let s = b[j];
      const row = W[j];
      for (let k = 0; k < h.length; k++) s += row[k] * h[k];
      out[j] = i === layers.length - 1 ? s : Math.tanh(s);
    }
    h = out;
  }
  return h[0];
}

const { val } = loadData();
let sse = 0;
for (let i = 0; i < val.n; i++) {
  const x = Array.from(val.x.subarray(i * INPUT_DIM, (i + 1) * INPUT_DIM));
  const err = predict(x) - val.y[i];
  sse += err * err;
}
const valLoss = sse / val.n;
if (!Number.isFinite(valLoss)) fail(`val_loss is not finite (${valLoss}); the model diverged`);
console.log(`val_loss: ${valLoss.toFixed(6)}`);
