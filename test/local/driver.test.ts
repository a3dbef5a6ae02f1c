import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { campaignBranch } from "../../src/core/names.js";
import { fold, tally } from "../../src/core/state.js";
import { BranchConflict, ProposalInterrupted, ProposerError } from "../../src/errors.js";
import { drive } from "../../src/local/driver.js";
import { type Proposal, type ProposalContext, silentLogger } from "../../src/ports.js";
import { FakeExecutor, FakeRepoHost, fixedClock, MemoryLedgerStore, ScriptedProposer } from "../fakes/index.js";

const cfg = (over: Partial<ConfigInput["budget"]> = {}): ConfigInput => ({
  metric: { name: "loss", goal: "minimize" },
  run: "true",
  editable: ["train.py"],
  budget: { parallel: 2, max_experiments: 6, patience: 10, ...over },
});

/** loss = (LR - 0.3)^2 plus a little seed noise. */
const lossOf = (files: Record<string, string>, seed: number) => {
  const lr = Number(/LR = ([0-9.]+)/.exec(files["train.py"] ?? "")?.[1]);
  return (lr - 0.3) ** 2 + seed * 1e-4;
};
const setLr = (lr: number) => () => ({
  title: `LR -> ${lr}`,
  hypothesis: "closer to the optimum",
  trace: "because",
  edits: [{ kind: "write" as const, path: "train.py", content: `LR = ${lr}\n` }],
});

async function setup(over: Partial<ConfigInput["budget"]> = {}, script = [setLr(0.9), setLr(0.5), setLr(0.35), setLr(2), setLr(0.31), setLr(3)]) {
  const repo = new FakeRepoHost({ "train.py": "LR = 1.0\n", "eval.py": "x" });
  // Every campaign start creates its branch at the base commit (the CLI and the App do).
  repo.branches.set(campaignBranch("1"), "base");
  const ledger = new MemoryLedgerStore();
  await ledger.append([{ type: "campaign_started", campaign: "1", config: cfg(over), base_commit: "base", goal: "lower loss", source: "cli" }], 0);
  const deps = { repo, ledger, executor: new FakeExecutor(repo, lossOf), proposer: new ScriptedProposer(script), logger: silentLogger };
  return { repo, ledger, deps };
}

