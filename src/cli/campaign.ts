/**
 * `autoresearch run` and `demo` share this: set up (or resume) a campaign in a repository, drive
 * it with the local adapters, and write its report. Campaign decisions stay in src/core.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { failedBaselineRun, failureHint, slowBaseline, tailLines } from "../core/advice.js";
import { CONFIG_PATH, type Config, parseConfig } from "../core/config.js";
import { type LedgerEvent, type NewEventInput, stamp } from "../core/events.js";
import { isolationOfRuns } from "../core/isolation.js";
import { campaignBranch } from "../core/names.js";
import { plan } from "../core/planner.js";
import { type CampaignSummary, renderMarkdown, renderTerminalChart, renderTerminalSummary, summarize } from "../core/report.js";
import { type CampaignState, fold, withBudget } from "../core/state.js";
import { editableFiles } from "../core/surface.js";
import { BranchConflict, ConfigError, LedgerError, RepoStateError } from "../errors.js";
import { drive } from "../local/driver.js";
import { LocalExecutor } from "../local/executor.js";
import { LocalFleet } from "../local/fleet.js";
import { GitRepoHost, headCommit } from "../local/git.js";
import { FileLedgerStore } from "../local/ledger.js";
import { acquireLock } from "../local/lock.js";
import { campaignDir, listCampaigns, nextCampaignId, reportFile } from "../local/paths.js";
import { createProposer } from "../proposers/index.js";
import { runEnvironment } from "../runner/env.js";
import { cliLogger, type Output, Progress } from "./output.js";
import { checkInputs, checkWorkingTree } from "./preflight.js";

/** Settings a user may override on the command line for one campaign. */
export interface Overrides {
  maxExperiments?: number;
  parallel?: number;
  experimentTimeout?: string;
  /** Replaces proposer.kind (the demo uses claude when ANTHROPIC_API_KEY is set). */
  proposerKind?: Config["proposer"]["kind"];
  /** Replaces budget.max_cost_usd. */
  maxCostUsd?: number;
}

export interface CampaignOptions {
  root: string;
  configPath?: string;
  resume: boolean;
  campaign?: string;
  goal?: string;
  source: "cli" | "demo";
  overrides: Overrides;
  out: Output;
  signal: AbortSignal;
}

export interface CampaignOutcome {
  state: CampaignState;
  summary: CampaignSummary;
  reportPath: string;
  interrupted: boolean;
  /** What the runs' isolation was, in words (docs/security.md). */
  isolation: string;
}

/** The isolation of a campaign's runs in plain words (see isolationOfRuns). */
export function isolationText(events: readonly LedgerEvent[]): string {
  return isolationOfRuns(events.flatMap((e) => (e.type === "run_finished" ? [e] : [])));
}

/** Reads and validates the configuration file, with command-line overrides applied. */
export async function loadConfig(
  root: string,
  configPath: string | undefined,
  overrides: Overrides,
): Promise<{ raw: Record<string, unknown>; config: Config; file: string }> {
  const file = configPath ?? join(root, CONFIG_PATH);
  const shown = relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ConfigError(`no configuration at ${shown}; run \`autoresearch init\` to write one`, [`${shown}: file not found`], shown);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0] ?? String(err);
    throw new ConfigError(`${shown} is not valid YAML: ${msg}`, [`(yaml): ${msg}`], shown);
  }
  const obj = (raw && typeof raw === "object" ? { ...(raw as Record<string, unknown>) } : raw) as Record<string, unknown>;
  if (obj && typeof obj === "object" && (overrides.maxExperiments || overrides.parallel || overrides.experimentTimeout || overrides.maxCostUsd !== undefined)) {
    const budget = { ...((obj.budget as Record<string, unknown>) ?? {}) };
    if (overrides.maxExperiments) budget.max_experiments = overrides.maxExperiments;
    if (overrides.parallel) budget.parallel = overrides.parallel;
    if (overrides.experimentTimeout) budget.experiment_timeout = overrides.experimentTimeout;
    if (overrides.maxCostUsd !== undefined) budget.max_cost_usd = overrides.maxCostUsd;
    obj.budget = budget;
  }
  if (obj && typeof obj === "object" && overrides.proposerKind)
    obj.proposer = { ...((obj.proposer as Record<string, unknown>) ?? {}), kind: overrides.proposerKind };
  return { raw: obj, config: parseConfig(obj, shown), file: shown };
}

/** Problems a valid config can still have in this repository (globs that match nothing). */
export async function repositoryProblems(root: string, config: Config): Promise<string[]> {
  const repo = new GitRepoHost(root);
  const tracked = await repo.listFiles(await headCommit(root));
  const problems: string[] = [];
  config.editable.forEach((glob, i) => {
    if (editableFiles(tracked, [glob]).length === 0) problems.push(`editable[${i}]: ${JSON.stringify(glob)} matches no file committed at HEAD`);
  });
  return problems;
}

