// EDITABLE: trains a small MLP on the regression task from prepare.mjs and writes model.json.
// The hyperparameters below are a first guess; autoresearch tunes them.
import { writeFileSync } from "node:fs";
import { INPUT_DIM, loadData, MAX_STEPS, makeRng, TIME_BUDGET_S } from "./prepare.mjs";

const LEARNING_RATE = 0.002;
const HIDDEN = 4;
const BATCH_SIZE = 256;
const WEIGHT_DECAY = 0.05;
const INIT_SCALE = 0.1;
const BETA1 = 0.9;
const BETA2 = 0.999;
const LOG_EVERY = 250;

const SEED = Number(process.env.AUTORESEARCH_SEED ?? 0);
const rng = makeRng(SEED * 7919 + 17);
const { train } = loadData();

// One hidden tanh layer, linear output. Parameters live in flat Float64Arrays.
const W1 = new Float64Array(HIDDEN * INPUT_DIM).map(() => rng.normal() * INIT_SCALE);
const b1 = new Float64Array(HIDDEN);
const W2 = new Float64Array(HIDDEN).map(() => rng.normal() * INIT_SCALE);
const b2 = new Float64Array(1);
const params = [W1, b1, W2, b2];
const grads = params.map((p) => new Float64Array(p.length));
const m = params.map((p) => new Float64Array(p.length));
const v = params.map((p) => new Float64Array(p.length));

const order = Array.from({ length: train.n }, (_, i) => i);
function shuffle() {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
}

const h = new Float64Array(HIDDEN);
/** Accumulates gradients of the mean squared error over one batch; returns the batch loss. */
function step(batch) {
  for (const g of grads) g.fill(0);
  let loss = 0;
  for (const i of batch) {
    const x1 = train.x[i * INPUT_DIM];
    const x2 = train.x[i * INPUT_DIM + 1];
    let out = b2[0];
    for (let j = 0; j < HIDDEN; j++) {
      h[j] = Math.tanh(W1[j * INPUT_DIM] * x1 + W1[j * INPUT_DIM + 1] * x2 + b1[j]);
      out += W2[j] * h[j];
    }
    const err = out - train.y[i];
    loss += err * err;
    const dOut = (2 * err) / batch.length;
    grads[3][0] += dOut;
    for (let j = 0; j < HIDDEN; j++) {
      grads[2][j] += dOut * h[j];
      const dPre = dOut * W2[j] * (1 - h[j] * h[j]);
      grads[1][j] += dPre;
      grads[0][j * INPUT_DIM] += dPre * x1;
      grads[0][j * INPUT_DIM + 1] += dPre * x2;
    }
  }
  return loss / batch.length;
}

/** Adam with L2 weight decay on the weight matrices. */
function update(t) {
  const c1 = 1 - BETA1 ** t;
  const c2 = 1 - BETA2 ** t;
  params.forEach((p, k) => {
    const decay = k === 0 || k === 2 ? WEIGHT_DECAY : 0;
    for (let i = 0; i < p.length; i++) {
      const g = grads[k][i] + decay * p[i];
      m[k][i] = BETA1 * m[k][i] + (1 - BETA1) * g;
      v[k][i] = BETA2 * v[k][i] + (1 - BETA2) * g * g;
      p[i] -= (LEARNING_RATE * (m[k][i] / c1)) / (Math.sqrt(v[k][i] / c2) + 1e-8);
    }
  });
}

const start = performance.now();
let steps = 0;
let cursor = train.n;
let recent = 0;
const batchSize = Math.max(1, Math.min(Math.round(BATCH_SIZE), train.n));
while (steps < MAX_STEPS && (performance.now() - start) / 1000 < TIME_BUDGET_S) {
  if (cursor + batchSize > train.n) {
    shuffle();
    cursor = 0;
  }
  const loss = step(order.slice(cursor, cursor + batchSize));
  cursor += batchSize;
  steps++;
  update(steps);
  recent = recent === 0 ? loss : 0.9 * recent + 0.1 * loss;
  if (steps % LOG_EVERY === 0) console.log(`step ${steps}  train_loss ${recent.toFixed(5)}`);
}
const seconds = (performance.now() - start) / 1000;
const stoppedBy = steps >= MAX_STEPS ? "step cap" : "time budget";
console.log(`trained ${steps} steps in ${seconds.toFixed(2)}s (${stoppedBy}), seed ${SEED}, final train_loss ${recent.toFixed(5)}`);

const rows = (w, out, inp) => Array.from({ length: out }, (_, j) => Array.from(w.subarray(j * inp, (j + 1) * inp)));
const model = {
  layers: [
    { W: rows(W1, HIDDEN, INPUT_DIM), b: Array.from(b1) },
    { W: [Array.from(W2)], b: Array.from(b2) },
  ],
};
writeFileSync("model.json", `${JSON.stringify(model)}\n`);
