import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { type NewEventInput, stamp } from "../../src/core/events.js";
import {
  CHART_POINTS,
  pullRequestMilestone,
  renderPullRequest,
  renderStatusComment,
  STATUS_MAX_BYTES,
  STATUS_ROWS,
  statusExperiments,
  statusMarker,
  statusMilestone,
  wantsPullRequest,
} from "../../src/core/publish.js";
import { chartPoints, samplePoints } from "../../src/core/report.js";
import { fold } from "../../src/core/state.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const config: ConfigInput = { metric: { name: "val_loss", goal: "minimize" }, run: "python train.py", eval: "python eval.py", editable: ["train.py"] };

function campaign(n: number, keeps: number[] = [], extra: NewEventInput[] = []) {
  const evs: NewEventInput[] = [{ type: "campaign_started", campaign: "12", config, base_commit: "c0", goal: "Lower val_loss", source: "label" }];
  for (const seed of [1, 2, 3])
    evs.push(
      { type: "run_started", experiment: 0, commit: "c0", seed },
      { type: "run_finished", experiment: 0, commit: "c0", seed, status: "ok", metric: 1, seconds: 1, exit_code: 0 },
    );
  evs.push({
    type: "experiment_judged",
    experiment: 0,
    commit: "c0",
    verdict: "keep",
    reason: "baseline",
    baseline_mean: 1,
    candidate_mean: 1,
    improvement: 0,
    p_value: null,
  });
  let best = "c0";
  for (let i = 1; i <= n; i++) {
    const kept = keeps.includes(i);
    evs.push(
      { type: "experiment_requested", experiment: i, parent: best },
      {
        type: "experiment_proposed",
        experiment: i,
        parent: best,
        commit: `c${i}`,
        branch: `autoresearch/12/${i}`,
        title: `try ${i} ${"<!-- hidden -->"}`,
        hypothesis: "h",
        edits: [],
        diff: "",
        lines_added: 1,
        lines_removed: 1,
        trace_file: `traces/${i}.md`,
      },
      { type: "run_started", experiment: i, commit: `c${i}`, seed: 1 },
      { type: "run_finished", experiment: i, commit: `c${i}`, seed: 1, status: "ok", metric: kept ? 1 - i / 100 : 2, seconds: 1, exit_code: 0 },
      {
        type: "experiment_judged",
        experiment: i,
        commit: `c${i}`,
        verdict: kept ? "keep" : "discard",
        reason: "r",
        baseline_mean: 1,
        candidate_mean: 0.9,
        improvement: 0.1,
        p_value: null,
      },
    );
    if (kept) best = `c${i}`;
  }
  evs.push(...extra);
  return fold(stamp(evs, 0, T0));
}

describe("the status comment", () => {
  it("says the state, baseline -> best, a chart, the experiments, the budget and how to steer", () => {
    const s = campaign(3, [2], [{ type: "published", channel: "pull_request", id: 40, url: "https://github.com/o/r/pull/40" }]);
    const md = renderStatusComment(s, { trace: (n) => `https://t/${n}`, runs: (n) => `https://r/${n}` });
    expect(md.startsWith(statusMarker("12"))).toBe(true);
    expect(md).toContain("### autoresearch: val_loss 1 -> 0.98 (-2.0%)");
    expect(md).toContain("**Running:**");
    expect(md).toContain("- **Budget used:** 3 of 50 experiments");
    expect(md).toContain("- **Pull request:** #40");
    expect(md).toContain("```mermaid");
    expect(md).toContain("| [2](https://t/2) |");
    expect(md).toContain("[runs](https://r/2)");
    expect(md).toContain("`/autoresearch stop`");
    // Text from proposals cannot hide anything in the comment.
    expect(md).not.toContain("<!-- hidden -->");
  });

  it("lists the last experiments and every kept one, within its size", () => {
    const s = campaign(40, [3, 15]);
    const listed = statusExperiments(s).map((e) => e.experiment);
    expect(listed).toEqual([3, 15, ...Array.from({ length: STATUS_ROWS }, (_, i) => 31 + i)]);
    expect(Buffer.byteLength(renderStatusComment(s))).toBeLessThanOrEqual(STATUS_MAX_BYTES);
    const many = campaign(
      700,
      Array.from({ length: 690 }, (_, i) => i + 1),
    );
    const big = renderStatusComment(many);
    expect(Buffer.byteLength(big)).toBeLessThanOrEqual(STATUS_MAX_BYTES);
    expect(big).toMatch(/older rows left out to fit/);
  });

  it("says the isolation the runs had, never more than the weakest", () => {
    expect(renderStatusComment(campaign(1))).toContain("- **Isolation of the runs:** not recorded");
    const mixed = campaign(
      1,
      [],
      [
        { type: "run_started", experiment: 1, commit: "c1", seed: 2 },
        { type: "run_finished", experiment: 1, commit: "c1", seed: 2, status: "ok", metric: 2, seconds: 1, exit_code: 0, isolation: "sandbox" },
        { type: "run_started", experiment: 1, commit: "c1", seed: 3 },
        { type: "run_finished", experiment: 1, commit: "c1", seed: 3, status: "ok", metric: 2, seconds: 1, exit_code: 0, isolation: "none" },
      ],
    );
    expect(renderStatusComment(mixed)).toMatch(
      /- \*\*Isolation of the runs:\*\* none \(the weakest of sandbox, none, and runs without a record\): not isolated/,
    );
  });

  it("says paused and stopped in words", () => {
    expect(renderStatusComment(campaign(1, [], [{ type: "campaign_paused", reason: "paused by @octocat" }]))).toContain(
      "**Paused** (paused by @octocat): comment `/autoresearch resume`",
    );
    expect(renderStatusComment(campaign(1, [], [{ type: "campaign_stopped", reason: "patience exhausted" }]))).toContain("**Stopped:** patience exhausted.");
  });
});