/** The budget keys the command-line overrides set, as written in the configuration. */
export function budgetChange(overrides: Overrides): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  if (overrides.maxExperiments) change.max_experiments = overrides.maxExperiments;
  if (overrides.parallel) change.parallel = overrides.parallel;
  if (overrides.experimentTimeout) change.experiment_timeout = overrides.experimentTimeout;
  if (overrides.maxCostUsd !== undefined) change.max_cost_usd = overrides.maxCostUsd;
  return change;
}

/**
 * The events that resume campaign `id` with `change` applied, or a RepoStateError saying why it
 * cannot go on. A stopped campaign is extended only when the new budget lets it do something.
 */
export function resumeEvents(id: string, events: LedgerEvent[], change: Record<string, unknown>, now: Date): NewEventInput[] {
  const state = fold(events);
  const changing = Object.keys(change).length > 0;
  const out: NewEventInput[] = [];
  if (changing) {
    try {
      withBudget(state.config, change);
    } catch (err) {
      throw new ConfigError(`the budget flags do not fit campaign ${id}: ${(err as Error).message}`);
    }
    out.push({ type: "budget_changed", budget: change, reason: "command-line flags given with --resume" });
  }
  out.push({ type: "campaign_resumed", reason: state.stopped ? "extended from the command line" : "resumed from the command line", restart: true });
  if (state.stopped) {
    if (!changing)
      throw new RepoStateError(
        `campaign ${id} has already finished (${state.stopped.reason}); extend it with a larger budget (for example \`autoresearch run --resume --campaign ${id} --max-experiments N\`) or start a new one with \`autoresearch run\``,
      );
    const preview = fold([...events, ...stamp(out, state.lastSeq, now)]);
    const stop = plan(preview, now).find((c) => c.kind === "stop");
    if (stop?.kind === "stop")
      throw new RepoStateError(`campaign ${id} cannot go on with that budget: ${stop.reason}; it stopped because ${state.stopped.reason}`);
  }
  return out;
}

async function openCampaign(opts: CampaignOptions, log: ReturnType<typeof cliLogger>): Promise<{ ledger: FileLedgerStore; events: LedgerEvent[]; id: string }> {
  const { root, out } = opts;
  if (opts.resume) {
    // A campaign keeps its goal and configuration; only its budget can change (recorded in the ledger).
    if (opts.goal !== undefined) throw new ConfigError("--goal cannot change the goal of a campaign being resumed; start a new campaign with it instead");
    if (opts.configPath !== undefined)
      throw new ConfigError(
        "--config cannot change the configuration of a campaign being resumed (it keeps the one it started with); only the budget flags apply",
      );
    const ids = await listCampaigns(root);
    const id = opts.campaign ?? ids.at(-1);
    if (!id || !ids.includes(id))
      throw new RepoStateError(id ? `no campaign ${id} in ${root}/.autoresearch` : "there is no campaign to resume here; start one with `autoresearch run`");
    const ledger = await FileLedgerStore.forCampaign(root, id);
    const repaired = await ledger.repair();
    if (repaired) log.warn("the ledger's last line was torn by a kill; it was moved aside", { backup: repaired.backup, line: repaired.line });
    const { events } = await ledger.assertReadable();
    if (events.length === 0) throw new LedgerError(`campaign ${id} has an empty ledger; start a new campaign instead`, ledger.file);
    await checkInputs(root, fold(events).config);
    const change = budgetChange(opts.overrides);
    const resumed = await ledger.append(resumeEvents(id, events, change, new Date()), fold(events).lastSeq);
    const changed = Object.entries(change).map(([k, v]) => `${k}: ${v}`);
    out.say(
      `Resuming campaign ${id} (${events.filter((e) => e.type === "run_finished").length} runs already recorded)${changed.length ? `; budget changed: ${changed.join(", ")}` : ""}.`,
    );
    return { ledger, events: [...events, ...resumed], id };
  }

  const { raw, config, file } = await loadConfig(root, opts.configPath, opts.overrides);
  const problems = await repositoryProblems(root, config);
  if (problems.length) throw new ConfigError(`${file} does not fit this repository:\n${problems.map((p) => `  - ${p}`).join("\n")}`, problems, file);
  await checkWorkingTree(root, config, log);
  await checkInputs(root, config);
  const unfinished: string[] = [];
  for (const id of await listCampaigns(root)) {
    const { events } = await (await FileLedgerStore.forCampaign(root, id)).read();
    try {
      if (events.length && !fold(events).stopped) unfinished.push(id);
    } catch {
      // An unreadable old campaign does not stop a new one.
    }
  }
  if (unfinished.length)
    log.warn(`campaign ${unfinished.join(", ")} did not finish; continue it with \`autoresearch run --resume --campaign ${unfinished.at(-1)}\``);
  const base = await headCommit(root);
  const id = await claimCampaignId(root, base, log);
  const ledger = await FileLedgerStore.forCampaign(root, id);
  const goal =
    opts.goal ?? `Improve ${config.metric.name} (${config.metric.goal}).${config.proposer.instructions ? `\n\n${config.proposer.instructions}` : ""}`;
  const events = await ledger.append([{ type: "campaign_started", campaign: id, config: raw, base_commit: base, goal, source: opts.source }], 0);
  return { ledger, events, id };
}

