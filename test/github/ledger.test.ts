/**
 * The ledger on the ledger branch against the fake GitHub (a real git repository behind its API):
 * one request per append, a compare-and-swap that refuses a second writer of the same campaign
 * and lets another campaign's writer through, shards that roll over, traces, and a read that
 * fetches only what it has not seen.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEventInput } from "../../src/core/events.js";
import { LedgerError } from "../../src/errors.js";
import type { GitHubClient } from "../../src/github/client.js";
import { BranchLedgerStore, EVENTS_PER_SHARD, gitBlobSha, LedgerBranch, shardPath } from "../../src/github/ledger.js";
import { type FakeGitHub, startFakeGitHub } from "./fake/index.js";
import { installationOctokit } from "./fake/testing.js";

const where = { owner: "octo-org", repo: "tiny" };
let gh: FakeGitHub;
let client: GitHubClient;

beforeAll(async () => {
  gh = await startFakeGitHub({ seedFiles: { "README.md": "hi\n" } });
  client = (await installationOctokit(gh)) as unknown as GitHubClient;
});
afterAll(async () => {
  await gh?.close();
});

const started = (campaign: string): NewEventInput => ({
  type: "campaign_started",
  campaign,
  config: { metric: { name: "loss", goal: "minimize" }, run: "true", editable: ["a"] },
  base_commit: "c0",
  goal: "g",
  source: "label",
});
const run = (seed: number): NewEventInput => ({ type: "run_started", experiment: 0, commit: "c0", seed });
const store = (campaign: string) => new BranchLedgerStore(new LedgerBranch(client, where), campaign);
const writes = () => gh.calls.filter((c) => c.method !== "GET").length;

describe("the ledger branch", () => {
  it("appends in one request, reads back what it wrote, and names the file git would", async () => {
    const a = store("10");
    await a.append([started("10")], 0);
    const before = writes();
    await a.append([run(1), run(2)], 1);
    expect(writes() - before).toBe(1);
    expect(gh.calls.at(-1)).toMatchObject({ method: "PUT", template: "/repos/{owner}/{repo}/contents/{path}" });
    const { events, problems } = await store("10").read();
    expect(problems).toEqual([]);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, "campaign_started"],
      [2, "run_started"],
      [3, "run_started"],
    ]);
    const text = execFileSync("git", ["--git-dir", gh.repoDir, "show", `refs/heads/autoresearch/ledger:${shardPath("10", 0)}`], { encoding: "utf8" });
    const blob = execFileSync("git", ["--git-dir", gh.repoDir, "rev-parse", `refs/heads/autoresearch/ledger:${shardPath("10", 0)}`], {
      encoding: "utf8",
    }).trim();
    expect(gitBlobSha(text)).toBe(blob);
  });

  it("refuses a second writer of the same campaign (nothing written) and lets another campaign's through", async () => {
    const mine = store("11");
    await mine.append([started("11")], 0);
    const theirs = store("11");
    await theirs.read();
    await theirs.append([run(1)], 1);
    // Another campaign appends meanwhile: no conflict with it.
    const other = store("12");
    await other.append([started("12")], 0);
    await expect(mine.append([run(2)], 1)).rejects.toBeInstanceOf(LedgerError);
    const { events } = await store("11").read();
    expect(events.map((e) => (e.type === "run_started" ? e.seed : e.type))).toEqual(["campaign_started", 1]);
    // Read again, the first writer goes on from where the ledger is.
    await mine.read();
    await mine.append([run(2)], 2);
    expect((await store("11").read()).events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await store("12").read()).events.map((e) => e.type)).toEqual(["campaign_started"]);
  });

  it("starts a new shard when the last is full, and reads them in order", async () => {
    const a = store("13");
    await a.append([started("13")], 0);
    let seq = 1;
    for (let i = 0; i < 12; i++) {
      const batch = Array.from({ length: 10 }, (_, j) => run(i * 10 + j));
      await a.append(batch, seq);
      seq += batch.length;
    }
    const shards = execFileSync("git", ["--git-dir", gh.repoDir, "ls-tree", "--name-only", "refs/heads/autoresearch/ledger", "campaigns/13/events/"], {
      encoding: "utf8",
    })
      .trim()
      .split("\n");
    expect(shards).toEqual([shardPath("13", 0), shardPath("13", 1)]);
    const first = execFileSync("git", ["--git-dir", gh.repoDir, "show", `refs/heads/autoresearch/ledger:${shardPath("13", 0)}`], { encoding: "utf8" });
    expect(first.trim().split("\n").length).toBeGreaterThanOrEqual(EVENTS_PER_SHARD);
    const { events } = await store("13").read();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 121 }, (_, i) => i + 1));
  });

  it("writes a trace before the event that names it; one a crashed attempt left is replaced", async () => {
    const a = store("14");
    await a.append([started("14")], 0);
    await a.writeTrace(1, "# first attempt\n");
    await a.append([run(1)], 1);
    expect(await store("14").trace(1)).toBe("# first attempt\n");
    const again = store("14");
    await again.read();
    await again.writeTrace(1, "# second attempt\n");
    await again.append([run(2)], 2);
    expect(await store("14").trace(1)).toBe("# second attempt\n");
  });
});
