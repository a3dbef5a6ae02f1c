/** One fake per port, in memory, for core and driver tests. */
import { createHash } from "node:crypto";
import { diffLines } from "diff";
import { type LedgerEvent, type LedgerProblem, type NewEventInput, stamp } from "../../src/core/events.js";
import { BranchConflict, EditError } from "../../src/errors.js";
import type {
  CommitOptions,
  CommitResult,
  Executor,
  LedgerStore,
  MergeResult,
  Proposal,
  ProposalContext,
  Proposer,
  RepoHost,
  RunReporting,
  RunResult,
  RunRunner,
  RunSpec,
} from "../../src/ports.js";
import { sleep } from "../../src/sleep.js";

export class FakeRepoHost implements RepoHost {
  commits = new Map<string, Record<string, string>>();
  branches = new Map<string, string>();
  /** Every branch move, in order (for asserting compare-and-swap behaviour). */
  moves: { name: string; commit: string | null; expected: string | null }[] = [];
  constructor(
    files: Record<string, string>,
    readonly base = "base",
  ) {
    this.commits.set(base, { ...files });
  }
  async readFiles(commit: string, paths: string[]) {
    const tree = this.tree(commit);
    return Object.fromEntries(paths.map((p) => [p, tree[p]]));
  }
  async listFiles(commit: string) {
    return Object.keys(this.tree(commit)).sort();
  }
  /** Deterministic like the real hosts: the same parent, files, message and date make the same id. */
  async commit(parent: string, files: Record<string, string>, message: string, options: CommitOptions): Promise<CommitResult> {
    const before = this.tree(parent);
    for (const p of Object.keys(files)) {
      const clash = Object.keys(before).find((q) => q.startsWith(`${p}/`) || p.startsWith(`${q}/`));
      if (clash !== undefined) throw new EditError(`cannot write ${p}: ${clash} is in the way at the parent commit`, p);
    }
    const tree = { ...before, ...files };
    const id = createHash("sha1")
      .update(parent + message + options.at + JSON.stringify(tree))
      .digest("hex")
      .slice(0, 12);
    this.commits.set(id, tree);
    // Real line counts, as git's numstat gives them.
    let added = 0;
    let removed = 0;
    for (const [p, content] of Object.entries(files)) {
      for (const part of diffLines(before[p] ?? "", content)) {
        if (part.added) added += part.count ?? 0;
        if (part.removed) removed += part.count ?? 0;
      }
    }
    return {
      commit: id,
      diff: Object.keys(files)
        .map((f) => `--- a/${f}\n+++ b/${f}`)
        .join("\n"),
      linesAdded: added,
      linesRemoved: removed,
    };
  }
  /**
   * A three-way merge by whole files: a file changed on one side takes that side; changed on both
   * sides alike, either; changed differently on both (or changed and deleted), a conflict. Git
   * merges lines too (see GitRepoHost.merge); the fake does not need to.
   */
  async merge(base: string, ours: string, theirs: string, message: string, options: CommitOptions): Promise<MergeResult> {
    const [b, o, t] = [this.tree(base), this.tree(ours), this.tree(theirs)];
    const merged: Record<string, string> = {};
    const conflicts: string[] = [];
    for (const p of [...new Set([...Object.keys(b), ...Object.keys(o), ...Object.keys(t)])].sort()) {
      const result = o[p] === t[p] || t[p] === b[p] ? o[p] : o[p] === b[p] ? t[p] : null;
      if (result === null) conflicts.push(p);
      else if (result !== undefined) merged[p] = result;
    }
    if (conflicts.length) return { ok: false, conflicts };
    const changed = Object.fromEntries(Object.entries(merged).filter(([p, c]) => o[p] !== c));
    const removed = Object.keys(o).filter((p) => !(p in merged));
    const id = createHash("sha1")
      .update(`merge${ours}${message}${options.at}${JSON.stringify(merged)}`)
      .digest("hex")
      .slice(0, 12);
    this.commits.set(id, merged);
    let added = 0;
    let gone = 0;
    for (const [p, content] of Object.entries(changed))
      for (const part of diffLines(o[p] ?? "", content)) {
        if (part.added) added += part.count ?? 0;
        if (part.removed) gone += part.count ?? 0;
      }
    for (const p of removed) gone += (o[p] ?? "").split("\n").length;
    return {
      ok: true,
      commit: id,
      diff: [...Object.keys(changed), ...removed].map((f) => `--- a/${f}\n+++ b/${f}`).join("\n"),
      linesAdded: added,
      linesRemoved: gone,
    };
  }
  async setBranch(name: string, commit: string, expected: string | null) {
    const actual = this.branches.get(name) ?? null;
    if (actual === commit) return;
    if (actual !== expected) throw new BranchConflict(`branch ${name} is at ${actual}, not ${expected}`, name, expected, actual);
    this.moves.push({ name, commit, expected });
    this.branches.set(name, commit);
  }
  async deleteBranch(name: string, expected: string) {
    const actual = this.branches.get(name);
    if (actual === undefined) return;
    if (actual !== expected) throw new BranchConflict(`branch ${name} is at ${actual}, not ${expected}`, name, expected, actual);
    this.moves.push({ name, commit: null, expected });
    this.branches.delete(name);
  }
  tree(commit: string): Record<string, string> {
    const t = this.commits.get(commit);
    if (!t) throw new Error(`no commit ${commit}`);
    return t;
  }
}

