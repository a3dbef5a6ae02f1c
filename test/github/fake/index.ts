/**
 * A loopback fake of GitHub for the App's end-to-end tests: GitHub Enterprise Server's layout
 * (REST under `/api/v3`, which Probot uses when `GHE_HOST` is set), Git Data over a real bare
 * repository, issues and pull requests, Actions runs that execute the real bundled Action, and
 * signed webhooks to the App. Every request and response is checked against GitHub's REST
 * description; disagreements land in `gh.problems`, which tests assert empty. See README.md.
 *
 * ```ts
 * const gh = await startFakeGitHub({ seedDir: "examples/tiny-regression", webhook: { url, secret } });
 * // start the App with GHE_HOST=gh.host GHE_PROTOCOL=http APP_ID=gh.appId PRIVATE_KEY=gh.privateKey
 * const issue = gh.openIssue({ title: "Lower val_loss", body: "...", by: "mona" });
 * gh.addLabel(issue.number, "autoresearch", { by: "mona" });
 * await gh.waitFor(() => gh.state.issues.some((i) => i.pull), 120_000);
 * expect(gh.problems).toEqual([]);
 * await gh.close();
 * ```
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ArtifactService, backendIds } from "./artifacts.js";
import { type GitPerson, GitRepo, readSeedDir } from "./git.js";
import { HttpError, Router } from "./http.js";
import { INSTALLATION_EVENTS, label, now, type Site, userRecord } from "./objects.js";
import { RestDescription } from "./openapi.js";
import { installationPayload, issueCommentPayload, issuesPayload, pullRequestPayload, repositoryDispatchPayload, workflowRunPayload } from "./payloads.js";
import { registerActionsRoutes } from "./routes-actions.js";
import { registerGitRoutes } from "./routes-git.js";
import { registerIssueRoutes } from "./routes-issues.js";
import { registerRepoRoutes } from "./routes-repo.js";
import { ActionsEngine, type RunKnobs } from "./runner.js";
import { type Fault, handleRequest, type ServeDeps } from "./serve.js";
import {
  type CallRecord,
  type CommentRecord,
  type DeliveryRecord,
  emptyState,
  type FakeState,
  type IssueRecord,
  type LabelRecord,
  type Problem,
  type RepoPermission,
  type RunRecord,
  type WorkflowRecord,
} from "./state.js";
import { type WebhookKnobs, WebhookSender } from "./webhooks.js";
import { type ParsedWorkflow, parseWorkflow } from "./workflow.js";

export type { JobContext, JobExecutor, RunFilter, RunKnobs } from "./runner.js";
export { allBusyShare } from "./runner.js";
export type * from "./state.js";
export type { WebhookFilter, WebhookKnobs } from "./webhooks.js";
export { sign } from "./webhooks.js";

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  /** Default Organization: payloads then carry `organization`. */
  ownerType?: "Organization" | "User";
  /** Default false. A private repository answers `none` for users without a permission, a public one `read`. */
  private?: boolean;
  defaultBranch?: string;
  /** Files committed as the first commit of the default branch (ignored files left out). */
  seedDir?: string;
  /** More files for the first commit (path -> content), over `seedDir`'s. */
  seedFiles?: Record<string, string>;
  /** Where the App listens; without it deliveries are recorded, not sent. */
  webhook?: { url: string; secret: string };
  appId?: number;
  appSlug?: string;
  installationId?: number;
  /** The App's private key (PEM); the fake makes one when absent. JWTs are verified with it. */
  privateKey?: string;
  /** Runners in the fleet (jobs in flight at once); default 2. */
  runners?: number;
  /** Events the App is subscribed to (installation events always arrive); default those in app.yml's spirit. */
  events?: string[];
  /** Deliver webhooks for what the App itself does (its comments, labels, pull requests), as GitHub does; default true. */
  echoAppActions?: boolean;
  /** Permissions of users on the repository; `mona` is admin unless set. */
  permissions?: Record<string, RepoPermission>;
  /** A job is killed after this long (default 120 s). */
  jobTimeoutMs?: number;
  /** The Action's bundle and action.yml (default: this repository's dist/action/index.js and action.yml). */
  actionBundle?: string;
  actionYml?: string;
  /** Keep job directories after a run (debugging). */
  keepWorkdirs?: boolean;
}