describe("drive", () => {
  it("runs a campaign to its budget, keeping real improvements and moving the campaign branch", async () => {
    const { repo, ledger, deps } = await setup();
    const { state, interrupted } = await drive({
      events: (await ledger.read()).events,
      deps,
      clock: fixedClock(),
      signal: new AbortController().signal,
      tickMs: 5,
    });
    expect(interrupted).toBe(false);
    expect(state.stopped?.reason).toBe("max_experiments reached (6)");
    const t = tally(state);
    expect(t.experiments).toBe(6);
    expect(t.kept).toBeGreaterThanOrEqual(3);
    expect(t.inFlight).toBe(0);
    // The best commit has the best LR proposed and the campaign branch points at it.
    expect(repo.tree(state.best.commit)["train.py"]).toMatch(/LR = 0\.3[15]/);
    expect(repo.branches.get(campaignBranch("1"))).toBe(state.best.commit);
    // Experiment branches are deleted once judged.
    expect([...repo.branches.keys()]).toEqual([campaignBranch("1")]);
    // The ledger alone rebuilds the same state.
    expect(fold(ledger.events)).toEqual(state);
    // Never more than `parallel` runs at once and traces stored for each experiment.
    expect(ledger.traces.size).toBe(6);
  });

  it("an interrupted campaign resumes without re-running finished runs", async () => {
    const { ledger, deps } = await setup();
    const ac = new AbortController();
    let finished = 0;
    const first = await drive({
      events: (await ledger.read()).events,
      deps,
      clock: fixedClock(),
      signal: ac.signal,
      tickMs: 5,
      onUpdate: (_s, _r, ev) => {
        if (ev?.type === "run_finished" && ++finished === 5) ac.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    const before = deps.executor.calls.length;
    // Runs the interrupt killed are recorded as cancelled (and run again); finished ones never are.
    const done = new Set(ledger.events.flatMap((e) => (e.type === "run_finished" && e.status !== "cancelled" ? [`${e.commit}:${e.seed}`] : [])));
    expect(ledger.events.at(-1)?.type === "campaign_paused" || ledger.events.some((e) => e.type === "campaign_paused")).toBe(true);
    await ledger.append([{ type: "campaign_resumed", reason: "resumed" }], ledger.events.at(-1)?.seq ?? 0);
    const second = await drive({ events: ledger.events, deps, clock: fixedClock(), signal: new AbortController().signal, tickMs: 5 });
    expect(second.state.stopped?.reason).toBe("max_experiments reached (6)");
    const rerun = deps.executor.calls.slice(before).filter((c) => done.has(`${c.commit}:${c.seed}`));
    expect(rerun).toEqual([]);
    expect(tally(second.state).experiments).toBe(6);
  });

  it("stops the campaign with the proposer's message when it cannot propose at all", async () => {
    const { deps, ledger } = await setup({}, [
      () => {
        throw new ProposerError("mutate found no top-level numeric constants in train.py");
      },
    ]);
    const { state } = await drive({ events: (await ledger.read()).events, deps, clock: fixedClock(), signal: new AbortController().signal, tickMs: 5 });
    expect(state.stopped?.reason).toBe("proposer: mutate found no top-level numeric constants in train.py");
  });

  it("records a proposal that never applies as failed and goes on", async () => {
    const bad = () => ({ title: "bad", hypothesis: "h", trace: "t", edits: [{ kind: "write" as const, path: "eval.py", content: "hacked" }] });
    const { deps, ledger } = await setup({ max_experiments: 2 }, [bad, bad, bad, setLr(0.3)]);
    const { state } = await drive({ events: (await ledger.read()).events, deps, clock: fixedClock(), signal: new AbortController().signal, tickMs: 5 });
    const failed = state.experiments.filter((e) => e?.phase === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.verdict?.reason).toMatch(/not in the editable surface/);
    // The proposer saw the error of its previous attempt.
    expect(deps.proposer.contexts[1]?.feedback.join()).toMatch(/eval.py/);
    expect(tally(state).kept).toBe(1);
  });
});

describe("drive: what the ledger and the branches say", () => {
  const run = (deps: Awaited<ReturnType<typeof setup>>["deps"], ledger: MemoryLedgerStore, signal = new AbortController().signal) =>
    ledger.read().then(({ events }) => drive({ events, deps, clock: fixedClock(), signal, tickMs: 5 }));

  it("moves the campaign branch only from where the ledger says it is (compare-and-swap)", async () => {
    const { repo, ledger, deps } = await setup();
    const { state } = await run(deps, ledger);
    const bestMoves = repo.moves.filter((m) => m.name === campaignBranch("1"));
    const kept = state.experiments.filter((e) => e && e.experiment > 0 && e.phase === "kept");
    expect(bestMoves.map((m) => m.commit)).toEqual(kept.map((e) => e?.commit));
    // Each move expected the previous best: the base commit first, then each kept commit.
    expect(bestMoves.map((m) => m.expected)).toEqual(["base", ...kept.slice(0, -1).map((e) => e?.commit)]);
  });

  it("stops with an error, not by overwriting, when another process moved the campaign branch", async () => {
    const { repo, ledger, deps } = await setup();
    repo.branches.set(campaignBranch("1"), "someone-elses-commit");
    await expect(run(deps, ledger)).rejects.toBeInstanceOf(BranchConflict);
    expect(repo.branches.get(campaignBranch("1"))).toBe("someone-elses-commit");
  });

  it("an edit that writes a file where a folder is goes back to the proposer, and the campaign goes on", async () => {
    const repo = new FakeRepoHost({ "train.py": "LR = 1.0\n", "models/a.py": "x = 1\n", "eval.py": "x" });
    repo.branches.set(campaignBranch("1"), "base");
    const ledger = new MemoryLedgerStore();
    const config = { ...cfg({ max_experiments: 1 }), editable: ["train.py", "models", "models/**"] };
    await ledger.append([{ type: "campaign_started", campaign: "1", config, base_commit: "base", goal: "g", source: "cli" }], 0);
    const clash = () => ({ title: "flatten", hypothesis: "h", trace: "t", edits: [{ kind: "write" as const, path: "models", content: "x\n" }] });
    const proposer = new ScriptedProposer([clash, setLr(0.3)]);
    const deps = { repo, ledger, executor: new FakeExecutor(repo, lossOf), proposer, logger: silentLogger };
    const { state } = await run(deps, ledger);
    expect(state.stopped?.reason).toBe("max_experiments reached (1)");
    expect(proposer.contexts[1]?.feedback.join()).toContain("cannot write models: models/a.py is in the way");
    expect(state.experiments[1]?.phase).toBe("kept");
  });

  it("Ctrl-C records the pause, the cancelled runs and what an interrupted proposal spent", async () => {
    const { ledger, deps, repo } = await setup();
    const ac = new AbortController();
    const usage = { input_tokens: 10, output_tokens: 5, cache_read_tokens: 0, cache_write_tokens: 0, cost_usd: 0.25 };
    // The proposer is mid-call when the user presses Ctrl-C.
    deps.proposer = {
      contexts: [],
      script: [],
      propose: (_ctx: ProposalContext, signal?: AbortSignal) =>
        new Promise<Proposal>((_resolve, reject) => {
          signal?.addEventListener("abort", () => reject(new ProposalInterrupted("interrupted", { usage })));
          setTimeout(() => ac.abort(), 20);
        }),
    } as unknown as ScriptedProposer;
    deps.executor = new FakeExecutor(repo, lossOf, 5_000);
    const { interrupted } = await run(deps, ledger, ac.signal);
    expect(interrupted).toBe(true);
    const types = ledger.events.map((e) => e.type);
    expect(types).toContain("campaign_paused");
    const state = fold(ledger.events);
    expect(state.paused?.reason).toBe("interrupted");
    expect(ledger.events.filter((e) => e.type === "proposal_interrupted")).not.toHaveLength(0);
    expect(state.costUsd).toBeCloseTo(0.25 * ledger.events.filter((e) => e.type === "proposal_interrupted").length, 10);
    // The baseline runs in flight were killed and say so; none is left "running".
    expect(state.experiments[0]?.runs.map((r) => r.status)).toEqual(expect.arrayContaining(["cancelled"]));
    expect(state.experiments.flatMap((e) => e?.runs ?? []).filter((r) => r.status === "running")).toEqual([]);
  });

  it("prefer_simpler counts lines of code: deleting a comment is not simpler, removing a line of code that changes nothing is", async () => {
    // loss 0.49: the default simpler_margin (0.5%) is 0.00245, far above the seed noise (1e-4).
    const train = "# the rate\nLR = 1.0\nUNUSED = 1\n";
    const repo = new FakeRepoHost({ "train.py": train, "eval.py": "x" });
    repo.branches.set(campaignBranch("1"), "base");
    const ledger = new MemoryLedgerStore();
    await ledger.append(
      [{ type: "campaign_started", campaign: "1", config: cfg({ max_experiments: 2, parallel: 1 }), base_commit: "base", goal: "g", source: "cli" }],
      0,
    );
    const write = (content: string, title: string) => () => ({
      title,
      hypothesis: "h",
      trace: "t",
      edits: [{ kind: "write" as const, path: "train.py", content }],
    });
    const proposer = new ScriptedProposer([write("LR = 1.0\nUNUSED = 1\n", "drop the comment"), write("# the rate\nLR = 1.0\n", "drop UNUSED")]);
    const deps = { repo, ledger, executor: new FakeExecutor(repo, lossOf), proposer, logger: silentLogger };
    const { state } = await run(deps, ledger);
    const [, comment, code] = state.experiments;
    expect(comment?.codeLines).toEqual({ added: 0, removed: 0 });
    expect(comment?.linesRemoved).toBe(1);
    expect(comment?.phase).toBe("discarded");
    expect(code?.codeLines).toEqual({ added: 0, removed: 1 });
    expect(code?.phase).toBe("kept");
    expect(code?.verdict?.reason).toMatch(/^simpler \(removes 1 lines of code\) and no worse than/);
  });
});

describe("drive: after a kill -9", () => {
  it("replaces the branch an abandoned proposal left behind, and nothing else", async () => {
    const { repo, ledger, deps } = await setup({ max_experiments: 2 });
    // A process made experiment 1's commit and branch, then died before recording the proposal.
    await ledger.append(
      [
        { type: "experiment_requested", experiment: 1, parent: "base" },
        { type: "campaign_resumed", reason: "resumed" },
      ],
      1,
    );
    const orphan = (await repo.commit("base", { "train.py": "LR = 0.7\n" }, "an attempt that died", { at: "2026-01-01T00:00:00Z" })).commit;
    repo.branches.set("autoresearch/1/1", orphan);
    const { state } = await drive({ events: (await ledger.read()).events, deps, clock: fixedClock(), signal: new AbortController().signal, tickMs: 5 });
    expect(state.stopped?.reason).toBe("max_experiments reached (2)");
    expect(state.experiments[1]?.commit).not.toBe(orphan);
    // A branch the ledger recorded is never replaced that way: moving it from elsewhere is a conflict.
    repo.branches.set("autoresearch/1/9", "somewhere");
    await expect(repo.setBranch("autoresearch/1/9", state.best.commit, null)).rejects.toBeInstanceOf(BranchConflict);
  });
});
