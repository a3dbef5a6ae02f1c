/**
 * The autoresearch GitHub App (Probot): translates webhooks into work on campaigns and returns
 * quickly. Each handler checks who is asking (write access or more, never a bot), then queues the
 * work on the campaign (see campaign.ts) without waiting for it, so a slow proposal never holds a
 * delivery. A reconciliation pass (at start-up and every few minutes) finds results whose webhooks
 * were lost, work whose lease passed, and scheduled campaigns that are due.
 */
import { CronExpressionParser } from "cron-parser";
import type { ApplicationFunction, Context, Probot } from "probot";
import { type CampaignCommand, parseComment } from "../core/commands.js";
import type { Config } from "../core/config.js";
import type { NewEventInput } from "../core/events.js";
import { campaignBranch } from "../core/names.js";
import type { CampaignState } from "../core/state.js";
import { BranchConflict } from "../errors.js";
import type { Clock, Logger, Proposer } from "../ports.js";
import { createProposer } from "../proposers/index.js";
import { AppCampaign, type AppCampaignDeps, confirming } from "./campaign.js";
import { apiMessage, call, type GitHubClient, type RepoRef } from "./client.js";
import { LedgerBranch } from "./ledger.js";
import { OctokitRepoHost } from "./repo.js";
import type { WorkflowRunInfo } from "./results.js";
import { identifyRun } from "./results.js";
import { goalFromIssue, isBot, limitProblems, mayCommand, type OperatorLimits, readRepoConfig, workflowProblem } from "./settings.js";

/** The label that starts a campaign on an issue. */
export const LABEL = "autoresearch";

/** Seconds between reconciliation passes unless AUTORESEARCH_RECONCILE_SECONDS says otherwise. */
export const DEFAULT_RECONCILE_SECONDS = 300;
/** Least seconds between two edits of a running campaign's status comment unless AUTORESEARCH_STATUS_EDIT_SECONDS says otherwise. */
export const DEFAULT_STATUS_EDIT_SECONDS = 10;

/** What the App is started with (from the environment, see main.ts). */
export interface AppSettings {
  limits: OperatorLimits;
  /** The environment proposers read their keys from (ANTHROPIC_API_KEY). */
  env: Record<string, string | undefined>;
  /** Seconds between reconciliation passes (0: none, tests drive them). */
  reconcileSeconds: number;
  /** Seconds a proposal may take before it is asked for again. */
  proposalLeaseSeconds: number;
  clock?: Clock;
  /** Told how long each piece of a campaign's queued work took (metrics; the benchmarks). */
  onWork?: AppCampaignDeps["onWork"];
  /** Least seconds between two edits of a running campaign's status comment (default 0: every milestone). */
  statusEditSeconds?: number;
  /** Wraps each campaign's proposer (the benchmarks time the proposer apart from the App). */
  wrapProposer?: (proposer: Proposer) => Proposer;
}

/** Probot's pino logger behind our Logger port (fixed messages, metadata objects). */
function portLogger(log: Probot["log"]): Logger {
  return {
    debug: (msg, meta) => log.debug(meta ?? {}, msg),
    info: (msg, meta) => log.info(meta ?? {}, msg),
    warn: (msg, meta) => log.warn(meta ?? {}, msg),
    error: (msg, meta) => log.error(meta ?? {}, msg),
  };
}

/**
 * A proposer made when first asked: a proposer that cannot be made (no API key) then fails its
 * proposal fatally, which the planner turns into a stop with the message, instead of failing
 * every wake-up of the campaign.
 */
function lazyProposer(config: Config, env: Record<string, string | undefined>, logger: Logger): Proposer {
  let made: Proposer | undefined;
  return {
    propose(ctx, signal) {
      made ??= createProposer(config, { env, logger });
      return made.propose(ctx, signal);
    },
  };
}

/** A repository the App works on in this process, with what its campaigns share. */
interface RepoContext {
  where: RepoRef;
  installationId: number;
  gh: GitHubClient;
  defaultBranch: string;
  webUrl: string;
  branch: LedgerBranch;
  repo: OctokitRepoHost;
}

