/**
 * The ledger on GitHub: the branch `autoresearch/ledger` of the repository holds
 * `campaigns/<id>/events/<shard>.jsonl` (EVENTS_PER_SHARD events a file) and
 * `campaigns/<id>/traces/<n>.md`. An append is one tree (with the new text inline) and one commit
 * whose ref update is fast-forward only, GitHub's compare-and-swap for an append-only chain: when
 * another writer moved the branch, the append is retried on top of it if that writer touched
 * another campaign, and refused if it appended to this one. An append rewrites only the last shard,
 * and a read fetches only the shards it has not seen, so neither grows with the ledger's length.
 */
import PQueue from "p-queue";
import { type LedgerEvent, type LedgerProblem, type NewEventInput, parseLedger, stamp } from "../core/events.js";
import { LEDGER_BRANCH } from "../core/names.js";
import { LedgerError } from "../errors.js";
import type { Clock, LedgerStore } from "../ports.js";
import { APP_IDENTITY, apiError, call, type GitHubClient, type RepoRef, statusOf } from "./client.js";

/** Events per shard file: an append rewrites one shard, so its size stays bounded. */
export const EVENTS_PER_SHARD = 100;

/** Attempts of an append whose compare-and-swap lost to a writer of another campaign. */
const APPEND_ATTEMPTS = 5;

/** A file of the ledger branch and its content. */
interface FileEntry {
  path: string;
  sha: string;
}

/** The head of the ledger branch. */
interface Head {
  commit: string;
  tree: string;
}

/** The file of shard `k` of a campaign. */
export function shardPath(campaign: string, k: number): string {
  return `campaigns/${campaign}/events/${String(k).padStart(6, "0")}.jsonl`;
}

/** The trace of experiment `n`, relative to the campaign folder (what the ledger records). */
export function traceRelPath(experiment: number): string {
  return `traces/${experiment}.md`;
}

/**
 * The ledger branch of one repository, shared by its campaigns in this process: the known head,
 * cached file contents, and one queue so this process never races itself.
 */
export class LedgerBranch {
  /** The head this process last saw or wrote: null when the branch does not exist, undefined before the first read. */
  private head: Head | null | undefined;
  private readonly blobs = new Map<string, string>();
  readonly queue = new PQueue({ concurrency: 1 });

  constructor(
    readonly gh: GitHubClient,
    readonly where: RepoRef,
    readonly clock: Clock = { now: () => new Date() },
  ) {}

  /** Reads the branch's head from GitHub (undefined when the branch does not exist yet). */
  async refresh(): Promise<Head | undefined> {
    const { owner, repo } = this.where;
    let commit: string;
    try {
      commit = (await this.gh.rest.git.getRef({ owner, repo, ref: `heads/${LEDGER_BRANCH}` })).data.object.sha;
    } catch (err) {
      if (statusOf(err) === 404) {
        this.head = null;
        return undefined;
      }
      throw apiError("read the ledger branch", err);
    }
    if (this.head?.commit === commit) return this.head;
    const tree = (await call("read the ledger commit", () => this.gh.rest.git.getCommit({ owner, repo, commit_sha: commit }))).data.tree.sha;
    this.head = { commit, tree };
    return this.head;
  }

  /** The head as last seen, read from GitHub when not known yet. */
  async current(): Promise<Head | undefined> {
    if (this.head === undefined) return this.refresh();
    return this.head ?? undefined;
  }

  /** The files directly in `dir` at the head ([] when it does not exist). */
  async list(dir: string): Promise<FileEntry[]> {
    const head = await this.current();
    if (!head) return [];
    const { owner, repo } = this.where;
    try {
      const r = await this.gh.rest.repos.getContent({ owner, repo, path: dir, ref: head.commit });
      const items = Array.isArray(r.data) ? r.data : [];
      return items.map((i) => ({ path: i.path, sha: i.sha }));
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw apiError(`list ${dir} on the ledger branch`, err);
    }
  }

  /** A file's text by blob sha (cached: blobs never change). */
  async text(sha: string): Promise<string> {
    const hit = this.blobs.get(sha);
    if (hit !== undefined) return hit;
    const { owner, repo } = this.where;
    const r = await call("read a ledger file", () => this.gh.rest.git.getBlob({ owner, repo, file_sha: sha }));
    const text = Buffer.from(r.data.content, r.data.encoding === "base64" ? "base64" : "utf8").toString("utf8");
    this.blobs.set(sha, text);
    return text;
  }

  /**
   * Commits `files` (path -> content) on top of `on`, moving the branch only if it is still there
   * (fast-forward only). Returns false, changing nothing, when another writer moved it first.
   */
  async commit(on: Head | undefined, files: Record<string, string>, message: string): Promise<boolean> {
    const { owner, repo } = this.where;
    const tree = (
      await call("write the ledger tree", () =>
        this.gh.rest.git.createTree({
          owner,
          repo,
          ...(on ? { base_tree: on.tree } : {}),
          tree: Object.entries(files).map(([path, content]) => ({ path, mode: "100644" as const, type: "blob" as const, content })),
        }),
      )
    ).data.sha;
    const who = { ...APP_IDENTITY, date: this.clock.now().toISOString() };
    const commit = (
      await call("write the ledger commit", () =>
        this.gh.rest.git.createCommit({ owner, repo, message, tree, parents: on ? [on.commit] : [], author: who, committer: who }),
      )
    ).data.sha;
    try {
      if (on) await this.gh.rest.git.updateRef({ owner, repo, ref: `heads/${LEDGER_BRANCH}`, sha: commit, force: false });
      else await this.gh.rest.git.createRef({ owner, repo, ref: `refs/heads/${LEDGER_BRANCH}`, sha: commit });
    } catch (err) {
      // 422: not a fast-forward, or the branch was created meanwhile: another writer was first.
      if (statusOf(err) === 422) return false;
      throw apiError("move the ledger branch", err);
    }
    this.head = { commit, tree };
    return true;
  }
}

