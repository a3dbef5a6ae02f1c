import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type LedgerEvent, type NewEventInput, parseLedger, stamp } from "../../src/core/events.js";
import {
  chartPoints,
  formatChange,
  formatDuration,
  formatMetric,
  formatPct,
  neutralizeHtml,
  renderMarkdown,
  renderProgressLine,
  renderTerminalChart,
  renderTerminalSummary,
  summarize,
  tableCell,
} from "../../src/core/report.js";
import { type CampaignState, fold } from "../../src/core/state.js";

function fixture(name: string): CampaignState {
  const path = fileURLToPath(new URL(`../fixtures/ledgers/${name}.jsonl`, import.meta.url));
  const { events, problems } = parseLedger(readFileSync(path, "utf8"));
  expect(problems).toEqual([]);
  return fold(events);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point
const ANSI = /\x1b/;
const utf8 = (s: string) => new TextEncoder().encode(s).length;

/** A ledger built in code: a baseline with the given metrics, then one experiment per entry. */
function synthetic(opts: {
  goal?: "minimize" | "maximize";
  baseline: (number | null)[];
  experiments: { title?: string; metrics: (number | null)[]; verdict: "keep" | "discard"; diff?: string; baselineMean?: number }[];
}): CampaignState {
  const t0 = Date.parse("2025-03-01T00:00:00Z");
  const events: LedgerEvent[] = [];
  let clock = 0;
  const push = (e: NewEventInput) => {
    events.push(...stamp([e], events.length, new Date(t0 + clock++ * 1000)));
  };
  push({
    type: "campaign_started",
    campaign: "99",
    config: { metric: { name: "loss", goal: opts.goal ?? "minimize" }, run: "x", editable: ["a.py"], budget: { max_experiments: 1000 } },
    base_commit: "base",
    goal: "go",
    source: "cli",
  });
  const runs = (experiment: number, commit: string, metrics: (number | null)[]) => {
    metrics.forEach((m, seed) => {
      push({ type: "run_started", experiment, commit, seed });
      push({ type: "run_finished", experiment, commit, seed, status: m === null ? "crash" : "ok", metric: m, seconds: 1, exit_code: m === null ? 1 : 0 });
    });
  };
  runs(0, "base", opts.baseline);
  let best = "base";
  opts.experiments.forEach((x, i) => {
    const n = i + 1;
    const commit = `c${n}`;
    push({ type: "experiment_requested", experiment: n, parent: best });
    push({
      type: "experiment_proposed",
      experiment: n,
      parent: best,
      commit,
      branch: `autoresearch/99/${n}`,
      title: x.title ?? `change ${n}`,
      hypothesis: `hypothesis ${n}`,
      edits: [],
      diff: x.diff ?? `-a = ${n - 1}\n+a = ${n}\n`,
      lines_added: 1,
      lines_removed: 1,
      trace_file: `traces/${n}.md`,
    });
    runs(n, commit, x.metrics);
    push({
      type: "experiment_judged",
      experiment: n,
      commit,
      verdict: x.verdict,
      reason: `reason ${n}`,
      baseline_mean: x.baselineMean ?? null,
      candidate_mean: null,
      improvement: null,
      p_value: null,
    });
    if (x.verdict === "keep") best = commit;
  });
  return fold(events);
}

describe("summarize", () => {
  it("computes the numbers of a minimize campaign", () => {
    const s = summarize(fixture("minimize"));
    expect(s).toMatchObject({
      campaign: "7",
      metric: "val_loss",
      goal: "minimize",
      experiments: 5,
      kept: 1,
      discarded: 1,
      failed: 2, // the failed proposal and the crashed experiment
      in_flight: 1,
      runs: 8,
      stopped: null,
      best_commit: "c2c2c2c2c2c2c2c2",
      elapsed_s: 321,
    });
    expect(s.baseline).toBeCloseTo(3.2, 12);
    expect(s.best).toBeCloseTo(3.0, 12);
    expect(s.improvement_pct).toBeCloseTo(6.25, 9);
    expect(s.cost_usd).toBeCloseTo(0.04, 12);
    expect(Object.keys(s).sort()).toEqual(
      [
        "campaign",
        "metric",
        "goal",
        "baseline",
        "best",
        "improvement_pct",
        "experiments",
        "kept",
        "failed",
        "discarded",
        "in_flight",
        "unfinished",
        "runs",
        "cost_usd",
        "stopped",
        "best_commit",
        "elapsed_s",
        "confirmation",
        "judging",
        "guards",
      ].sort(),
    );
    expect(s).toMatchObject({ confirmation: null, judging: { scale: "linear", deterministic: false }, guards: [] });
  });

  it("counts an improvement as positive for maximize too", () => {
    const s = summarize(fixture("maximize"));
    expect(s.goal).toBe("maximize");
    expect(s.baseline).toBeCloseTo(0.8, 12);
    expect(s.best).toBeCloseTo(0.85, 12);
    expect(s.improvement_pct).toBeCloseTo(6.25, 9);
    expect(s.stopped).toBe("budget exhausted: max_experiments (2)");
  });

  it.each([
    ["minimize, worse", "minimize", [1], [1.1], -10],
    ["maximize, worse", "maximize", [1], [0.9], -10],
    ["maximize, negative baseline", "maximize", [-2], [-1], 50],
  ] as const)("improvement_pct for a kept change (%s)", (_name, goal, baseline, kept, pct) => {
    // A keep that is worse cannot happen in the loop, but the sign rule must hold regardless.
    const s = summarize(synthetic({ goal, baseline: [...baseline], experiments: [{ metrics: [...kept], verdict: "keep" }] }));
    expect(s.improvement_pct).toBeCloseTo(pct, 9);
  });

  it("has no baseline, best or percent before the baseline's first successful run", () => {
    const s = summarize(synthetic({ baseline: [null], experiments: [] }));
    expect(s).toMatchObject({ baseline: null, best: null, improvement_pct: null, runs: 1 });
  });
});

describe("chartPoints", () => {
  it("lists the baseline and judged experiments with the best so far", () => {
    const points = chartPoints(fixture("minimize"));
    expect(
      points.map((p) => [p.experiment, p.outcome, p.metric === null ? null : Number(p.metric.toFixed(6)), p.best === null ? null : Number(p.best.toFixed(6))]),
    ).toEqual([
      [0, "baseline", 3.2, 3.2],
      [1, "discarded", 3.25, 3.2],
      [2, "kept", 3, 3],
      [3, "failed", null, 3],
      [4, "failed", null, 3],
    ]);
  });
});

describe("renderMarkdown", () => {
  const state = fixture("minimize");
  const md = renderMarkdown(state, {
    traces: { 2: "Warmup should help.\n<!-- hidden -->\n```python\nWARMUP = 100" },
    traceLink: (n) => `https://github.com/o/r/blob/autoresearch/ledger/campaigns/7/traces/${n}.md`,
    reproduce: "npx autoresearch run --campaign 7",
  });

  it("starts with the report title", () => {
    expect(md.split("\n")[0]).toBe("# autoresearch: val_loss 3.2 -> 3 (-6.3%)");
  });

  it("has an xychart-beta block with one x value per charted experiment", () => {
    const block = /```mermaid\nxychart-beta\n([\s\S]*?)```/.exec(md)?.[1];
    expect(block).toBeDefined();
    const xs = /x-axis "experiment" \[(.*)\]/.exec(block ?? "")?.[1]?.split(", ");
    expect(xs).toEqual(['"0"', '"1"', '"2"', '"3"', '"4"']);
    const lines = [...(block ?? "").matchAll(/line \[(.*)\]/g)].map((m) => m[1]?.split(", ").map(Number));
    expect(lines).toEqual([
      [3.2, 3.25, 3, 3, 3],
      [3.2, 3.2, 3, 3, 3],
    ]);
    expect(block).toMatch(/y-axis "val_loss" 2\.975 --> 3\.275/);
  });

  it("has a table row per experiment, pipes escaped", () => {
    const rows = md.split("\n").filter((l) => /^\| (\[\d+\]\(.*?\)|\d+) \|/.test(l));
    expect(rows).toHaveLength(6);
    expect(md).toContain("Raise the learning rate \\| try 3e-3");
    expect(md).toContain("| 3.2 ± 0.02 | 3 |");
    expect(md).toMatch(/\| Double the batch size \| n\/a \| 0\/1 ok \| {2}\| failed \| no successful run \(crash: exit code 1\) \|/);
  });

  it("shows each kept change with its diff and a collapsed, inert trace", () => {
    expect(md).toContain("### #2: Add a learning-rate warmup");
    expect(md).toContain("```diff\n--- a/train.py\n+++ b/train.py\n@@ -2 +2 @@\n-WARMUP = 0\n+WARMUP = 100\n```");
    expect(md).toContain("<details><summary>Reasoning trace</summary>");
    expect(md).toContain("[Full trace](https://github.com/o/r/blob/autoresearch/ledger/campaigns/7/traces/2.md)");
    // User and model text cannot hide content or break the collapsed section.
    expect(md).not.toContain("<!--");
    expect(md.match(/<details>/g)).toHaveLength(1);
    expect(md.match(/<\/details>/g)).toHaveLength(1);
    // The trace's unclosed code fence is closed before </details>.
    expect(md).toMatch(/WARMUP = 100\n```\n\n\[Full trace\]/);
    // Discarded experiments get no section.
    expect(md).not.toContain("### #1");
  });

  it("renders the main fixture as expected", () => {
    // Times in the report come from the ledger, so nothing needs normalising.
    expect(md).toMatchSnapshot();
  });

  it("stays within maxBytes for 500 experiments with long titles, dropping the oldest first", () => {
    const long = "a long title | with pipes and ünïcödé ".repeat(8);
    const big = synthetic({
      baseline: [10, 10.1, 9.9],
      experiments: Array.from({ length: 500 }, (_, i) => ({
        title: `${i + 1} ${long}`,
        metrics: [10 - (i + 1) / 100],
        verdict: (i + 1) % 10 === 0 ? ("keep" as const) : ("discard" as const),
        diff: Array.from({ length: 400 }, (_, k) => `+line ${k} of change ${i + 1}`).join("\n"),
      })),
    });
    const traces = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [i + 1, `thinking ${"x".repeat(100)}\n`.repeat(200)]));
    const out = renderMarkdown(big, { traces, traceLink: (n) => `https://example.com/${n}.md` });
    expect(utf8(out)).toBeLessThanOrEqual(60_000);
    expect(out).toMatch(/The \d+ oldest experiments are left out of the table/);
    expect(out).toMatch(/The \d+ oldest kept changes are left out/);
    expect(out).toContain("[500](https://example.com/500.md)");
    expect(out).not.toMatch(/^\| 0 \| baseline/m);
    expect(out).toContain("### #500:");
    expect(out).not.toContain("### #10:");
    expect(out).toContain("more lines not shown");
    // Every code fence is closed.
    expect((out.match(/^```/gm) ?? []).length % 2).toBe(0);

    const small = renderMarkdown(big, { maxBytes: 8_000 });
    expect(utf8(small)).toBeLessThanOrEqual(8_000);
    const tiny = renderMarkdown(big, { maxBytes: 500 });
    expect(utf8(tiny)).toBeLessThanOrEqual(500);
  });

  it("says when nothing has been kept and draws no chart before any measurement", () => {
    const empty = renderMarkdown(synthetic({ baseline: [], experiments: [] }));
    expect(empty).toContain("No change has been kept yet.");
    expect(empty).not.toContain("xychart-beta");
    expect(empty.split("\n")[0]).toBe("# autoresearch: loss n/a -> n/a (n/a)");
  });
});

describe("text helpers", () => {
  it.each([
    [3.2, "3.2"],
    [0.123456, "0.1235"],
    [12345.6, "12350"],
    [0, "0"],
    [-2.5, "-2.5"],
    [1.23456e-7, "1.235e-7"],
    [0.00099, "9.9e-4"],
    [4e9, "4e9"],
    [-1234567, "-1.235e6"],
    [Number.NaN, "n/a"],
    [Number.POSITIVE_INFINITY, "inf"],
    [null, "n/a"],
  ])("formatMetric(%s) = %s", (n, s) => {
    expect(formatMetric(n)).toBe(s);
  });

  it.each([
    [-23.44, "-23.4%"],
    [6.25, "+6.3%"],
    [6.249999999999992, "+6.3%"],
    [0, "0.0%"],
    [-0.01, "0.0%"],
    [null, "n/a"],
  ])("formatPct(%s) = %s", (n, s) => {
    expect(formatPct(n)).toBe(s);
  });

  it.each([
    [0, "0s"],
    [59.9, "59s"],
    [72, "1m12s"],
    [3600 + 5 * 60, "1h05m"],
    [2 * 86400 + 3 * 3600, "2d03h"],
  ])("formatDuration(%s) = %s", (n, s) => {
    expect(formatDuration(n)).toBe(s);
  });

  it("makes cells one line with pipes escaped and HTML inert", () => {
    expect(tableCell("a | b\nc\r\nd <!-- x --> <details>")).toBe("a \\| b c d &lt;!-- x --&gt; &lt;details>");
    expect(neutralizeHtml("</DETAILS><summary>")).toBe("&lt;/DETAILS>&lt;summary>");
  });
});

describe("terminal", () => {
  it("summarizes without any ANSI code when color is off", () => {
    const state = fixture("minimize");
    const first = state.experiments[1];
    if (first) first.title = "evil \x1b[31mred\x1b[0m title";
    const out = renderTerminalSummary(state, { color: false, width: 80 });
    expect(out).not.toMatch(ANSI);
    expect(out).toContain("baseline 3.2 -> best 3 (-6.3%)");
    expect(out).toContain("experiments 5/20 · kept 1 · discarded 1 · failed 2 · in flight 1");
    expect(out).toMatch(/^ {3}2 Add a learning-rate warmup\s+3 ± 0.02\s+-0.2 \(-6.3%\)\s+kept$/m);
    for (const line of out.split("\n").slice(3)) expect(line.length).toBeLessThanOrEqual(80);
  });

  it("colors when asked, and shows the stop reason", () => {
    const out = renderTerminalSummary(fixture("maximize"), { color: true });
    expect(out).toMatch(ANSI);
    expect(out).toContain("stopped: budget exhausted: max_experiments (2)");
  });

  it("shows only the most recent experiments", () => {
    const state = synthetic({ baseline: [1], experiments: Array.from({ length: 30 }, () => ({ metrics: [1.1], verdict: "discard" as const })) });
    const rows = renderTerminalSummary(state, { color: false })
      .split("\n")
      .filter((l) => /^\s+\d+ change/.test(l));
    expect(rows).toHaveLength(10);
    expect(rows[9]).toMatch(/^\s+30 change 30/);
  });

  it("charts both series without ANSI codes when color is off", () => {
    const out = renderTerminalChart(fixture("minimize"), { height: 6 });
    expect(out).not.toMatch(ANSI);
    expect(out.split("\n")).toHaveLength(8); // 7 rows (height + 1) and the legend
    expect(out).toContain("failed experiments carry the previous value");
    expect(out).toContain("3.275");
    expect(renderTerminalChart(fixture("minimize"), { color: true })).toMatch(ANSI);
  });

  it("charts a single point", () => {
    const out = renderTerminalChart(synthetic({ baseline: [2.5], experiments: [] }), { height: 4 });
    expect(out).toContain("┼");
    expect(out).toContain("2.5");
    expect(out).toContain("experiments 0..0");
  });

  it("charts a campaign whose experiments all failed, and one with nothing measured", () => {
    const someFailed = renderTerminalChart(
      synthetic({
        baseline: [1],
        experiments: [
          { metrics: [null], verdict: "discard" },
          { metrics: [null], verdict: "discard" },
        ],
      }),
      { height: 4 },
    );
    expect(someFailed).toContain("failed experiments carry the previous value");
    expect(someFailed).toContain("experiments 0..2");
    const allFailed = synthetic({ baseline: [null], experiments: [{ metrics: [null], verdict: "discard" }] });
    expect(renderTerminalChart(allFailed)).toBe("(no loss measured yet)");
    expect(renderMarkdown(allFailed)).not.toContain("xychart-beta");
  });

  it("samples long histories to the width", () => {
    const state = synthetic({
      baseline: [1],
      experiments: Array.from({ length: 300 }, (_, i) => ({ metrics: [1 + Math.sin(i)], verdict: "discard" as const })),
    });
    const out = renderTerminalChart(state, { width: 60 });
    for (const line of out.split("\n").slice(0, -1)) expect(Array.from(line).length).toBeLessThanOrEqual(60);
    expect(out).toContain("experiments 0..300");
  });
});

describe("renderProgressLine", () => {
  it("shows counts, best, running experiments and elapsed time", () => {
    const state = fixture("minimize");
    const now = new Date("2025-01-01T10:06:12.000Z");
    const line = renderProgressLine(state, now, [
      { experiment: 5, seed: 1, since: new Date("2025-01-01T10:06:00.000Z") },
      { experiment: 6, seed: 1, since: new Date("2025-01-01T10:06:09.000Z") },
    ]);
    expect(line).toBe("experiments 5/20 · kept 1 · failed 2 · best val_loss 3 (-6.3%) · running #5 (12s), #6 (3s) · 6m12s");
  });

  it("goes onto two lines when long and bounds the running list", () => {
    const state = fixture("minimize");
    const now = new Date("2025-01-01T10:06:12.000Z");
    const running = Array.from({ length: 8 }, (_, i) => ({ experiment: 10 + i, seed: 1, since: now }));
    const text = renderProgressLine(state, now, running, 80);
    const lines = text.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe("running #10 (0s), #11 (0s), #12 (0s), #13 (0s) +4 more · 6m12s");
  });
});

describe("experiments cut short by a stop", () => {
  it("are unfinished in the table and the summary, not running", () => {
    const events = stamp(
      [
        {
          type: "campaign_started",
          campaign: "9",
          config: { metric: { name: "loss", goal: "minimize" }, run: "true", editable: ["a.py"] },
          base_commit: "c0",
          goal: "g",
          source: "cli",
        },
        { type: "run_started", experiment: 0, commit: "c0", seed: 1 },
        { type: "run_finished", experiment: 0, commit: "c0", seed: 1, status: "ok", metric: 1, seconds: 1, exit_code: 0 },
        { type: "experiment_requested", experiment: 1, parent: "c0" },
        {
          type: "experiment_proposed",
          experiment: 1,
          parent: "c0",
          commit: "c1",
          branch: "b",
          title: "try",
          hypothesis: "h",
          edits: [],
          diff: "",
          lines_added: 0,
          lines_removed: 0,
        },
        { type: "run_started", experiment: 1, commit: "c1", seed: 1 },
        { type: "campaign_stopped", reason: "time budget spent (max_hours: 1)" },
      ],
      0,
      new Date("2026-01-01T00:00:00Z"),
    );
    const s = fold(events);
    expect(summarize(s)).toMatchObject({ in_flight: 0, unfinished: 1 });
    expect(renderMarkdown(s)).toMatch(/\| 1 \| try \|.*\| unfinished \|/);
    expect(renderTerminalSummary(s, { color: false })).toMatch(/try.*unfinished/);
  });
});

describe("confirmation, guards and superseded keeps in reports", () => {
  const t0 = new Date("2025-03-01T00:00:00Z");
  /** A campaign that kept experiment 1 (0.45 -> 0.25 over 3 seeds), with an accuracy guard, and `more` events after. */
  const campaign = (...more: NewEventInput[]): CampaignState => {
    const evs: NewEventInput[] = [
      {
        type: "campaign_started",
        campaign: "5",
        config: {
          metric: { name: "val_loss", goal: "minimize" },
          run: "x",
          editable: ["a.py"],
          guards: [{ name: "acc", goal: "maximize", tolerance: "1%" }],
        },
        base_commit: "base",
        goal: "go",
        source: "cli",
      },
    ];
    for (const seed of [1, 2, 3])
      evs.push({ type: "run_finished", experiment: 0, commit: "base", seed, status: "ok", metric: 0.45, seconds: 1, exit_code: 0, guards: { acc: 0.9 } });
    evs.push(
      { type: "experiment_requested", experiment: 1, parent: "base" },
      {
        type: "experiment_proposed",
        experiment: 1,
        parent: "base",
        commit: "c1",
        branch: "b1",
        title: "wider",
        hypothesis: "h",
        edits: [],
        diff: "",
        lines_added: 1,
        lines_removed: 1,
      },
    );
    for (const seed of [1, 2, 3])
      evs.push({ type: "run_finished", experiment: 1, commit: "c1", seed, status: "ok", metric: 0.25, seconds: 1, exit_code: 0, guards: { acc: 0.91 } });
    evs.push({
      type: "experiment_judged",
      experiment: 1,
      commit: "c1",
      verdict: "keep",
      reason: "better",
      baseline_mean: 0.45,
      candidate_mean: 0.25,
      improvement: 0.2,
      p_value: 0.001,
      pairs: 3,
      guards: [{ name: "acc", best: 0.9, candidate: 0.91, worse_by: -0.01, tolerance: 0.009, p_value: 1, ok: true }],
    });
    return fold(stamp([...evs, ...more], 0, t0));
  };
  const confirmed = (ok: boolean): NewEventInput[] => [
    {
      type: "confirmation_started",
      base_commit: "base",
      best_commit: "c1",
      best_experiment: 1,
      seeds: [4, 5, 6, 7, 8],
      reason: "the campaign ended with a keep",
    },
    {
      type: "confirmation_judged",
      best_commit: "c1",
      confirmed: ok,
      pairs: 5,
      base_mean: 0.4467,
      best_mean: ok ? 0.2529 : 0.44,
      change_pct: ok ? -43.38 : -1.5,
      interval_pct: ok ? [-47.2, -39.1] : [-9, 6],
      p_value: ok ? 0.0001 : 0.3,
      scale: "linear",
      reason: ok ? "better on 5 fresh paired seeds" : "not shown better on 5 fresh paired seeds (p=0.3 >= 0.01)",
    },
    { type: "campaign_stopped", reason: "max_experiments reached (1)" },
  ];

  it("headlines the confirmed change with its interval, nearer end first", () => {
    const s = campaign(...confirmed(true));
    expect(renderMarkdown(s).split("\n")[0]).toBe(
      "# autoresearch: val_loss 0.4467 -> 0.2529 (-43.4%, confidence interval -39% to -47%, confirmed on 5 paired seeds)",
    );
    expect(summarize(s).confirmation).toMatchObject({ confirmed: true, status: "done", pairs: 5, interval_pct: [-47.2, -39.1] });
    expect(renderTerminalSummary(s, { color: false })).toContain("confirmed: val_loss 0.4467 -> 0.2529 (-43.4%, confidence interval -39% to -47%");
  });

  it("says plainly when the final number is not confirmed", () => {
    const s = campaign(...confirmed(false));
    const md = renderMarkdown(s);
    expect(md.split("\n")[0]).toBe("# autoresearch: val_loss 0.45 -> 0.25 (-44.4%, not confirmed)");
    expect(md).toContain("- **Not confirmed:** on fresh paired seeds, base and best gave 0.4467 -> 0.44 (-1.5%)");
    expect(renderTerminalSummary(s, { color: false })).toContain("not confirmed: not shown better on 5 fresh paired seeds");
  });

  it("says a campaign that stopped with a keep before any confirmation is not confirmed", () => {
    const md = renderMarkdown(campaign({ type: "campaign_stopped", reason: "time budget spent (max_hours: 1)" }));
    expect(md).toContain(
      "- **Not confirmed:** the campaign stopped before a confirmation ran (`autoresearch confirm`, or `/autoresearch confirm` in a comment on GitHub, runs one)",
    );
  });

  it("shows the guards beside the metric, in the summary and for each kept change", () => {
    const s = campaign();
    expect(summarize(s).guards).toEqual([{ name: "acc", goal: "maximize", baseline: 0.9, best: 0.91 }]);
    const md = renderMarkdown(s);
    expect(md).toContain("- **Guards:** acc (maximize) 0.9 -> 0.91, tolerance 1%");
    expect(md).toContain("Guards: acc 0.9 -> 0.91 (tolerance 0.009)");
  });

  it("marks a keep that a later one superseded, in the table and its section", () => {
    const s = campaign(
      { type: "experiment_requested", experiment: 2, parent: "base" },
      {
        type: "experiment_proposed",
        experiment: 2,
        parent: "base",
        commit: "c2",
        branch: "b2",
        title: "deeper",
        hypothesis: "h",
        edits: [],
        diff: "",
        lines_added: 1,
        lines_removed: 1,
      },
      { type: "run_finished", experiment: 2, commit: "c2", seed: 1, status: "ok", metric: 0.2, seconds: 1, exit_code: 0, guards: { acc: 0.9 } },
      {
        type: "experiment_judged",
        experiment: 2,
        commit: "c2",
        verdict: "keep",
        reason: "better; replaces #1 as a whole (their changes conflict)",
        baseline_mean: 0.25,
        candidate_mean: 0.2,
        improvement: 0.05,
        p_value: 0.001,
        supersedes: 1,
      },
    );
    const md = renderMarkdown(s);
    expect(md).toMatch(/\| 1 \| wider \|.*\| kept, superseded by #2 \|/);
    expect(md).toContain("Superseded by #2, which replaced it as a whole (their changes conflict).");
    expect(renderTerminalSummary(s, { color: false })).toContain("kept (superseded by #2)");
  });
});

describe("outliers and orders of magnitude", () => {
  const diverged = () =>
    synthetic({
      baseline: [2.4],
      experiments: [
        { metrics: [2.35], verdict: "keep", baselineMean: 2.4 },
        { metrics: [1.9e259], verdict: "discard", baselineMean: 2.35 },
        { metrics: [2.36], verdict: "discard", baselineMean: 2.35 },
        { metrics: [2.3], verdict: "keep", baselineMean: 2.35 },
      ],
    });

  it("clips a diverged run in the Mermaid chart and says so, instead of flattening the lines", () => {
    const md = renderMarkdown(diverged());
    const block = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1] ?? "";
    const range = /y-axis "loss" (\S+) --> (\S+)/.exec(block);
    expect(Number(range?.[1])).toBeGreaterThan(2);
    expect(Number(range?.[2])).toBeLessThan(3);
    const first = /line \[(.*)\]/.exec(block)?.[1]?.split(", ").map(Number) ?? [];
    // Drawn at the top edge of the axis, the others where they are.
    expect(first[2]).toBe(Number(range?.[2]));
    expect(first[1]).toBeCloseTo(2.35, 9);
    expect(md).toContain("Off the scale, drawn at the edge of the axis: #2 (1.9e259).");
  });

  it("prints the absolute difference, not a percentage, for the diverged run", () => {
    const state = diverged();
    const md = renderMarkdown(state);
    expect(md).not.toMatch(/e\d+%/);
    expect(md).toMatch(/^\| 2 \| change 2 \| 1\.9e259 \| 1 \| \+1\.9e259 \| discarded \|/m);
    const term = renderTerminalSummary(state, { color: false, width: 100 });
    expect(term).not.toMatch(/e\d+%/);
    expect(term).toMatch(/^ {3}2 change 2\s+1\.9e259\s+\+1\.9e259\s+discarded$/m);
    const chart = renderTerminalChart(state, { height: 6, width: 80 });
    expect(chart).toContain("#2 (1.9e259)");
    // The kept values still use the height of the plot: the best line steps down within it.
    const rows = chart.split("\n").slice(0, 7);
    expect(new Set(rows.map((r) => r.indexOf("╯") >= 0 || r.indexOf("╰") >= 0)).size).toBe(2);
  });

  it("uses a log axis when the values span orders of magnitude, and says so", () => {
    const state = synthetic({
      baseline: [1e-2],
      experiments: [1e-3, 2e-4, 5e-5, 1e-5, 3e-6].map((m) => ({ metrics: [m], verdict: "keep" as const })),
    });
    const md = renderMarkdown(state);
    expect(md).toMatch(/y-axis "log10 loss" -?\d/);
    expect(md).toContain("The loss axis is logarithmic");
    const first = /line \[(.*)\]/.exec(md)?.[1]?.split(", ").map(Number) ?? [];
    expect(first[0]).toBeCloseTo(-2, 4);
    expect(first[5]).toBeCloseTo(Math.log10(3e-6), 4);
    const chart = renderTerminalChart(state, { height: 8 });
    expect(chart).toContain("(log scale)");
    // Axis labels are values, not logarithms.
    expect(chart).toMatch(/\d(\.\d+)?e-\d/);
  });

  it("keeps a linear axis for a positive metric near zero among values near one", () => {
    const state = synthetic({
      baseline: [1],
      experiments: [0.9, 1.2, 1e-5, 1.1].map((m) => ({ metrics: [m], verdict: "discard" as const })),
    });
    const md = renderMarkdown(state);
    expect(md).toMatch(/y-axis "loss" /);
    expect(md).not.toContain("Off the scale");
  });

  it.each([[-1e308], [1e308], [-Number.MAX_VALUE], [Number.MIN_VALUE], [0]])("draws the terminal chart for a run of %s without throwing", (v) => {
    for (const goal of ["minimize", "maximize"] as const) {
      const state = synthetic({
        goal,
        baseline: [1, 1.1],
        experiments: [
          { metrics: [v], verdict: "discard" },
          { metrics: [0.5], verdict: "keep" },
          { metrics: [-Number.MAX_VALUE], verdict: "discard" },
        ],
      });
      const chart = renderTerminalChart(state, { height: 5, width: 70 });
      expect(chart).not.toMatch(/NaN|Infinity/);
      expect(renderMarkdown(state)).not.toMatch(/NaN|Infinity/);
    }
  });

  it("draws a campaign whose values are all huge, of both signs", () => {
    const state = synthetic({
      goal: "maximize",
      baseline: [-1.7e308],
      experiments: [{ metrics: [1.7e308], verdict: "keep" }],
    });
    expect(renderTerminalChart(state, { height: 4 })).not.toMatch(/NaN|Infinity|inf/);
    expect(renderMarkdown(state)).not.toMatch(/NaN|Infinity/);
  });
});

describe("percent deltas only where the base means something", () => {
  it.each([
    [2.4, 2.3, "-4.2%"],
    [0, 0.5, "+0.5"],
    [-0.01, 0.5, "+0.51"],
    [0.01, 0.5, "+0.49"],
    [2.4, 1.9e259, "+1.9e259"],
    [1e-3, 1e-6, "-99.9%"],
  ])("from %s to %s: %s", (base, value, text) => {
    expect(formatChange(base, value)).toBe(text);
  });

  it("gives no improvement_pct where a percentage means nothing", () => {
    const s = summarize(synthetic({ goal: "maximize", baseline: [-0.01], experiments: [{ metrics: [0.5], verdict: "keep" }] }));
    expect(s.improvement_pct).toBeNull();
    expect(renderMarkdown(synthetic({ goal: "maximize", baseline: [-0.01], experiments: [{ metrics: [0.5], verdict: "keep" }] })).split("\n")[0]).toBe(
      "# autoresearch: loss -0.01 -> 0.5 (+0.51)",
    );
  });
});

describe("the terminal table keeps the kept experiments", () => {
  it("shows the baseline and every kept experiment beyond the most recent ones, saying what is left out", () => {
    const state = synthetic({
      baseline: [1],
      experiments: Array.from({ length: 30 }, (_, i) => ({
        metrics: [i === 3 || i === 12 ? 0.5 - i / 100 : 1.1],
        verdict: i === 3 || i === 12 ? ("keep" as const) : ("discard" as const),
      })),
    });
    const out = renderTerminalSummary(state, { color: false, rows: 5 });
    const rows = out.split("\n").filter((l) => /^\s+\d+ /.test(l));
    expect(rows.map((r) => Number(/^\s+(\d+)/.exec(r)?.[1]))).toEqual([0, 4, 13, 26, 27, 28, 29, 30]);
    expect(out).toMatch(/^ {3}… 3 more experiments/m);
    expect(out).toMatch(/^ {3}… 8 more experiments/m);
    expect(out).toMatch(/^ {3}… 12 more experiments/m);
  });
});

describe("failed and slow baselines", () => {
  function baselineOnly(run: { status: string; reason: string; tail: string; seconds: number; metric: number | null }, timeout = 60): CampaignState {
    const events = stamp(
      [
        {
          type: "campaign_started",
          campaign: "3",
          config: { metric: { name: "loss", goal: "minimize" }, run: "python3 train.py", editable: ["train.py"], budget: { experiment_timeout: timeout } },
          base_commit: "c0",
          goal: "g",
          source: "cli",
        },
        { type: "run_started", experiment: 0, commit: "c0", seed: 1 },
        { type: "run_finished", experiment: 0, commit: "c0", seed: 1, exit_code: 1, ...run } as NewEventInput,
        ...(run.status === "ok"
          ? []
          : [{ type: "campaign_stopped", reason: `the baseline failed: run (seed 1) ${run.status}: ${run.reason}` } as NewEventInput]),
      ],
      0,
      new Date("2026-01-01T00:00:00Z"),
    );
    return fold(events);
  }

  it("shows the failed baseline's last lines and the hint for a missing input in the report", () => {
    const tail = `--- run: exit 1 after 0.1 s ---\nTraceback (most recent call last):\n  File "train.py", line 3, in <module>\nFileNotFoundError: [Errno 2] No such file or directory: 'data/input.txt'`;
    const md = renderMarkdown(baselineOnly({ status: "crash", reason: "the run command exited with code 1", tail, seconds: 0.1, metric: null }));
    expect(md).toContain("## Why the baseline failed");
    expect(md).toContain("FileNotFoundError: [Errno 2] No such file or directory: 'data/input.txt'");
    expect(md).toMatch(/\*\*Hint:\*\* missing input file: "data\/input\.txt".*inputs: \[data\/\]/);
  });

  it("warns in the report when the baseline used most of the time box, with a suggested value", () => {
    const md = renderMarkdown(baselineOnly({ status: "ok", reason: "", tail: "loss: 1", seconds: 54, metric: 1 }));
    expect(md).toContain("> [!WARNING]");
    expect(md).toContain("the baseline took 54.0 s, 90% of the time box (budget.experiment_timeout: 60s)");
    expect(md).toContain("Suggested: experiment_timeout: 110s");
    expect(renderMarkdown(baselineOnly({ status: "ok", reason: "", tail: "loss: 1", seconds: 30, metric: 1 }))).not.toContain("[!WARNING]");
  });
});
