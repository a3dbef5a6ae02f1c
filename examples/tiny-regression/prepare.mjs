// LOCKED (not in the editable surface): the data, the time budget and the step cap, shared by
// train.mjs and eval.mjs, like autoresearch's prepare.py. The data seed is fixed so the held-out
// split is the same in every run; only the training run's own seed varies.

/** Seed of the data generator; never changes, so val_loss is comparable across runs. */
export const DATA_SEED = 20240601;
export const INPUT_DIM = 2;
export const N_TRAIN = 2048;
export const N_VAL = 1024;
/** Standard deviation of the label noise: the best reachable val_loss is about NOISE_STD ** 2. */
export const NOISE_STD = 0.1;
/** Wall-clock budget of training in seconds (AUTORESEARCH_TIME_BUDGET_S overrides it). */
export const TIME_BUDGET_S = Number(process.env.AUTORESEARCH_TIME_BUDGET_S ?? 2);
/** Training also stops after this many optimizer steps, so results do not depend on machine load. */
export const MAX_STEPS = 1500;

/** mulberry32: a small, fast, seedable generator returning floats in [0, 1). */
export function makeRng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

/** The function to learn: smooth but clearly nonlinear in both inputs. */
export function target(x1, x2) {
  return Math.sin(2 * x1) + 0.5 * x1 * Math.cos(3 * x2) + 0.3 * x2 * x2;
}

function makeSplit(n, rng) {
  const x = new Float64Array(n * INPUT_DIM);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x1 = rng.uniform() * 4 - 2;
    const x2 = rng.uniform() * 4 - 2;
    x[i * INPUT_DIM] = x1;
    x[i * INPUT_DIM + 1] = x2;
    y[i] = target(x1, x2) + NOISE_STD * rng.normal();
  }
  return { x, y, n };
}

/** The training and held-out splits; identical in every run. */
export function loadData() {
  const rng = makeRng(DATA_SEED);
  const train = makeSplit(N_TRAIN, rng);
  const val = makeSplit(N_VAL, rng);
  return { train, val };
}