/** Faults injected into the REST API (`gh.control.api`). */
export interface ApiKnobs {
  /** Answer matching requests with `status` (and `headers`, e.g. retry-after) instead of serving them; `times` requests (default 1). */
  failNext(f: { method?: string; path?: string | RegExp; status: number; message?: string; headers?: Record<string, string>; times?: number }): void;
  /** Installation tokens issued so far stop working (401 Bad credentials), as after an hour. */
  revokeTokens(): void;
}

/** The package root: the nearest folder above this file with action.yml and package.json (from test/ and from dist/test/). */
const PACKAGE_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, "action.yml")) && existsSync(join(dir, "package.json"))) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

const SEED_AUTHOR: GitPerson = { name: "Mona Lisa Octocat", email: "mona@example.com", date: "2024-01-01T00:00:00Z" };

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const gh = new FakeGitHub(opts);
  await gh.start();
  return gh;
}

export class FakeGitHub {
  readonly site: Site;
  readonly state: FakeState = emptyState();
  /** Every REST request answered, in order. */
  readonly calls: CallRecord[] = [];
  /** Where a request, a response or a webhook disagreed with GitHub's description; tests assert none. */
  readonly problems: Problem[] = [];
  readonly description = RestDescription.load();
  readonly privateKey: string;
  readonly control: { webhooks: WebhookKnobs; runs: RunKnobs; api: ApiKnobs };
  readonly actions: ActionsEngine;
  readonly artifactsService: ArtifactService;
  git!: GitRepo;
  private readonly publicKey: KeyObject;
  private readonly router = new Router();
  private readonly server: Server;
  private readonly sender: WebhookSender;
  private readonly events: Set<string>;
  private readonly echo: boolean;
  private readonly faults: Fault[] = [];
  private id = 100_000;
  private tmp = "";
  private runHooks: Promise<void> = Promise.resolve();