/** Runs are instant (or take `delayMs`): the metric is computed from the commit's files and the seed. */
export class FakeExecutor implements Executor, RunRunner {
  calls: RunSpec[] = [];
  readonly leaseSeconds = undefined;
  constructor(
    readonly repo: FakeRepoHost,
    readonly metric: (files: Record<string, string>, seed: number) => number | RunResult,
    readonly delayMs = 0,
  ) {}
  async run(spec: RunSpec, signal: AbortSignal): Promise<RunResult> {
    this.calls.push(spec);
    if (this.delayMs) await sleep(this.delayMs, signal);
    if (signal.aborted) return { status: "cancelled", metric: null, seconds: 0, exitCode: null, reason: "cancelled", tail: "" };
    const m = this.metric(this.repo.tree(spec.commit), spec.seed);
    if (typeof m !== "number") return m;
    return { status: "ok", metric: m, seconds: 0.01, exitCode: 0, reason: "", tail: `val: ${m}` };
  }
  async start(runs: RunSpec[], reporting: RunReporting): Promise<void> {
    for (const spec of runs)
      this.run(spec, reporting.signal).then(
        (r) => reporting.report(spec, r),
        (err: unknown) => reporting.error(spec, err),
      );
  }
}

/** Returns the proposals it is given, in order (then repeats the last). */
export class ScriptedProposer implements Proposer {
  contexts: ProposalContext[] = [];
  constructor(readonly script: ((ctx: ProposalContext) => Proposal)[]) {}
  async propose(ctx: ProposalContext): Promise<Proposal> {
    this.contexts.push(ctx);
    const f = this.script[Math.min(this.contexts.length - 1, this.script.length - 1)];
    if (!f) throw new Error("empty script");
    return f(ctx);
  }
}

export class MemoryLedgerStore implements LedgerStore {
  events: LedgerEvent[] = [];
  problems: LedgerProblem[] = [];
  traces = new Map<number, string>();
  async read() {
    return { events: [...this.events], problems: [...this.problems] };
  }
  async append(events: NewEventInput[], expectedSeq: number) {
    const last = this.events.at(-1)?.seq ?? 0;
    if (last !== expectedSeq) throw new Error(`CAS mismatch: ${last} != ${expectedSeq}`);
    const stamped = stamp(events, last, new Date("2026-01-01T00:00:00Z"));
    this.events.push(...stamped);
    return stamped;
  }
  async writeTrace(n: number, md: string) {
    this.traces.set(n, md);
    return `traces/${n}.md`;
  }
}

export const fixedClock = (iso = "2026-01-01T00:00:00Z") => ({ now: () => new Date(iso) });
