/** One benchmark figure, as `npm run bench -- --json` prints it (one JSON line each). */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  better: "lower" | "higher";
  /** Extra keys: goal, pass, sample sizes, related figures. */
  [extra: string]: unknown;
}

/** Rounds for display and JSON, so reproducible figures print identically. */
export function round(x: number, digits = 4): number {
  return Number(x.toPrecision(digits));
}