  constructor(private readonly opts: FakeGitHubOptions) {
    this.site = {
      host: "",
      api: "",
      web: "",
      owner: opts.owner ?? "octo-org",
      ownerType: opts.ownerType ?? "Organization",
      repo: opts.repo ?? "tiny",
      repoId: 424_242,
      private: opts.private ?? false,
      defaultBranch: opts.defaultBranch ?? "main",
      appId: opts.appId ?? 4242,
      appSlug: opts.appSlug ?? "autoresearch",
      installationId: opts.installationId ?? 77_777,
      createdAt: "2024-01-01T00:00:00Z",
    };
    if (opts.privateKey) {
      this.privateKey = opts.privateKey;
      this.publicKey = createPublicKey(opts.privateKey);
    } else {
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      this.privateKey = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
      this.publicKey = pair.publicKey;
    }
    this.events = new Set(opts.events ?? INSTALLATION_EVENTS);
    this.echo = opts.echoAppActions ?? true;
    userRecord(this.state, this.site.owner, this.site.ownerType);
    userRecord(this.state, this.botLogin, "Bot");
    this.state.permissions.set("mona", "admin");
    for (const [u, p] of Object.entries(opts.permissions ?? {})) this.state.permissions.set(u, p);
    this.sender = new WebhookSender(opts.webhook, this.state.deliveries, 123_456, this.site.appId);
    const fake = this;
    this.actions = new ActionsEngine(
      {
        // Getters: the port and the repository exist only once start() ran.
        get repoDir() {
          return fake.git.dir;
        },
        owner: this.site.owner,
        repo: this.site.repo,
        get web() {
          return fake.site.web;
        },
        get api() {
          return fake.site.api;
        },
        bundle: opts.actionBundle ?? join(PACKAGE_ROOT, "dist", "action", "index.js"),
        actionYml: opts.actionYml ?? join(PACKAGE_ROOT, "action.yml"),
        jobTimeoutMs: opts.jobTimeoutMs ?? 120_000,
        keepWorkdirs: opts.keepWorkdirs ?? false,
        nextId: () => this.nextId(),
        runsChanged: (run, action) => this.runChanged(run, action),
        suspicious: (m) => this.problem("suspicious", "RUN", "", m),
        uploadArtifact: (run, job, name, files) => this.uploadArtifact(run, job.id, name, files),
      },
      opts.runners ?? 2,
    );
    this.artifactsService = new ArtifactService(
      this.state,
      () => this.site.web,
      () => this.nextId(),
      (runId) => this.state.runs.some((r) => r.id === runId && r.status === "in_progress"),
    );
    const deps: ServeDeps = {
      site: this.site,
      description: this.description,
      router: this.router,
      artifactsService: this.artifactsService,
      calls: this.calls,
      faults: this.faults,
      tokens: this.state.tokens,
      publicKey: this.publicKey,
      problem: (kind, method, path, message) => this.problem(kind, method, path, message),
    };
    this.server = createServer((req, res) => {
      handleRequest(deps, req, res).catch((err) => {
        this.problem("response", req.method ?? "", req.url ?? "", `the fake failed: ${(err as Error).stack ?? err}`);
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "the fake failed" }));
      });
    });
    const faults = this.faults;
    const state = this.state;
    this.control = {
      webhooks: this.sender,
      runs: this.actions,
      api: {
        failNext(f) {
          faults.push({ ...f, left: f.times ?? 1 });
        },
        revokeTokens() {
          for (const t of state.tokens.keys()) state.tokens.set(t, 0);
        },
      },
    };
    registerRepoRoutes(this.router, this);
    registerGitRoutes(this.router, this);
    registerIssueRoutes(this.router, this);
    registerActionsRoutes(this.router, this);
    for (const r of this.router.routes) {
      if (!this.description.operation(r.method, r.template))
        throw new Error(`the fake serves ${r.method} ${r.template}, which GitHub's description does not have`);
    }
  }

  /** `127.0.0.1:PORT`: the App's GHE_HOST (with GHE_PROTOCOL=http). */
  get host(): string {
    return this.site.host;
  }
  /** `http://127.0.0.1:PORT/api/v3`: Octokit's baseUrl. */
  get apiUrl(): string {
    return this.site.api;
  }
  get appId(): number {
    return this.site.appId;
  }
  get installationId(): number {
    return this.site.installationId;
  }
  /** The bare repository behind the Git Data endpoints. */
  get repoDir(): string {
    return this.git.dir;
  }
  /** The endpoints the fake serves (method and the description's path template). */
  get routes(): { method: string; template: string }[] {
    return this.router.routes.map((r) => ({ method: r.method, template: r.template }));
  }
  /** The pull requests (issues with `pull` set), in number order. */
  get pulls(): IssueRecord[] {
    return this.state.issues.filter((i) => i.pull);
  }
  /** The App's bot login (`<slug>[bot]`). */
  get botLogin(): string {
    return `${this.site.appSlug}[bot]`;
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    const port = (this.server.address() as AddressInfo).port;
    this.site.host = `127.0.0.1:${port}`;
    this.site.web = `http://${this.site.host}`;
    this.site.api = `${this.site.web}/api/v3`;
    this.tmp = await mkdtemp(join(tmpdir(), "fake-github-"));
    this.git = await GitRepo.init(join(this.tmp, `${this.site.repo}.git`), this.site.defaultBranch);
    const files = this.opts.seedDir ? await readSeedDir(this.opts.seedDir) : new Map<string, { content: Buffer; executable: boolean }>();
    for (const [p, c] of Object.entries(this.opts.seedFiles ?? {})) files.set(p, { content: Buffer.from(c, "utf8"), executable: false });
    if (files.size === 0) files.set("README.md", { content: Buffer.from(`# ${this.site.repo}\n`), executable: false });
    await this.git.seed(files, SEED_AUTHOR, "Initial commit\n");
  }

  /** Stops runs (killing their processes), the server, and removes the repository. */
  async close(): Promise<void> {
    await this.actions.close();
    await this.sender.idle();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections?.();
    if (this.tmp) await rm(this.tmp, { recursive: true, force: true, maxRetries: 3 });
  }

  nextId(): number {
    return ++this.id;
  }

  problem(kind: Problem["kind"], method: string, path: string, message: string): void {
    this.problems.push({ kind, method, path, message });
  }

  /** The identity GitHub gives commits the App makes without naming an author. */
  botIdentity(): { name: string; email: string } {
    const id = this.state.users.get(this.botLogin)?.id ?? 1;
    return { name: this.botLogin, email: `${id}+${this.botLogin}@users.noreply.github.com` };
  }

  // ---- webhooks

  /** Fields the fake left out of webhook payloads because the description does not document them for that event and action. */
  readonly prunedWebhookFields = new Set<string>();

  /** Queues a webhook (subscription, validation and knobs applied). */
  emit(event: string, payload: Record<string, unknown>): DeliveryRecord | null {
    if (event !== "installation" && !this.events.has(event)) return null;
    const schema = this.description.webhookSchema(event, typeof payload.action === "string" ? payload.action : undefined);
    if (schema) for (const p of this.description.prune(schema, payload, `${event}.${String(payload.action)}`)) this.prunedWebhookFields.add(p);
    for (const p of this.description.checkWebhook(event, payload)) this.problem("webhook", "WEBHOOK", `${event}.${String(payload.action)}`, p);
    return this.sender.emit(event, payload);
  }

  /** Sends one webhook now, past the knobs: signed with the secret (`valid`), another secret (`bad`), or unsigned (`none`). */
  async deliver(
    event: string,
    payload: Record<string, unknown>,
    opts: { signature?: "valid" | "bad" | "none"; validate?: boolean } = {},
  ): Promise<DeliveryRecord> {
    if (opts.validate !== false)
      for (const p of this.description.checkWebhook(event, payload)) this.problem("webhook", "WEBHOOK", `${event}.${String(payload.action)}`, p);
    return this.sender.deliverNow(event, payload, opts.signature ?? "valid");
  }

  /** Sends later deliveries to another address (the App restarted on another port). */
  setWebhook(target: { url: string; secret: string } | undefined): void {
    this.sender.setTarget(target);
  }

  /**
   * Sends again, with the same GUIDs, the deliveries that never reached the App with success (it
   * was down, answered an error, or a knob dropped them), as a person clicking "Redeliver" would;
   * resolves with the new records.
   */
  async redeliverFailed(filter: (d: DeliveryRecord) => boolean = () => true): Promise<DeliveryRecord[]> {
    const ok = (d: DeliveryRecord) => d.outcome === "sent" && d.status !== null && d.status < 400;
    const delivered = new Set(this.state.deliveries.filter(ok).map((d) => d.guid));
    const failed = this.state.deliveries.filter((d) => !d.redelivery && !delivered.has(d.guid) && d.outcome !== "no-receiver" && filter(d));
    const out: DeliveryRecord[] = [];
    for (const d of failed) out.push(await this.sender.redeliver(d));
    return out;
  }

  private echoed(by: string): boolean {
    return by !== this.botLogin || this.echo;
  }

  private runChanged(run: RunRecord, action: "requested" | "in_progress" | "completed"): void {
    if (!this.actions.webhookActions.includes(action)) return;
    const w = this.state.workflows.find((x) => x.id === run.workflow_id);
    if (!w) return;
    // The payload is a snapshot of the run now; reading the commit is async, so a chain keeps requested, in_progress, completed in order.
    const snapshot = { ...run, jobs: [] };
    this.runHooks = this.runHooks
      .then(() => this.git.readCommit(run.head_sha))
      .then((head) => {
        this.emit("workflow_run", workflowRunPayload(this.site, this.state, action, snapshot, w, head));
      })
      .catch((err) => this.problem("webhook", "WEBHOOK", "workflow_run", `could not build the payload: ${(err as Error).message}`));
  }

  // ---- state changes shared by the API and the test's user actions

  ensureLabel(name: string, color = "ededed", description: string | null = null): LabelRecord {
    let l = this.state.labels.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!l) {
      l = { id: this.nextId(), name, color, description };
      this.state.labels.push(l);
    }
    return l;
  }

  private nextNumber(): number {
    return this.state.issues.reduce((m, i) => Math.max(m, i.number), 0) + 1;
  }

  createIssue(o: { title: string; body: string | null; labels?: string[]; by: string }): IssueRecord {
    const t = now();
    const i: IssueRecord = {
      id: this.nextId(),
      number: this.nextNumber(),
      title: o.title,
      body: o.body,
      user: o.by,
      state: "open",
      state_reason: null,
      labels: [],
      created_at: t,
      updated_at: t,
      closed_at: null,
      closed_by: null,
      reactions: [],
    };
    this.state.issues.push(i);
    if (this.echoed(o.by)) this.emit("issues", issuesPayload(this.site, this.state, "opened", i, o.by));
    for (const l of o.labels ?? []) this.addLabel(i, l, o.by);
    return i;
  }

  addLabel(i: IssueRecord, name: string, by: string): void {
    const l = this.ensureLabel(name);
    if (i.labels.includes(l.name)) return;
    i.labels.push(l.name);
    i.updated_at = now();
    if (this.echoed(by)) {
      if (i.pull) this.emit("pull_request", { ...pullRequestPayload(this.site, this.state, "labeled", i, by), label: label(this.site, l) });
      else this.emit("issues", issuesPayload(this.site, this.state, "labeled", i, by, { label: l }));
    }
  }

  removeLabel(i: IssueRecord, name: string, by: string): void {
    const l = this.ensureLabel(name);
    if (!i.labels.includes(l.name)) return;
    i.labels = i.labels.filter((x) => x !== l.name);
    i.updated_at = now();
    if (this.echoed(by)) {
      if (i.pull) this.emit("pull_request", { ...pullRequestPayload(this.site, this.state, "unlabeled", i, by), label: label(this.site, l) });
      else this.emit("issues", issuesPayload(this.site, this.state, "unlabeled", i, by, { label: l }));
    }
  }

  /** PATCH issue semantics: title, body, state (+ state_reason), labels (replace). */
  updateIssue(
    i: IssueRecord,
    b: { title?: string; body?: string | null; state?: string; state_reason?: string | null; labels?: (string | { name: string })[] },
    by: string,
  ): void {
    const changes: Record<string, { from: unknown }> = {};
    if (b.title !== undefined && b.title !== i.title) {
      changes.title = { from: i.title };
      i.title = b.title;
    }
    if (b.body !== undefined && b.body !== i.body) {
      changes.body = { from: i.body ?? "" };
      i.body = b.body;
    }
    i.updated_at = now();
    if (Object.keys(changes).length > 0 && this.echoed(by)) this.emit("issues", issuesPayload(this.site, this.state, "edited", i, by, { changes }));
    if (b.labels !== undefined) {
      const want = b.labels.map((l) => (typeof l === "string" ? l : l.name));
      for (const l of [...i.labels]) if (!want.includes(l)) this.removeLabel(i, l, by);
      for (const l of want) this.addLabel(i, l, by);
    }
    if (b.state === "closed" && i.state === "open") this.closeIssueRecord(i, by, (b.state_reason as IssueRecord["state_reason"]) ?? "completed");
    else if (b.state === "open" && i.state === "closed") {
      i.state = "open";
      i.state_reason = "reopened";
      i.closed_at = null;
      if (this.echoed(by)) this.emit("issues", issuesPayload(this.site, this.state, "reopened", i, by));
    }
  }

  private closeIssueRecord(i: IssueRecord, by: string, reason: IssueRecord["state_reason"]): void {
    i.state = "closed";
    i.state_reason = reason;
    i.closed_at = now();
    i.closed_by = by;
    i.updated_at = i.closed_at;
    if (!this.echoed(by)) return;
    if (i.pull) this.emit("pull_request", pullRequestPayload(this.site, this.state, "closed", i, by));
    else this.emit("issues", issuesPayload(this.site, this.state, "closed", i, by));
  }

  createComment(issueNumber: number, body: string, by: string): CommentRecord {
    const t = now();
    const c: CommentRecord = {
      id: this.nextId(),
      issue_number: issueNumber,
      body,
      user: by,
      created_at: t,
      updated_at: t,
      edits: [],
      reactions: [],
      via_app: by === this.botLogin,
    };
    this.state.comments.push(c);
    if (this.echoed(by)) this.emit("issue_comment", issueCommentPayload(this.site, this.state, "created", c, by));
    return c;
  }

  editComment(c: CommentRecord, body: string, by: string): void {
    const t = now();
    const from = c.body;
    c.edits.push({ body: c.body, replaced_at: t });
    c.body = body;
    c.updated_at = t;
    if (this.echoed(by)) this.emit("issue_comment", issueCommentPayload(this.site, this.state, "edited", c, by, { body: { from } }));
  }

  createPull(o: {
    title: string;
    body: string | null;
    head: string;
    base: string;
    headSha: string;
    baseSha: string;
    draft: boolean;
    maintainerCanModify: boolean;
    by: string;
  }): IssueRecord {
    const t = now();
    const number = this.nextNumber();
    const i: IssueRecord = {
      id: this.nextId(),
      number,
      title: o.title,
      body: o.body,
      user: o.by,
      state: "open",
      state_reason: null,
      labels: [],
      created_at: t,
      updated_at: t,
      closed_at: null,
      closed_by: null,
      reactions: [],
      pull: {
        id: this.nextId(),
        number,
        head: o.head,
        base: o.base,
        head_sha: o.headSha,
        base_sha: o.baseSha,
        draft: o.draft,
        maintainer_can_modify: o.maintainerCanModify,
        merged: false,
        merged_at: null,
        merged_by: null,
        merge_commit_sha: null,
        edits: [],
      },
    };
    this.state.issues.push(i);
    if (this.echoed(o.by)) this.emit("pull_request", pullRequestPayload(this.site, this.state, "opened", i, o.by));
    return i;
  }

  async updatePull(i: IssueRecord, b: { title?: string; body?: string | null; state?: string; base?: string }, by: string): Promise<void> {
    const p = i.pull;
    if (!p) throw new Error(`#${i.number} is not a pull request`);
    const changes: Record<string, { from: unknown }> = {};
    if ((b.title !== undefined && b.title !== i.title) || (b.body !== undefined && b.body !== i.body))
      p.edits.push({ title: i.title, body: i.body, replaced_at: now() });
    if (b.title !== undefined && b.title !== i.title) {
      changes.title = { from: i.title };
      i.title = b.title;
    }
    if (b.body !== undefined && b.body !== i.body) {
      changes.body = { from: i.body ?? "" };
      i.body = b.body;
    }
    if (b.base !== undefined && b.base !== p.base) {
      const sha = await this.git.resolveCommit(`refs/heads/${b.base}`);
      if (!sha) throw new HttpError(422, "Validation Failed", [{ resource: "PullRequest", field: "base", code: "invalid" }]);
      changes.base = { from: { ref: p.base, sha: p.base_sha } } as never;
      p.base = b.base;
      p.base_sha = sha;
    }
    i.updated_at = now();
    if (Object.keys(changes).length > 0 && this.echoed(by)) this.emit("pull_request", pullRequestPayload(this.site, this.state, "edited", i, by, { changes }));
    if (b.state === "closed" && i.state === "open") this.closeIssueRecord(i, by, null);
    else if (b.state === "open" && i.state === "closed" && !p.merged) {
      i.state = "open";
      i.closed_at = null;
      if (this.echoed(by)) this.emit("pull_request", pullRequestPayload(this.site, this.state, "reopened", i, by));
    }
  }

  /** After a branch moved or was deleted: open pull requests follow their head (synchronize) or close with it, as on GitHub. */
  async refChanged(ref: string, before: string | null, after: string | null): Promise<void> {
    const branch = ref.replace(/^refs\/heads\//, "");
    if (branch === ref) return;
    for (const i of this.state.issues) {
      const p = i.pull;
      if (!p || i.state !== "open") continue;
      if (p.head === branch) {
        if (after === null) this.closeIssueRecord(i, this.botLogin, null);
        else if (after !== p.head_sha) {
          p.head_sha = after;
          i.updated_at = now();
          if (this.echo)
            this.emit("pull_request", pullRequestPayload(this.site, this.state, "synchronize", i, this.botLogin, { before: before ?? undefined, after }));
        }
      }
      if (p.base === branch && after) p.base_sha = after;
    }
  }

  /** The workflows whose files are on the default branch, with stable ids. */
  async workflowsOnDefaultBranch(): Promise<WorkflowRecord[]> {
    const head = await this.git.resolveCommit(`refs/heads/${this.site.defaultBranch}`);
    if (!head) return [];
    const entries = await this.git.lsTree(`${head}:.github/workflows`, false).catch(() => []);
    const out: WorkflowRecord[] = [];
    for (const e of entries) {
      if (e.type !== "blob" || !/\.ya?ml$/.test(e.path)) continue;
      const path = `.github/workflows/${e.path}`;
      let w = this.state.workflows.find((x) => x.path === path);
      if (!w) {
        const text = (await this.git.readBlob(e.sha))?.toString("utf8") ?? "";
        let name: string | undefined;
        try {
          name = parseWorkflow(text).name;
        } catch {}
        w = { id: this.nextId(), name: name ?? path, path, created_at: now(), next_run_number: 1 };
        this.state.workflows.push(w);
      }
      out.push(w);
    }
    return out;
  }

  /** A file's text at a commit, or null. */
  async fileAt(commit: string, path: string): Promise<string | null> {
    try {
      return await this.git.git(["cat-file", "blob", `${commit}:${path}`]);
    } catch {
      return null;
    }
  }

  parseWorkflow(text: string): ParsedWorkflow {
    try {
      return parseWorkflow(text);
    } catch (err) {
      throw new HttpError(422, `Invalid workflow file: ${(err as Error).message}`);
    }
  }

  private async uploadArtifact(run: RunRecord, jobId: number, name: string, files: Record<string, string | Uint8Array>): Promise<void> {
    const { zipSync } = await import("fflate");
    const zip = Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? new TextEncoder().encode(v) : v]))));
    const ids = backendIds(run.id, jobId);
    const base = `${this.site.web}/twirp/github.actions.results.api.v1.ArtifactService/`;
    const create = await fetch(`${base}CreateArtifact`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflow_run_backend_id: ids.run, workflow_job_run_backend_id: ids.job, name, version: 4 }),
    });
    if (!create.ok) throw new Error(`CreateArtifact: ${create.status} ${await create.text()}`);
    const { signed_upload_url } = (await create.json()) as { signed_upload_url: string };
    const put = await fetch(signed_upload_url, { method: "PUT", body: zip });
    if (!put.ok) throw new Error(`upload: ${put.status}`);
    const fin = await fetch(`${base}FinalizeArtifact`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflow_run_backend_id: ids.run, workflow_job_run_backend_id: ids.job, name, size: String(zip.length) }),
    });
    if (!fin.ok) throw new Error(`FinalizeArtifact: ${fin.status}`);
  }

  // ---- what people do (the test's side): each delivers the webhook GitHub would

  /** Sets a user's permission on the repository. */
  setPermission(login: string, permission: RepoPermission): void {
    this.state.permissions.set(login, permission);
  }

  openIssue(o: { title: string; body?: string; labels?: string[]; by?: string }): IssueRecord {
    return this.createIssue({ title: o.title, body: o.body ?? null, labels: o.labels ?? [], by: o.by ?? "mona" });
  }

  labelIssue(number: number, name: string, o: { by?: string } = {}): void {
    this.addLabel(this.issue(number), name, o.by ?? "mona");
  }

  unlabelIssue(number: number, name: string, o: { by?: string } = {}): void {
    this.removeLabel(this.issue(number), name, o.by ?? "mona");
  }

  closeIssue(number: number, o: { by?: string; reason?: "completed" | "not_planned" } = {}): void {
    const i = this.issue(number);
    if (i.state === "open") this.closeIssueRecord(i, o.by ?? "mona", o.reason ?? "completed");
  }

  comment(number: number, body: string, o: { by?: string } = {}): CommentRecord {
    this.issue(number);
    return this.createComment(number, body, o.by ?? "mona");
  }

  /** Merges a pull request with a real merge commit on its base branch, and delivers `pull_request.closed` (merged). */
  async mergePull(number: number, o: { by?: string } = {}): Promise<string> {
    const i = this.issue(number);
    const p = i.pull;
    if (!p || i.state !== "open") throw new Error(`#${number} is not an open pull request`);
    const by = o.by ?? "mona";
    const base = await this.git.resolveCommit(`refs/heads/${p.base}`);
    const head = await this.git.resolveCommit(`refs/heads/${p.head}`);
    if (!base || !head) throw new Error(`#${number}: its branches are gone`);
    const tree = await this.git.git(["merge-tree", "--write-tree", base, head]).then((out) => out.split("\n")[0] ?? "");
    const t = now();
    const who = { name: by, email: `${by}@example.com`, date: t };
    const merge = await this.git.writeCommit({
      tree,
      parents: [base, head],
      author: who,
      committer: who,
      message: `Merge pull request #${number} from ${this.site.owner}/${p.head}\n\n${i.title}`,
    });
    await this.git.updateRef(`refs/heads/${p.base}`, merge, async (current) => {
      if (current !== base) throw new Error(`${p.base} moved during the merge`);
    });
    p.merged = true;
    p.merged_at = t;
    p.merged_by = by;
    p.merge_commit_sha = merge;
    p.head_sha = head;
    p.base_sha = merge;
    this.closeIssueRecord(i, by, null);
    return merge;
  }

  closePull(number: number, o: { by?: string } = {}): void {
    const i = this.issue(number);
    if (!i.pull || i.state !== "open") throw new Error(`#${number} is not an open pull request`);
    this.closeIssueRecord(i, o.by ?? "mona", null);
  }

  /** A `repository_dispatch` event, as `POST /repos/{owner}/{repo}/dispatches` by `by` makes it. */
  repositoryDispatch(eventType: string, clientPayload: Record<string, unknown> = {}, o: { by?: string } = {}): DeliveryRecord | null {
    return this.emit("repository_dispatch", repositoryDispatchPayload(this.site, this.state, eventType, clientPayload, o.by ?? "mona"));
  }

  /** `installation.created`, as when `by` installs the App on the repository. */
  installationCreated(o: { by?: string } = {}): DeliveryRecord | null {
    return this.emit("installation", installationPayload(this.site, this.state, "created", o.by ?? "mona"));
  }

  issue(number: number): IssueRecord {
    const i = this.state.issues.find((x) => x.number === number);
    if (!i) throw new Error(`no issue or pull request #${number}`);
    return i;
  }

  /** A branch's commit, or null. */
  branch(name: string): Promise<string | null> {
    return this.git.resolveCommit(`refs/heads/${name}`);
  }

  /** Resolves when no webhook is queued or in flight (held ones aside) and every run has completed or is held. */
  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.actions.idle();
      await this.runHooks;
      await this.sender.idle();
    }
  }

  /** Polls `predicate` until it holds; throws with the recent calls and deliveries after `timeoutMs`. */
  async waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = "the condition"): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > end) {
        const calls = this.calls.slice(-15).map((c) => `${c.method} ${c.path} -> ${c.status}`);
        const hooks = this.state.deliveries.slice(-10).map((d) => `${d.event}.${d.action} ${d.outcome} ${d.status ?? ""}`);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nlast calls:\n  ${calls.join("\n  ")}\nlast deliveries:\n  ${hooks.join("\n  ")}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