/** The App's memory: repositories and campaigns it has seen in this process (all rebuilt from GitHub on restart). */
export class Registry {
  private readonly repos = new Map<string, RepoContext>();
  private readonly campaigns = new Map<string, AppCampaign>();
  /** Users told once that they may not command a campaign, by campaign. */
  private readonly refused = new Set<string>();
  readonly logger: Logger;
  private readonly clock: Clock;
  /** The reconciliation timers (see stop). */
  readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly app: Probot,
    readonly settings: AppSettings,
  ) {
    this.logger = portLogger(app.log);
    this.clock = settings.clock ?? { now: () => new Date() };
  }
  /** Stops the reconciliation passes (an App embedded in a longer-lived process, tests). */
  stop(): void {
    for (const t of this.timers.splice(0)) clearTimeout(t);
    for (const c of this.campaigns.values()) c.dispose();
  }

  /** The repository's context, made once per process (its installation client refreshes its own token). */
  async repoContext(
    installationId: number,
    repository: { owner: { login: string }; name: string; default_branch?: string; html_url: string },
  ): Promise<RepoContext> {
    const key = `${repository.owner.login}/${repository.name}`.toLowerCase();
    const known = this.repos.get(key);
    if (known) return known;
    const gh = (await this.app.auth(installationId)) as GitHubClient;
    const where = { owner: repository.owner.login, repo: repository.name };
    const defaultBranch = repository.default_branch ?? (await call("read the repository", () => gh.rest.repos.get(where))).data.default_branch;
    const ctx: RepoContext = {
      where,
      installationId,
      gh,
      defaultBranch,
      webUrl: repository.html_url,
      branch: new LedgerBranch(gh, where, this.clock),
      repo: new OctokitRepoHost(gh, where),
    };
    this.repos.set(key, ctx);
    return ctx;
  }

  /** The campaign of issue `id` in a repository (the same object for the life of the process). */
  campaign(ctx: RepoContext, id: string): AppCampaign {
    const key = `${ctx.where.owner}/${ctx.where.repo}#${id}`.toLowerCase();
    let c = this.campaigns.get(key);
    if (!c) {
      c = new AppCampaign(
        {
          gh: ctx.gh,
          where: ctx.where,
          webUrl: ctx.webUrl,
          defaultBranch: ctx.defaultBranch,
          branch: ctx.branch,
          repo: ctx.repo,
          logger: this.logger,
          clock: this.clock,
          proposerFor: (config) => {
            const p = lazyProposer(config, this.settings.env, this.logger);
            return this.settings.wrapProposer ? this.settings.wrapProposer(p) : p;
          },
          proposalLeaseSeconds: this.settings.proposalLeaseSeconds,
          ...(this.settings.onWork ? { onWork: this.settings.onWork } : {}),
          ...(this.settings.statusEditSeconds ? { statusEditSeconds: this.settings.statusEditSeconds } : {}),
        },
        id,
      );
      this.campaigns.set(key, c);
    }
    return c;
  }

  /** Every campaign this process has touched (tests wait on them). */
  all(): AppCampaign[] {
    return [...this.campaigns.values()];
  }

  /** Resolves once no campaign has work queued or a proposal in flight. */
  async idle(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const all = this.all();
      await Promise.all(all.map((c) => c.idle()));
      if (this.all().length === all.length) return;
    }
  }

  /** Posts a comment on an issue, logging (not throwing) when it cannot. */
  async comment(ctx: RepoContext, issue: number, body: string): Promise<void> {
    try {
      await ctx.gh.rest.issues.createComment({ ...ctx.where, issue_number: issue, body });
    } catch (err) {
      this.logger.warn("could not comment", { issue, error: apiMessage(err) });
    }
  }

  /** Comments this process already handled (a redelivery comes within minutes), bounded. */
  private readonly handled = new Set<string>();

  /** True the first time `key` is seen (and remembers it). */
  firstTime(key: string): boolean {
    if (this.handled.has(key)) return false;
    this.handled.add(key);
    if (this.handled.size > 10_000) this.handled.delete(this.handled.values().next().value as string);
    return true;
  }

  /** Refuses a user once per campaign, politely. */
  async refuse(ctx: RepoContext, issue: number, login: string, what: string): Promise<void> {
    const key = `${ctx.where.owner}/${ctx.where.repo}#${issue}:${login}`;
    if (this.refused.has(key)) return;
    this.refused.add(key);
    await this.comment(ctx, issue, `@${login} thanks, but only people with write access to this repository can ${what}.`);
  }

  /**
   * Starts the campaign of issue `issue` (queued; returns at once): the configuration on the
   * default branch is checked (problems are commented, nothing starts), the campaign branch is
   * made at the default branch's head, `campaign_started` is recorded and the baseline dispatched.
   */
  start(
    ctx: RepoContext,
    issue: { number: number; title: string; body?: string | null },
    source: "label" | "schedule" | "dispatch",
    by: string,
  ): Promise<void> {
    const c = this.campaign(ctx, String(issue.number));
    return c.run("start", async () => {
      if (c.current) {
        // Started already (a redelivery); one stopped by removing the label goes on when it is added again.
        const stopped = c.current.stopped;
        if (stopped?.reason.startsWith("the autoresearch label was removed"))
          await c.note([{ type: "campaign_resumed", reason: `the autoresearch label was added again by @${by}`, restart: false }]);
        else if (stopped)
          await this.comment(ctx, issue.number, `This campaign has already finished (${stopped.reason}). Open a new issue to start another one.`);
        return;
      }
      const problems = limitProblems(this.settings.limits, ctx.where);
      const head = (await call("read the default branch", () => ctx.gh.rest.git.getRef({ ...ctx.where, ref: `heads/${ctx.defaultBranch}` }))).data.object.sha;
      const read = problems.length ? undefined : await readRepoConfig(ctx.gh, ctx.where, head);
      if (read && "problems" in read) problems.push(...read.problems);
      if (read && "config" in read) {
        problems.push(...limitProblems(this.settings.limits, ctx.where, read.config).filter((p) => !p.includes("AUTORESEARCH_ALLOWED_REPOS")));
        const wf = await workflowProblem(ctx.gh, ctx.where, read.config);
        if (wf) problems.push(wf);
      }
      if (problems.length || !read || !("config" in read)) {
        await this.comment(
          ctx,
          issue.number,
          [
            "autoresearch cannot start a campaign here yet:",
            "",
            ...problems.map((p) => `- ${p}`),
            "",
            `Fix this on the default branch (\`${ctx.defaultBranch}\`), then remove and add the \`${LABEL}\` label again.`,
          ].join("\n"),
        );
        return;
      }
      const id = String(issue.number);
      try {
        await ctx.repo.setBranch(campaignBranch(id), head, null);
      } catch (err) {
        if (!(err instanceof BranchConflict)) throw err;
        await this.comment(
          ctx,
          issue.number,
          `autoresearch cannot start: the branch \`${campaignBranch(id)}\` already exists at another commit (an earlier campaign for this issue?). Delete it, then add the \`${LABEL}\` label again.`,
        );
        return;
      }
      await c.start({ type: "campaign_started", campaign: id, config: read.raw, base_commit: head, goal: goalFromIssue(issue.title, issue.body), source });
      this.logger.info("campaign started", { repo: `${ctx.where.owner}/${ctx.where.repo}`, campaign: id, by, source });
    });
  }
}