describe("the pull request", () => {
  it("exists from the first keep on, with the report and each kept change's trace", () => {
    expect(wantsPullRequest(campaign(3))).toBe(false);
    const s = campaign(3, [1, 3]);
    expect(wantsPullRequest(s)).toBe(true);
    const { title, body } = renderPullRequest(s, {
      traces: { 1: "because one", 3: "because three" },
      traceLink: (n) => `https://t/${n}`,
      reproduce: "python train.py",
    });
    expect(title).toBe("autoresearch: val_loss 1 -> 0.97 (-3.0%)");
    expect(body).toContain("the 2 changes that autoresearch kept in campaign #12");
    expect(body).toContain("because one");
    expect(body).toContain("because three");
    expect(body).toContain("## How to reproduce");
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(60_000);
  });
});

describe("when the status comment and the pull request are edited", () => {
  it("the comment at each verdict, pause and stop, not at each run or proposal handed out", () => {
    const at3 = statusMilestone(campaign(3));
    expect(statusMilestone(campaign(3, [], [{ type: "experiment_requested", experiment: 4, parent: "c0" }]))).toBe(at3);
    expect(
      statusMilestone(
        campaign(
          3,
          [],
          [
            { type: "experiment_requested", experiment: 4, parent: "c0" },
            { type: "run_started", experiment: 0, commit: "c0", seed: 4 },
          ],
        ),
      ),
    ).toBe(at3);
    expect(statusMilestone(campaign(4))).not.toBe(at3);
    expect(statusMilestone(campaign(3, [], [{ type: "campaign_paused", reason: "by mona" }]))).not.toBe(at3);
    expect(statusMilestone(campaign(3, [], [{ type: "campaign_stopped", reason: "done" }]))).not.toBe(at3);
    expect(statusMilestone(campaign(3, [], [{ type: "instructions_added", text: "try x", by: "mona" }]))).not.toBe(at3);
  });

  it("the pull request when a change is kept and at the stop, not at each discard", () => {
    const kept = pullRequestMilestone(campaign(3, [2]));
    expect(pullRequestMilestone(campaign(5, [2]))).toBe(kept);
    expect(pullRequestMilestone(campaign(5, [2, 5]))).not.toBe(kept);
    expect(pullRequestMilestone(campaign(3, [2], [{ type: "campaign_stopped", reason: "done" }]))).not.toBe(kept);
  });
});

describe("the charts of a long campaign", () => {
  it("draw a bounded number of experiments, every change of the best among them", () => {
    const keeps = [5, 250, 777];
    const s = campaign(1000, keeps);
    const all = chartPoints(s);
    const drawn = samplePoints(all, CHART_POINTS);
    expect(drawn.length).toBeLessThanOrEqual(CHART_POINTS);
    expect(drawn[0]).toBe(all[0]);
    expect(drawn.at(-1)).toBe(all.at(-1));
    for (const k of keeps) expect(drawn.map((p) => p.experiment)).toContain(k);
    // In the comment: the chart's x-axis names the drawn experiments only, and says so.
    const comment = renderStatusComment(s, { trace: (n) => `t${n}`, runs: (n) => `r${n}` });
    const axis = /x-axis "experiment" \[(.*)\]/.exec(comment)?.[1]?.split(", ") ?? [];
    expect(axis.length).toBe(drawn.length);
    expect(comment).toContain(`${drawn.length} of ${all.length} experiments are drawn`);
  });
});

describe("the final confirmation on GitHub", () => {
  const started: NewEventInput = {
    type: "confirmation_started",
    base_commit: "c0",
    best_commit: "c2",
    best_experiment: 2,
    seeds: [4, 5],
    reason: "the campaign ended with a keep",
  };
  const judged = (confirmed: boolean): NewEventInput => ({
    type: "confirmation_judged",
    best_commit: "c2",
    confirmed,
    pairs: 2,
    base_mean: 1,
    best_mean: confirmed ? 0.9 : 0.99,
    change_pct: confirmed ? -10 : -1,
    interval_pct: confirmed ? [-12, -8] : [-6, 4],
    p_value: confirmed ? 0.001 : 0.4,
    scale: "linear",
    reason: confirmed ? "better on 2 fresh paired seeds" : "not shown better on 2 fresh paired seeds (p=0.4 >= 0.05)",
  });

  it("edits the status comment and the pull request when it starts and when it is judged", () => {
    const before = campaign(3, [2]);
    const running = campaign(3, [2], [started]);
    const done = campaign(3, [2], [started, judged(true)]);
    expect(new Set([before, running, done].map(statusMilestone)).size).toBe(3);
    expect(new Set([before, running, done].map(pullRequestMilestone)).size).toBe(3);
  });

  it("marks a pull request whose best was not confirmed, in its title and at its top", () => {
    const no = renderPullRequest(campaign(3, [2], [started, judged(false), { type: "campaign_stopped", reason: "done" }]), {});
    expect(no.title).toMatch(/not confirmed/);
    expect(no.body.split("\n").slice(0, 6).join("\n")).toContain("**Not confirmed.**");
    expect(no.body).toContain("p=0.4");
    const yes = renderPullRequest(campaign(3, [2], [started, judged(true), { type: "campaign_stopped", reason: "done" }]), {});
    expect(yes.title).not.toMatch(/not confirmed/);
    expect(yes.title).toMatch(/confirmed on 2 paired seeds/);
    expect(yes.body).not.toContain("**Not confirmed.**");
  });
});
