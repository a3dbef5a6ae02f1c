/**
 * What the GitHub App shows of a campaign: the status comment it keeps editing on the tracking
 * issue, and the pull request it opens at the first keep. Pure: rendered from the state and a few
 * links the driver passes in; the driver only compares and writes.
 */
import { COMMAND_USAGE } from "./commands.js";
import { isolationOfRuns } from "./isolation.js";
import { type MarkdownOptions, outcome, renderMarkdown, renderMermaidChart, reportTitle, summaryLines, TABLE_HEAD, tableCell, tableRow } from "./report.js";
import type { CampaignState, ExperimentState } from "./state.js";

/** Marks the App's status comment, so it can be found again without the ledger. */
export function statusMarker(campaign: string): string {
  return `<!-- autoresearch:status campaign=${campaign} -->`;
}

/** Marks the App's pull request body. */
export function pullRequestMarker(campaign: string): string {
  return `<!-- autoresearch:pull-request campaign=${campaign} -->`;
}

/** Links the driver knows and the renderers cannot make up. */
export interface PublishLinks {
  /** An experiment's full trace (on the ledger branch). */
  trace?: (experiment: number) => string;
  /** Where the runs of an experiment can be seen (the workflow's runs on its branch). */
  runs?: (experiment: number) => string;
}

/** Experiments in the status comment's table: the most recent ones, and every kept one. */
export const STATUS_ROWS = 10;

/** Largest status comment in UTF-8 bytes (GitHub takes 65 536 characters). */
export const STATUS_MAX_BYTES = 60_000;

/** The experiments the status comment lists: the last STATUS_ROWS, plus every kept one, in order. */
export function statusExperiments(state: CampaignState): ExperimentState[] {
  const all = state.experiments.filter((e): e is ExperimentState => e !== undefined && e.experiment > 0);
  const recent = new Set(all.slice(-STATUS_ROWS).map((e) => e.experiment));
  return all.filter((e) => recent.has(e.experiment) || e.phase === "kept");
}

/** The line that says what the campaign is doing now. */
function stateLine(state: CampaignState): string {
  if (state.stopped) return `**Stopped:** ${tableCell(state.stopped.reason, 400)}.`;
  if (state.paused) return `**Paused** (${tableCell(state.paused.reason, 200)}): comment \`/autoresearch resume\` to go on.`;
  const running = state.experiments.some((e) => e?.runs.some((r) => r.status === "running"));
  const proposing = state.experiments.some((e) => e && e.experiment > 0 && e.phase === "proposing");
  return `**Running:** ${running ? "experiments in flight" : proposing ? "proposing the next experiment" : "waiting"}.`;
}

/**
 * The status comment: what the campaign is doing, baseline -> best, a chart, the last experiments
 * (with every kept one), budget used, and how to steer it. At most STATUS_MAX_BYTES.
 */
export function renderStatusComment(state: CampaignState, links: PublishLinks = {}): string {
  const rows = statusExperiments(state).map((e) => {
    const row = tableRow(e, state, links.trace);
    const runs = links.runs && e.runs.length > 0 ? ` [runs](${links.runs(e.experiment)})` : "";
    return runs ? row.replace(/ \|$/, `${runs} |`) : row;
  });
  const base = state.experiments[0];
  const baseRow = base ? tableRow(base, state, undefined) : "";
  const pr = state.published.pullRequest;
  const parts = [
    statusMarker(state.campaign),
    `### ${tableCell(reportTitle(state), 300)}`,
    "",
    stateLine(state),
    "",
    ...summaryLines(state),
    `- **Isolation of the runs:** ${isolationOfRuns(state.experiments.flatMap((e) => e?.runs ?? []))}`,
    pr ? `- **Pull request:** #${pr.number}` : "- **Pull request:** opened at the first change kept beyond the noise",
    "",
  ];
  const chart = renderMermaidChart(state, { maxPoints: CHART_POINTS });
  if (chart) parts.push(chart, "");
  const steer = [
    "",
    "<details><summary>How to steer this campaign</summary>",
    "",
    `Maintainers (write access or more) can comment ${COMMAND_USAGE} here or on the pull request. ` +
      "`stop` ends the campaign (so do removing the `autoresearch` label, closing this issue, or merging or closing the pull request); " +
      "`pause` lets runs in flight finish and starts nothing new until `resume`; `try <idea>` adds the idea to what the proposer is asked to explore; " +
      "`confirm`, once the campaign has finished, runs the base and the best on the same fresh seeds to confirm the final number.",
    "",
    "</details>",
  ];
  const render = (shown: readonly string[], dropped: number) =>
    [
      ...parts,
      `#### Experiments (the last ${STATUS_ROWS}, and every kept one${dropped ? `; ${dropped} older rows left out to fit` : ""})`,
      "",
      ...TABLE_HEAD,
      ...(baseRow ? [baseRow] : []),
      ...shown,
      ...steer,
    ].join("\n");
  // Far more kept experiments than fit: the oldest rows go first, and the comment says so.
  let dropped = 0;
  let md = render(rows, 0);
  while (Buffer.byteLength(md) > STATUS_MAX_BYTES && dropped < rows.length) {
    dropped++;
    md = render(rows.slice(dropped), dropped);
  }
  return md;
}

