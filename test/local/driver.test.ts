import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { campaignBranch } from "../../src/core/names.js";
import { fold, tally } from "../../src/core/state.js";
import { ProposerError } from "../../src/errors.js";
import { drive } from "../../src/local/driver.js";
import { silentLogger } from "../../src/ports.js";
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
