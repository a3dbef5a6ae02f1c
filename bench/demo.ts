/**
 * `autoresearch demo` as a new user runs it: the bundled example (examples/tiny-regression), its
 * committed configuration and proposer seed, in a temporary folder, without ANTHROPIC_API_KEY (the
 * offline mutate proposer). Started as a process (`node bin/autoresearch.js demo --json`), so the
 * figures are the product's end to end.
 *
 * - demo_improvement_pct: the summary's improvement_pct (the best commit's mean against the base
 *   commit's, over every run of each, the confirmation's included), with the confirmed change and
 *   its interval beside it.
 * - demo_seconds: wall time of the whole demo, confirmation included.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type BenchResult, round } from "./result.js";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin/autoresearch.js");

export async function demoBenchmarks(): Promise<BenchResult[]> {
  const tmp = await mkdtemp(join(tmpdir(), "autoresearch-bench-demo-"));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, CI: "1", NO_COLOR: "1" };
    delete env.ANTHROPIC_API_KEY;
    const start = performance.now();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, "demo", "--json", "--no-progress"], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d;
      });
      child.stderr.on("data", (d: Buffer) => {
        err += d;
      });
      child.on("error", reject);
      child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    const seconds = (performance.now() - start) / 1000;
    if (code !== 0) throw new Error(`the demo exited ${code}:\n${stderr.slice(-2000)}`);
    const s = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      improvement_pct: number;
      baseline: number;
      best: number;
      kept: number;
      runs: number;
      confirmation: { confirmed: boolean; change_pct: number | null; interval_pct: [number, number] | null; pairs: number } | null;
    };
    const c = s.confirmation;
    return [
      {
        name: "demo_improvement_pct",
        value: round(s.improvement_pct),
        unit: "%",
        better: "higher",
        goal: ">= 50",
        pass: s.improvement_pct >= 50,
        baseline: round(s.baseline),
        best: round(s.best),
        kept: s.kept,
        runs: s.runs,
        confirmed: c?.confirmed ?? false,
        confirmed_change_pct: c?.change_pct === null || c?.change_pct === undefined ? null : round(c.change_pct),
        confirmed_interval_pct: c?.interval_pct ? c.interval_pct.map((x) => round(x, 3)) : null,
        confirmed_pairs: c?.pairs ?? 0,
      },
      {
        name: "demo_seconds",
        value: round(seconds, 3),
        unit: "s",
        better: "lower",
        goal: "<= 120",
        pass: seconds <= 120,
        note: "wall time of `autoresearch demo`, confirmation included, on this machine",
      },
    ];
  } finally {
    await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}