/** Experiments the status comment's and the pull request's charts draw at most. */
export const CHART_POINTS = 60;

/**
 * What a reader of the status comment waits for, as a key: it changes at each verdict, a new best,
 * a pause, a resume, a stop, a pull request, added instructions, a change of judging scale, each
 * step of the final confirmation, and not at every run handed out or proposal asked for. A driver edits the comment when the key changes (each edit is a write to
 * GitHub, with its rate limits); once the campaign stopped, whenever the text changes.
 */
export function statusMilestone(state: CampaignState): string {
  const judged = state.experiments.filter((e) => e?.verdict).length;
  return JSON.stringify([
    judged,
    state.best.commit,
    state.paused?.at ?? null,
    state.stopped?.at ?? null,
    state.published.pullRequest?.number ?? null,
    state.instructions.length,
    state.judging.scale,
    state.judging.deterministic,
    confirmationKey(state),
  ]);
}

/** The confirmation's step and outcome, as a milestone part. */
function confirmationKey(state: CampaignState): unknown {
  const c = state.confirmation;
  return c ? [c.phase, c.bestCommit, c.result?.confirmed ?? null] : null;
}

/**
 * The same for the pull request, whose description holds the kept changes: it changes when a
 * change is kept (or superseded), when the final confirmation ends and when the campaign stops.
 */
export function pullRequestMilestone(state: CampaignState): string {
  return JSON.stringify([state.best.commit, state.stopped?.at ?? null, state.published.statusComment?.id ?? null, confirmationKey(state)]);
}

/** Whether the campaign has a change to propose: a pull request exists from the first keep on. */
export function wantsPullRequest(state: CampaignState): boolean {
  return state.best.experiment > 0 && state.best.commit !== state.baseCommit;
}

/** The pull request's title and body (the campaign report, bounded, with each kept change's trace). */
export function renderPullRequest(state: CampaignState, opts: MarkdownOptions & { statusUrl?: string }): { title: string; body: string } {
  const kept = state.experiments.filter((e) => e && e.experiment > 0 && outcome(e, state) === "kept").length;
  const intro = [
    pullRequestMarker(state.campaign),
    `This pull request holds the ${kept} change${kept === 1 ? "" : "s"} that autoresearch kept in campaign #${state.campaign}: each improved ${tableCell(state.config.metric.name, 100)} beyond the run-to-run noise. ` +
      `It is updated as the campaign goes on${opts.statusUrl ? ` ([status](${opts.statusUrl}))` : ""}; merging or closing it ends the campaign.`,
    ...(state.confirmation?.result?.confirmed === false && state.confirmation.bestCommit === state.best.commit
      ? [
          "",
          `> [!WARNING]\n> **Not confirmed.** Run again on fresh seeds beside the base commit, the best did not show an improvement at the campaign's confidence (${tableCell(state.confirmation.result.reason, 300)}). Review the numbers below before merging.`,
        ]
      : []),
    "",
  ].join("\n");
  const body = renderMarkdown(state, { chartPoints: CHART_POINTS, ...opts, maxBytes: (opts.maxBytes ?? 60_000) - Buffer.byteLength(intro) });
  return { title: reportTitle(state), body: `${intro}\n${body}` };
}
