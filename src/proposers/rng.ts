/**
 * A small seedable random generator for the mutate proposer. Proposals must be reproducible from
 * their context alone (the proposer keeps no state between calls), so the seed is derived from
 * text such as "seed:campaign:experiment" and the stream from mulberry32.
 */

/** A deterministic stream of random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** Picks an index with probability proportional to its weight (weights >= 0, not all 0). */
  weighted(weights: readonly number[]): number;
}

/** cyrb53-style 32-bit hash of a string; spreads nearby seeds ("c:1", "c:2") far apart. */
export function hashSeed(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

/** A mulberry32 generator seeded by a number or by the hash of a string. */
export function createRng(seed: number | string): Rng {
  let a = typeof seed === "string" ? hashSeed(seed) : seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal() {
      const u = 1 - uniform(); // (0, 1]: log stays finite
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
    int(n) {
      return Math.floor(uniform() * n);
    },
    weighted(weights) {
      const total = weights.reduce((s, w) => s + w, 0);
      let r = uniform() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
  };
}