/**
 * A campaign id no campaign of this repository has used, claimed by creating its campaign branch
 * with a compare-and-swap: refs are shared by every linked worktree and survive a deleted
 * `.autoresearch/`, so an id whose branches exist is skipped rather than overwritten.
 */
async function claimCampaignId(root: string, base: string, log: ReturnType<typeof cliLogger>): Promise<string> {
  const repo = new GitRepoHost(root);
  let n = Number(await nextCampaignId(root));
  for (let tries = 0; tries < 1000; tries++, n++) {
    const id = String(n);
    const taken = await repo.branchesUnder(`autoresearch/${id}/`);
    if (taken.length > 0) {
      log.debug("campaign id taken by existing branches", { id, branches: taken.slice(0, 3) });
      continue;
    }
    try {
      await repo.setBranch(campaignBranch(id), base, null);
      return id;
    } catch (err) {
      if (!(err instanceof BranchConflict)) throw err;
    }
  }
  throw new RepoStateError("could not find a free campaign id: more than 1000 are taken by branches autoresearch/<id>/*");
}

/** Runs (or resumes) a campaign in the repository at `opts.root`. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignOutcome> {
  const { root, out } = opts;
  const log = cliLogger(out);
  const lock = await acquireLock(root, { command: `autoresearch ${opts.source === "demo" ? "demo" : "run"}` });
  try {
    if (lock.staleFrom)
      log.warn(`took over the lock of a process that is gone (pid ${lock.staleFrom.pid}); if it was running a campaign, continue it with --resume`);
    const { ledger, events, id } = await openCampaign(opts, log);
    await lock.update({ campaign: id });
    const state0 = fold(events);
    for (const p of state0.problems) log.warn(`the ledger has an event that contradicts an earlier one: ${p}`);
    const config = state0.config;
    out.say(
      `Campaign ${id}: ${config.metric.goal} ${config.metric.name} · ${config.budget.max_experiments} experiments · ${config.budget.parallel} in parallel · ${config.proposer.kind} proposer · time box ${config.budget.experiment_timeout}s`,
    );
    return await driveLocally(root, id, ledger, events, out, opts.signal, log);
  } finally {
    await lock.release();
  }
}

/** Drives campaign `id` with the local adapters until it stops (or the signal), then writes its report. */
async function driveLocally(
  root: string,
  id: string,
  ledger: FileLedgerStore,
  events: LedgerEvent[],
  out: Output,
  signal: AbortSignal,
  log: ReturnType<typeof cliLogger>,
): Promise<CampaignOutcome> {
  const config = fold(events).config;
  const deps = {
    repo: new GitRepoHost(root),
    executor: new LocalFleet(new LocalExecutor({ repoDir: root, config, logger: log, env: runEnvironment(process.env, config.run_env) })),
    proposer: createProposer(config, { env: process.env, logger: log }),
    ledger,
    logger: log,
  };
  const progress = new Progress(out);
  progress.start();
  let result: Awaited<ReturnType<typeof drive>>;
  try {
    result = await drive({ events, deps, clock: { now: () => new Date() }, signal, onUpdate: (s, r, ev) => progress.update(s, r, ev) });
  } finally {
    progress.stop();
  }
  const reportPath = await writeReport(root, id, result.state);
  const isolation = isolationText((await ledger.read()).events);
  return { state: result.state, summary: summarize(result.state), reportPath, interrupted: result.interrupted, isolation };
}

/** What `autoresearch confirm` needs. */
export interface ConfirmOptions {
  root: string;
  campaign?: string;
  out: Output;
  signal: AbortSignal;
}

/**
 * Confirms the final number of a finished campaign: records `confirmation_requested` and drives
 * the planner, which runs the base and the best commit interleaved on fresh paired seeds
 * (accept.confirm_repeats, 5 when it is 0) and records the result. Refuses a campaign that is not
 * finished or kept nothing.
 */
