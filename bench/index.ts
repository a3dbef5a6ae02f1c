/**
 * `npm run bench`: runs every benchmark group and prints a table; `npm run bench -- --json` prints
 * exactly one JSON line per figure ({"name","value","unit","better", ...extra keys}) and nothing else.
 */
import { performance } from "node:perf_hooks";
import { actionBenchmarks } from "./action.js";
import { appBenchmarks } from "./app.js";
import { demoBenchmarks } from "./demo.js";
import { initBenchmarks } from "./init.js";
import { isolationBenchmarks } from "./isolation.js";
import { judgeBenchmarks } from "./judge.js";
import { localBenchmarks } from "./local.js";
import { proposerBenchmarks } from "./proposer.js";
import type { BenchResult } from "./result.js";

const groups: { name: string; run: () => BenchResult[] | Promise<BenchResult[]> }[] = [
  { name: "judge", run: judgeBenchmarks },
  { name: "local", run: localBenchmarks },
  { name: "proposer", run: proposerBenchmarks },
  { name: "action", run: actionBenchmarks },
  { name: "demo", run: demoBenchmarks },
  { name: "init", run: initBenchmarks },
  { name: "isolation", run: isolationBenchmarks },
  { name: "app", run: appBenchmarks },
];

const STANDARD = new Set(["name", "value", "unit", "better", "goal", "pass"]);

function table(rows: BenchResult[]): string {
  const cells = rows.map((r) => {
    const extra = Object.entries(r)
      .filter(([k]) => !STANDARD.has(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    const pass = r.pass === undefined ? "" : r.pass ? "pass" : "FAIL";
    return [r.name, String(r.value), r.unit, r.better, typeof r.goal === "string" ? r.goal : "", pass, extra];
  });
  const head = ["benchmark", "value", "unit", "better", "goal", "", "details"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const t0 = performance.now();
  const rows: BenchResult[] = [];
  for (const g of groups) {
    const t = performance.now();
    const results = await g.run();
    rows.push(...results);
    if (json) for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stderr.write(`${g.name}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  if (!json) {
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write(
      `\n${rows.filter((r) => r.pass === false).length} of ${rows.filter((r) => r.pass !== undefined).length} goals missed; ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
