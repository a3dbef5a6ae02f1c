/** `autoresearch run` and `report` end to end: a spawned CLI on a temporary git repository. */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, configYaml, ensureBuilt, git, lastLine, makeRepo, readLedger, startCli, tempRoot, trainScript, waitFor } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("run");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

describe("autoresearch run --json, then report", () => {
  let repo: string;
  let summary: Record<string, unknown>;

  it("completes a campaign, keeps an improvement on autoresearch/1/best and leaves the tree clean", async () => {
    repo = await makeRepo(root.dir, "complete", {
      "train.mjs": trainScript(),
      ".github/autoresearch.yml": configYaml({ maxExperiments: 3, baselineRepeats: 2 }),
    });
    const head = await git(repo, ["rev-parse", "HEAD"]);
    // An untracked cache does not stop a campaign; the warning names it.
    await mkdir(join(repo, "__pycache__"));
    await writeFile(join(repo, "__pycache__", "train.cpython-311.pyc"), "");
    const r = await cli(root.dir, repo, ["run", "--json"]);
    await rm(join(repo, "__pycache__"), { recursive: true });
    expect(r.code, r.all).toBe(0);
    expect(r.stderr).toContain("warning: untracked files will not reach the experiments, which start from the last commit: __pycache__/.");
    // Under --json, people's text goes to stderr and stdout ends with the summary.
    expect(r.stderr).toContain("Campaign 1: minimize loss");
    expect(r.stdout).not.toContain("proposed");
    summary = JSON.parse(lastLine(r.stdout)) as Record<string, unknown>;
    for (const key of ["campaign", "metric", "goal", "baseline", "best", "improvement_pct", "experiments", "kept", "failed", "report"])
      expect(summary).toHaveProperty(key);
    expect(summary).toMatchObject({
      campaign: "1",
      metric: "loss",
      goal: "minimize",
      experiments: 3,
      failed: 0,
      interrupted: false,
      branch: "autoresearch/1/best",
    });
    // Baseline: LR 0.5 gives 0.16 plus the seeds' offsets (1e-4 per seed), over every seed the
    // base commit ran on (its own two, then the confirmation's).
    expect(summary.baseline).toBeCloseTo(0.16, 2);
    // LR 0.5 is far from the optimum (0.1): the seeded mutate proposer finds a better value.
    expect(summary.kept as number).toBeGreaterThan(0);
    expect(summary.best as number).toBeLessThan(summary.baseline as number);
    expect(summary.improvement_pct as number).toBeGreaterThan(0);

    const report = await readFile(summary.report as string, "utf8");
    expect(report).toContain("xychart-beta");
    expect(report).toContain("# autoresearch: loss");

    const best = await git(repo, ["rev-parse", "autoresearch/1/best"]);
    expect(best).not.toBe(head);
    expect(best).toBe(summary.best_commit);
    expect(await git(repo, ["merge-base", "--is-ancestor", head, best]).then(() => true)).toBe(true);
    const kept = await git(repo, ["show", "autoresearch/1/best:train.mjs"]);
    expect(kept).toMatch(/^const LR = (?!0\.5;)[0-9.e-]+;$/m);
    // The user's branch and files are untouched; .autoresearch/ is ignored by its own .gitignore.
    expect(await git(repo, ["rev-parse", "HEAD"])).toBe(head);
    expect(await git(repo, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    expect(existsSync(join(repo, ".autoresearch", "campaigns", "1", "events.jsonl"))).toBe(true);
    // Every run's worktree was removed.
    expect((await git(repo, ["worktree", "list", "--porcelain"])).match(/^worktree /gm)).toHaveLength(1);

    const events = await readLedger(repo);
    expect(events[0]?.type).toBe("campaign_started");
    expect(events.at(-1)?.type).toBe("campaign_stopped");
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  }, 60_000);

  it("report prints the Markdown report, report --json the summary", async () => {
    expect(summary, "needs the campaign of the previous test").toBeDefined();
    const md = await cli(root.dir, repo, ["report"]);
    expect(md.code, md.all).toBe(0);
    // The campaign ended with a keep: its headline is the confirmed change.
    expect(md.stdout.split("\n")[0]).toMatch(
      /^# autoresearch: loss \S+ -> \S+ \(-\d+(\.\d+)?%, confidence interval -\d+% to -\d+%, confirmed on 5 paired seeds\)$/,
    );
    expect(md.stdout).toContain("xychart-beta");
    expect(md.stdout).toContain("## Experiments");

    const js = await cli(root.dir, repo, ["report", "--json"]);
    expect(js.code, js.all).toBe(0);
    const s = JSON.parse(lastLine(js.stdout)) as Record<string, unknown>;
    expect(s).toMatchObject({ campaign: "1", metric: "loss", kept: summary.kept, experiments: 3, best: summary.best, report: summary.report });

    const missing = await cli(root.dir, repo, ["report", "--campaign", "7"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no campaign 7 here (campaigns: 1)");
  });
});

describe("one run per repository", () => {
  it("refuses a second run while one is active, naming the other pid, and exits 130 on Ctrl-C", async () => {
    const repo = await makeRepo(root.dir, "locked", { "train.mjs": trainScript(400), ".github/autoresearch.yml": configYaml({ maxExperiments: 20 }) });
    const first = startCli(root.dir, repo, ["run"]);
    try {
      await waitFor(
        "the first run to start",
        async () => (await readFile(join(repo, ".autoresearch", "campaigns", "1", "events.jsonl"), "utf8").catch(() => "")).includes("run_started"),
        undefined,
        first,
      );
      const second = await cli(root.dir, repo, ["run"]);
      expect(second.code, second.all).toBe(2);
      expect(second.stderr).toMatch(/^autoresearch: another autoresearch run is active in this repository/);
      expect(second.stderr).toContain(`pid ${first.pid}`);
      expect(second.stderr).toContain("campaign 1");
      expect(second.stderr.trim().split("\n")).toHaveLength(1);
      // The refused run recorded nothing.
      expect(existsSync(join(repo, ".autoresearch", "campaigns", "2"))).toBe(false);
    } finally {
      first.child.kill("SIGINT");
    }
    const r = await first.done;
    expect(r.code, r.all).toBe(130);
    expect(existsSync(join(repo, ".autoresearch", "lock")), "the lock is released on exit").toBe(false);
  }, 60_000);
});