/** A command from a comment, as a ledger event (status has none: it only refreshes the comment). */
function commandEvent(cmd: CampaignCommand, by: string, commentId: number): NewEventInput | undefined {
  switch (cmd.kind) {
    case "stop":
      return { type: "campaign_stopped", reason: `stopped by @${by} (/autoresearch stop)` };
    case "pause":
      return { type: "campaign_paused", reason: `paused by @${by}` };
    case "resume":
      return { type: "campaign_resumed", reason: `resumed by @${by}`, restart: false };
    case "try":
      return { type: "instructions_added", text: cmd.idea, by, comment_id: commentId };
    case "status":
      return undefined;
    case "confirm":
      return { type: "confirmation_requested", reason: `asked by @${by} (/autoresearch confirm)` };
  }
}

/** Why `/autoresearch confirm` cannot run on this campaign now, or undefined when it can. */
function cannotConfirm(s: CampaignState): string | undefined {
  if (!s.stopped) return "it is still running: a campaign that keeps a change confirms its final number by itself when its budget is spent";
  if (s.best.experiment === 0) return "it kept no change: there is nothing to confirm";
  if (confirming(s)) return "a confirmation is already running";
  return undefined;
}

/** The campaign a comment is about: its issue, or the campaign whose pull request it is on. */
async function commentCampaign(ctx: RepoContext, issue: { number: number; pull_request?: unknown }): Promise<string | undefined> {
  if (!issue.pull_request) return String(issue.number);
  const pr = await call("read the pull request", () => ctx.gh.rest.pulls.get({ ...ctx.where, pull_number: issue.number }));
  return /^autoresearch\/(\d+)\/best$/.exec(pr.data.head.ref)?.[1];
}

