/** The engine's rebase step: git's three-way merge onto the new best, through the RepoHost port (its fake here). */
import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/core/config.js";
import { type NewEventInput, stamp } from "../../src/core/events.js";
import { fold } from "../../src/core/state.js";
import { rebaseExperiment } from "../../src/engine/steps.js";
import { silentLogger } from "../../src/ports.js";
import { FakeExecutor, FakeRepoHost, MemoryLedgerStore, ScriptedProposer } from "../fakes/index.js";

const config: ConfigInput = { metric: { name: "loss", goal: "minimize" }, run: "true", editable: ["train.py", "other.py"] };
const T0 = new Date("2026-01-01T00:00:00Z");

/** Experiment 1 (the candidate) changed `candidate` on base; experiment 2 (kept since) changed `best`. */
async function stale(candidate: Record<string, string>, best: Record<string, string>) {
  const repo = new FakeRepoHost({ "train.py": "X = 1\n", "other.py": "Y = 1\n" });
  const c1 = (await repo.commit("base", candidate, "candidate", { at: T0.toISOString() })).commit;
  const c2 = (await repo.commit("base", best, "best", { at: T0.toISOString() })).commit;
  repo.branches.set("autoresearch/1/1", c1);
  const proposed = (experiment: number, commit: string): NewEventInput[] => [
    { type: "experiment_requested", experiment, parent: "base" },
    {
      type: "experiment_proposed",
      experiment,
      parent: "base",
      commit,
      branch: `autoresearch/1/${experiment}`,
      title: "t",
      hypothesis: "h",
      edits: [],
      diff: "",
      lines_added: 1,
      lines_removed: 1,
    },
  ];
  const events = stamp(
    [
      { type: "campaign_started", campaign: "1", config, base_commit: "base", goal: "g", source: "cli" },
      ...proposed(1, c1),
      ...proposed(2, c2),
      {
        type: "experiment_judged",
        experiment: 2,
        commit: c2,
        verdict: "keep",
        reason: "r",
        baseline_mean: 1,
        candidate_mean: 0.5,
        improvement: 0.5,
        p_value: 0,
      },
    ],
    0,
    T0,
  );
  const deps = { repo, ledger: new MemoryLedgerStore(), executor: new FakeExecutor(repo, () => 1), proposer: new ScriptedProposer([]), logger: silentLogger };
  return { repo, c1, c2, state: fold(events), deps };
}

describe("rebaseExperiment", () => {
  it("merges a change to another file onto the new best: a commit on it with both changes, measured again", async () => {
    const f = await stale({ "train.py": "X = 2\n" }, { "other.py": "Y = 2\n" });
    const evs = await rebaseExperiment(f.state, { kind: "rebase", experiment: 1, onto: f.c2 }, f.deps);
    expect(evs).toEqual([expect.objectContaining({ type: "experiment_rebased", experiment: 1, parent: f.c2 })]);
    const merged = (evs[0] as { commit: string }).commit;
    expect(f.repo.tree(merged)).toEqual({ "train.py": "X = 2\n", "other.py": "Y = 2\n" });
    // The experiment's branch follows it, compare-and-swap on the old commit.
    expect(f.repo.branches.get("autoresearch/1/1")).toBe(merged);
    expect(evs[0]).toMatchObject({ code_lines: { added: 1, removed: 1 } });
  });

  it("records a conflict, changing no branch, when both changed the same file", async () => {
    const f = await stale({ "train.py": "X = 2\n" }, { "train.py": "X = 3\n" });
    const evs = await rebaseExperiment(f.state, { kind: "rebase", experiment: 1, onto: f.c2 }, f.deps);
    expect(evs).toEqual([{ type: "rebase_conflicted", experiment: 1, onto: f.c2, conflicts: ["train.py"] }]);
    expect(f.repo.branches.get("autoresearch/1/1")).toBe(f.c1);
    expect(f.repo.moves).toEqual([]);
  });
});