/** One campaign's ledger on the ledger branch. */
export class BranchLedgerStore implements LedgerStore {
  /** The campaign's last shard as this process knows it, and the last seq. */
  private last: { k: number; text: string; sha?: string } | undefined;
  private lastSeq = 0;
  /** Traces written since the last append: they go into the next append's commit. */
  private readonly pending = new Map<string, string>();
  /** Traces this process wrote or read, by path relative to the campaign folder. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly branch: LedgerBranch,
    readonly campaign: string,
  ) {}

  /** The folder of this campaign on the ledger branch. */
  get dir(): string {
    return `campaigns/${this.campaign}`;
  }

  async read(): Promise<{ events: LedgerEvent[]; problems: LedgerProblem[] }> {
    return this.branch.queue.add(async () => {
      await this.branch.refresh();
      return this.load();
    }) as Promise<{ events: LedgerEvent[]; problems: LedgerProblem[] }>;
  }

  /** Reads every shard of the campaign at the branch's known head. */
  private async load(): Promise<{ events: LedgerEvent[]; problems: LedgerProblem[] }> {
    const shards = (await this.branch.list(`${this.dir}/events`)).filter((f) => f.path.endsWith(".jsonl")).sort((a, b) => a.path.localeCompare(b.path));
    const texts = await Promise.all(shards.map((f) => this.branch.text(f.sha)));
    const events: LedgerEvent[] = [];
    const problems: LedgerProblem[] = [];
    let line = 0;
    texts.forEach((text, i) => {
      const r = parseLedger(text);
      events.push(...r.events);
      problems.push(...r.problems.map((p) => ({ ...p, line: p.line + line, message: `${shards[i]?.path}: ${p.message}` })));
      line += text.split("\n").length - 1;
    });
    const lastShard = shards.at(-1);
    this.last = lastShard ? { k: shards.length - 1, text: texts.at(-1) ?? "", sha: lastShard.sha } : undefined;
    this.lastSeq = events.at(-1)?.seq ?? 0;
    return { events, problems };
  }

  async append(events: NewEventInput[], expectedSeq: number): Promise<LedgerEvent[]> {
    if (events.length === 0) return [];
    return this.appendStamped(stamp(events, expectedSeq, this.branch.clock.now()));
  }

  /**
   * Appends events the caller stamped itself (a driver that plans on them before they are
   * written, so that what it holds and what the ledger folds to are the same). The first must
   * follow the ledger's last event; LedgerError (nothing written) when another writer appended to
   * this campaign first.
   */
  async appendStamped(stamped: LedgerEvent[]): Promise<LedgerEvent[]> {
    if (stamped.length === 0) return stamped;
    const expectedSeq = (stamped[0]?.seq ?? 1) - 1;
    return this.branch.queue.add(async () => {
      if (this.last === undefined && expectedSeq > 0) await this.load();
      for (let attempt = 1; ; attempt++) {
        if (this.lastSeq !== expectedSeq)
          throw new LedgerError(
            `the ledger of campaign ${this.campaign} changed: expected the last event to be #${expectedSeq} but it is #${this.lastSeq} (another writer appended); read it again`,
            `${this.dir}/events`,
          );
        const files: Record<string, string> = {};
        let k = this.last?.k ?? 0;
        let text = this.last?.text ?? "";
        for (const ev of stamped) {
          const shard = Math.floor((ev.seq - 1) / EVENTS_PER_SHARD);
          if (shard !== k) {
            k = shard;
            text = "";
          }
          text += `${JSON.stringify(ev)}\n`;
          files[shardPath(this.campaign, k)] = text;
        }
        for (const [rel, md] of this.pending) files[`${this.dir}/${rel}`] = md;
        const head = await this.branch.current();
        const types = [...new Set(stamped.map((e) => e.type))].join(", ");
        if (
          await this.branch.commit(
            head,
            files,
            `campaign ${this.campaign}: ${types} (#${stamped[0]?.seq}${stamped.length > 1 ? `-${stamped.at(-1)?.seq}` : ""})`,
          )
        ) {
          this.last = { k, text };
          this.lastSeq = stamped.at(-1)?.seq ?? this.lastSeq;
          for (const [rel, md] of this.pending) this.written.set(rel, md);
          this.pending.clear();
          return stamped;
        }
        // Another writer moved the branch: if it was another campaign, append again on top of it.
        if (attempt >= APPEND_ATTEMPTS)
          throw new LedgerError(`the ledger branch kept moving while campaign ${this.campaign} appended (${attempt} attempts)`, LEDGER_BRANCH);
        await this.branch.refresh();
        await this.load();
      }
    }) as Promise<LedgerEvent[]>;
  }

  /** A trace of this campaign (written by this process, or read from the ledger branch); undefined when missing. */
  async trace(experiment: number): Promise<string | undefined> {
    const rel = traceRelPath(experiment);
    const known = this.pending.get(rel) ?? this.written.get(rel);
    if (known !== undefined) return known;
    const entry = (await this.branch.list(`${this.dir}/traces`)).find((f) => f.path === `${this.dir}/${rel}`);
    if (!entry) return undefined;
    const text = await this.branch.text(entry.sha);
    this.written.set(rel, text);
    return text;
  }

  async writeTrace(experiment: number, markdown: string): Promise<string> {
    const rel = traceRelPath(experiment);
    this.pending.set(rel, markdown);
    return rel;
  }
}