/** The App: pass it to Probot (`run(autoresearchApp(settings))`, or `probot.load`). */
export function autoresearchApp(settings: AppSettings, onRegistry?: (r: Registry) => void): ApplicationFunction {
  return (app: Probot) => {
    const registry = new Registry(app, settings);
    onRegistry?.(registry);
    const log = registry.logger;
    const repoOf = (context: Context<"issues" | "issue_comment" | "workflow_run" | "pull_request" | "repository_dispatch">) => {
      const payload = context.payload as { installation?: { id: number }; repository: Parameters<Registry["repoContext"]>[1] };
      return registry.repoContext(payload.installation?.id ?? 0, payload.repository);
    };
    /** Queued work must not become an unhandled rejection; its failure is logged with the delivery. */
    const detach = (id: string, p: Promise<unknown>) => {
      p.catch((err: unknown) => log.error("webhook work failed", { delivery: id, error: err instanceof Error ? err.message : String(err) }));
    };

    app.on("issues.labeled", async (context) => {
      const { payload } = context;
      if (payload.label?.name !== LABEL || isBot(payload.sender)) return;
      const ctx = await repoOf(context);
      if (!(await mayCommand(ctx.gh, ctx.where, payload.sender.login)))
        return registry.refuse(ctx, payload.issue.number, payload.sender.login, "start an autoresearch campaign");
      detach(context.id, registry.start(ctx, payload.issue, "label", payload.sender.login));
    });

    app.on(["issues.unlabeled", "issues.closed"], async (context) => {
      const { payload } = context;
      if (isBot(payload.sender)) return;
      if (payload.action === "unlabeled" && payload.label?.name !== LABEL) return;
      const ctx = await repoOf(context);
      const c = registry.campaign(ctx, String(payload.issue.number));
      const reason =
        payload.action === "unlabeled" ? `the autoresearch label was removed by @${payload.sender.login}` : `the issue was closed by @${payload.sender.login}`;
      detach(
        context.id,
        c.run("stop", async () => {
          if (c.current && !c.current.stopped) await c.note([{ type: "campaign_stopped", reason }]);
        }),
      );
    });

    app.on("issue_comment.created", async (context) => {
      const { payload } = context;
      if (isBot(payload.sender)) return;
      const parsed = parseComment(payload.comment.body ?? "");
      if (parsed.commands.length === 0 && parsed.errors.length === 0) return;
      const ctx = await repoOf(context);
      const id = await commentCampaign(ctx, payload.issue);
      if (id === undefined) return;
      const login = payload.sender.login;
      if (!(await mayCommand(ctx.gh, ctx.where, login))) return registry.refuse(ctx, payload.issue.number, login, "command an autoresearch campaign");
      const c = registry.campaign(ctx, id);
      detach(
        context.id,
        c.run("command", async () => {
          const reply = (body: string) => registry.comment(ctx, payload.issue.number, body);
          if (!c.current) return reply(`There is no autoresearch campaign on #${id} yet: add the \`${LABEL}\` label to its issue to start one.`);
          // A redelivered comment is answered once: its id is in the ledger (try) or was handled here.
          if (!registry.firstTime(`${id}:${payload.comment.id}`) || c.current.instructions.some((i) => i.commentId === payload.comment.id)) return;
          if (parsed.errors.length) await reply(`I could not read this:\n\n${parsed.errors.map((e) => `- ${e}`).join("\n")}`);
          const refused = parsed.commands.some((cmd) => cmd.kind === "confirm") ? cannotConfirm(c.current) : undefined;
          if (refused) await reply(`Campaign #${id} cannot be confirmed now: ${refused}.`);
          const events = parsed.commands
            .filter((cmd) => !(cmd.kind === "confirm" && refused))
            .map((cmd) => commandEvent(cmd, login, payload.comment.id))
            .filter((e): e is NewEventInput => e !== undefined);
          await c.note(events);
          if (parsed.commands.length)
            await call("react to the command", () =>
              ctx.gh.rest.reactions.createForIssueComment({ ...ctx.where, comment_id: payload.comment.id, content: "+1" }),
            );
          const tries = parsed.commands.filter((cmd) => cmd.kind === "try");
          if (tries.length)
            await reply(
              `Added to what the proposer is asked to explore in campaign #${id}: ${tries.map((t) => `“${t.kind === "try" ? t.idea.slice(0, 200) : ""}”`).join(", ")}.`,
            );
          if (parsed.commands.some((cmd) => cmd.kind === "confirm") && !refused)
            await reply(
              `Confirming campaign #${id}: the base commit and the best (experiment ${c.current.best.experiment}) run on the same fresh seeds; the status comment and the pull request show the result.`,
            );
          if (parsed.commands.some((cmd) => cmd.kind === "status")) {
            const url = c.current.published.statusComment?.url;
            await reply(
              `Campaign #${id} is ${c.current.stopped ? `stopped (${c.current.stopped.reason})` : c.current.paused ? "paused" : "running"}${url ? `: [status](${url})` : ""}.`,
            );
          }
        }),
      );
    });

    app.on("workflow_run.completed", async (context) => {
      const run = context.payload.workflow_run as unknown as WorkflowRunInfo;
      const id = identifyRun(run);
      if ("ignore" in id) return log.debug("workflow run ignored", { delivery: context.id, run: run.id, why: id.ignore });
      const ctx = await repoOf(context);
      const c = registry.campaign(ctx, id.campaign);
      detach(
        context.id,
        c.run("results", async () => {
          if (!c.current) {
            log.warn("a workflow run names a campaign that does not exist: ignored", { delivery: context.id, run: run.id, branch: run.head_branch });
            return;
          }
          await c.onWorkflowRun(run, id.experiment);
        }),
      );
    });

    app.on("pull_request.closed", async (context) => {
      const pr = context.payload.pull_request;
      const id = /^autoresearch\/(\d+)\/best$/.exec(pr.head.ref)?.[1];
      if (id === undefined || pr.head.repo?.full_name !== context.payload.repository.full_name) return;
      const ctx = await repoOf(context);
      const c = registry.campaign(ctx, id);
      const reason = pr.merged
        ? `the pull request #${pr.number} was merged (${pr.merge_commit_sha ?? ""})`
        : `the pull request #${pr.number} was closed without merging`;
      detach(
        context.id,
        c.run("pull request closed", async () => {
          if (c.current && !c.current.stopped && c.current.published.pullRequest?.number === pr.number) await c.note([{ type: "campaign_stopped", reason }]);
        }),
      );
    });

    app.on("repository_dispatch", async (context) => {
      const { payload } = context;
      if (payload.action !== "autoresearch") return;
      const ctx = await repoOf(context);
      const body = (payload.client_payload ?? {}) as { issue?: unknown; title?: unknown; instructions?: unknown };
      let issue: { number: number; title: string; body?: string | null };
      if (typeof body.issue === "number") {
        issue = (await call("read the issue", () => ctx.gh.rest.issues.get({ ...ctx.where, issue_number: body.issue as number }))).data;
      } else {
        const title =
          typeof body.title === "string" && body.title.trim()
            ? body.title.trim().slice(0, 200)
            : `autoresearch: campaign of ${new Date().toISOString().slice(0, 10)}`;
        const text = typeof body.instructions === "string" ? body.instructions.slice(0, 8000) : "Started by a repository_dispatch event.";
        issue = (await call("open the tracking issue", () => ctx.gh.rest.issues.create({ ...ctx.where, title, body: text, labels: [LABEL] }))).data;
      }
      detach(context.id, registry.start(ctx, issue, "dispatch", payload.sender?.login ?? "repository_dispatch"));
    });

    app.on("installation.created", async (context) => {
      const account = context.payload.installation.account as { login?: string; slug?: string } | null;
      log.info("installed", { account: account?.login ?? account?.slug, repositories: context.payload.repositories?.length ?? 0 });
    });

    if (settings.reconcileSeconds > 0) {
      const pass = () =>
        reconcileAll(app, registry).catch((err: unknown) => log.error("reconciliation failed", { error: err instanceof Error ? err.message : String(err) }));
      // At start-up (once the server listens), then every reconcileSeconds; the timer never holds the process.
      registry.timers.push(setTimeout(pass, 1000).unref(), setInterval(pass, settings.reconcileSeconds * 1000).unref());
    }
  };
}