export async function confirmCampaign(opts: ConfirmOptions): Promise<CampaignOutcome> {
  const { root, out } = opts;
  const log = cliLogger(out);
  const lock = await acquireLock(root, { command: "autoresearch confirm" });
  try {
    const ids = await listCampaigns(root);
    const id = opts.campaign ?? ids.at(-1);
    if (!id || !ids.includes(id))
      throw new RepoStateError(id ? `no campaign ${id} in ${root}/.autoresearch` : "there is no campaign to confirm here; start one with `autoresearch run`");
    await lock.update({ campaign: id });
    const ledger = await FileLedgerStore.forCampaign(root, id);
    const { events } = await ledger.assertReadable();
    if (events.length === 0) throw new LedgerError(`campaign ${id} has an empty ledger`, ledger.file);
    const state = fold(events);
    if (!state.stopped)
      throw new RepoStateError(
        `campaign ${id} has not finished; finish it first (\`autoresearch run --resume --campaign ${id}\`: a campaign that ends with a keep confirms its final number itself)`,
      );
    if (state.best.experiment === 0) throw new RepoStateError(`campaign ${id} kept no change: there is nothing to confirm`);
    const requested = await ledger.append([{ type: "confirmation_requested", reason: "autoresearch confirm" }], state.lastSeq);
    out.say(`Confirming campaign ${id}: the base and the best commit (experiment ${state.best.experiment}) on fresh paired seeds.`);
    return await driveLocally(root, id, ledger, [...events, ...requested], out, opts.signal, log);
  } finally {
    await lock.release();
  }
}

/** Renders the campaign's Markdown report next to its ledger; returns its path. */
export async function writeReport(root: string, id: string, state: CampaignState): Promise<string> {
  const dir = campaignDir(root, id);
  const traces: Record<number, string> = {};
  for (const e of state.experiments) {
    if (e?.phase !== "kept" || !e.traceFile) continue;
    try {
      traces[e.experiment] = await readFile(join(dir, e.traceFile), "utf8");
    } catch {
      // A missing trace file is shown as missing in the report, not an error.
    }
  }
  const md = renderMarkdown(state, {
    traces,
    traceLink: (n) => `traces/${n}.md`,
    reproduce: `git checkout ${campaignBranch(id)}\n${state.config.run}${state.config.eval ? `\n${state.config.eval}` : ""}`,
  });
  const { events } = await (await FileLedgerStore.forCampaign(root, id)).read();
  const path = reportFile(root, id);
  await writeFile(path, `${md.trimEnd()}\n\n## Isolation\n\nRuns: ${isolationText(events)}. See docs/security.md.\n`);
  return path;
}

/** The end-of-campaign text: summary, table, chart and where things are. */
export function finalText(outcome: CampaignOutcome, root: string, out: Output): string {
  const { state } = outcome;
  const lines = [
    "",
    renderTerminalSummary(state, { color: out.color, width: out.width }),
    "",
    renderTerminalChart(state, { color: out.color, width: out.width }),
    "",
    `Report:          ${relativeOrAbs(outcome.reportPath)}`,
    `Campaign branch: ${campaignBranch(state.campaign)} in ${relativeOrAbs(root) || "."} (git log ${campaignBranch(state.campaign)})`,
    `Ledger:          ${relativeOrAbs(join(campaignDir(root, state.campaign), "events.jsonl"))}`,
    `Isolation:       ${outcome.isolation}`,
  ];
  lines.push(...baselineFailureTail(state));
  const slow = slowBaseline(state);
  if (slow) lines.push("", `Warning: ${slow.message}`);
  if (outcome.interrupted) lines.push("", `Interrupted. Continue with: autoresearch run --resume --campaign ${state.campaign}`);
  return lines.join("\n");
}

/** When the baseline failed, its output and a hint are what the user needs to fix the command; otherwise they are only in the ledger. */
function baselineFailureTail(state: CampaignState): string[] {
  const run = failedBaselineRun(state);
  if (!run) return [];
  const lines = tailLines(run.tail);
  const hint = failureHint(run, { run: state.config.run, timeBox: state.config.budget.experiment_timeout, metric: state.config.metric.name });
  return [
    "",
    ...(lines.length ? [`Output of the failed baseline run (seed ${run.seed}, last ${lines.length} lines):`, ...lines.map((l) => `  ${l}`)] : []),
    ...(hint ? ["", `Hint: ${hint}`] : []),
  ];
}

function relativeOrAbs(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith("..") ? p : r;
}

/** The `--json` summary line. */
export function jsonSummary(outcome: CampaignOutcome): Record<string, unknown> {
  return { ...outcome.summary, report: outcome.reportPath, branch: campaignBranch(outcome.state.campaign), interrupted: outcome.interrupted };
}