/**
 * One reconciliation pass over every installation and repository: each campaign on the ledger
 * branch is read, results whose webhooks were lost are read from the workflow runs, expired leases
 * are acted on, and a due `schedule` starts a campaign.
 */
export async function reconcileAll(app: Probot, registry: Registry): Promise<void> {
  const appClient = (await app.auth()) as GitHubClient;
  const installations = await appClient.paginate(appClient.rest.apps.listInstallations, { per_page: 100 });
  for (const inst of installations) {
    const gh = (await app.auth(inst.id)) as GitHubClient;
    const repos = await gh.paginate(gh.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    for (const repository of repos) {
      if (repository.archived) continue;
      try {
        await reconcileRepo(registry, inst.id, repository);
      } catch (err) {
        registry.logger.warn("could not reconcile a repository", { repo: repository.full_name, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

/** Reconciles one repository (see reconcileAll). */
export async function reconcileRepo(
  registry: Registry,
  installationId: number,
  repository: { owner: { login: string }; name: string; default_branch?: string; html_url: string },
): Promise<void> {
  if (limitProblems(registry.settings.limits, { owner: repository.owner.login, repo: repository.name }).length) return;
  const ctx = await registry.repoContext(installationId, repository);
  await ctx.branch.refresh();
  const ids = (await ctx.branch.list("campaigns")).map((f) => f.path.split("/").pop() ?? "").filter((id) => /^\d+$/.test(id));
  const started: { source: string; at: string; stopped: boolean }[] = [];
  for (const id of ids) {
    const c = registry.campaign(ctx, id);
    await c.run("reconcile", () => c.reconcile());
    const s = c.current;
    if (s) started.push({ source: s.source, at: s.startedAt, stopped: s.stopped !== undefined });
  }
  await startScheduled(registry, ctx, started);
}

/** Starts a scheduled campaign when the configuration's `schedule` fired since the last one started. */
async function startScheduled(registry: Registry, ctx: RepoContext, campaigns: { source: string; at: string; stopped: boolean }[]): Promise<void> {
  const head = (await call("read the default branch", () => ctx.gh.rest.git.getRef({ ...ctx.where, ref: `heads/${ctx.defaultBranch}` }))).data.object.sha;
  const read = await readRepoConfig(ctx.gh, ctx.where, head);
  if (!("config" in read) || !read.config.schedule) return;
  const now = registry.settings.clock?.now() ?? new Date();
  const fired = CronExpressionParser.parse(read.config.schedule, { currentDate: now, tz: "UTC" }).prev().toDate();
  const scheduled = campaigns.filter((c) => c.source === "schedule");
  if (scheduled.some((c) => !c.stopped)) return;
  if (scheduled.some((c) => Date.parse(c.at) >= fired.getTime())) return;
  const title = `autoresearch: scheduled campaign of ${fired.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const issue = (
    await call("open the tracking issue", () =>
      ctx.gh.rest.issues.create({
        ...ctx.where,
        title,
        body: `Started by \`schedule: ${read.config.schedule}\` in .github/autoresearch.yml.\n\n${read.config.proposer.instructions}`,
        labels: [LABEL],
      }),
    )
  ).data;
  await registry.start(ctx, issue, "schedule", "schedule");
}
