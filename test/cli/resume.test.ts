/** Interrupting `autoresearch run` (Ctrl-C, kill -9) and resuming it from the ledger, torn and corrupt ledgers included. */
import { existsSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cli,
  configYaml,
  countFinished,
  duplicateRuns,
  ensureBuilt,
  git,
  hasStack,
  lastLine,
  ledgerPath,
  makeRepo,
  readLedger,
  startCli,
  tempRoot,
  trainScript,
  waitFor,
} from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("resume");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

/** A repository whose runs take 300 ms each, so a campaign is still running when the test interrupts it. */
function slowRepo(name: string, maxExperiments: number): Promise<string> {
  return makeRepo(root.dir, name, { "train.mjs": trainScript(300), ".github/autoresearch.yml": configYaml({ maxExperiments, baselineRepeats: 2 }) });
}

describe("Ctrl-C, then run --resume", () => {
  it("stops with 130 and a --resume hint, refuses a corrupt middle line, then resumes to the end without running anything twice", async () => {
    const repo = await slowRepo("interrupt", 4);
    const running = startCli(root.dir, repo, ["run"]);
    await waitFor("three finished runs", async () => (await countFinished(repo)) >= 3, undefined, running);
    running.child.kill("SIGINT");
    const stopped = await running.done;
    expect(stopped.code, stopped.all).toBe(130);
    expect(stopped.stdout).toContain("Stopping: killing the runs in flight");
    expect(stopped.stdout).toContain("Interrupted. Continue with: autoresearch run --resume --campaign 1");
    expect(existsSync(join(repo, ".autoresearch", "lock"))).toBe(false);

    const before = await readLedger(repo);
    expect(
      before.some((e) => e.type === "campaign_stopped"),
      "an interrupt does not stop the campaign",
    ).toBe(false);
    const finishedBefore = before.filter((e) => e.type === "run_finished").length;
    expect(finishedBefore).toBeGreaterThanOrEqual(3);
    expect(duplicateRuns(before)).toEqual([]);

    // A corrupt line in the middle is not guessed at: the resume refuses, naming file and line, and writes nothing.
    const file = ledgerPath(repo);
    const good = await readFile(file, "utf8");
    const lines = good.split("\n");
    lines[2] = '{"v":1,"seq":3,"type":"run_star';
    const corrupt = lines.join("\n");
    await writeFile(file, corrupt);
    const refused = await cli(root.dir, repo, ["run", "--resume"]);
    expect(refused.code, refused.all).toBe(2);
    expect(refused.stderr).toContain(`${file} line 3 cannot be read`);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(hasStack(refused.stderr)).toBe(false);
    expect(await readFile(file, "utf8")).toBe(corrupt);
    await writeFile(file, good);

    const resumed = await cli(root.dir, repo, ["run", "--resume", "--json"]);
    expect(resumed.code, resumed.all).toBe(0);
    expect(resumed.stderr).toContain(`Resuming campaign 1 (${finishedBefore} runs already recorded)`);
    const summary = JSON.parse(lastLine(resumed.stdout)) as Record<string, unknown>;
    expect(summary).toMatchObject({ campaign: "1", experiments: 4, interrupted: false, stopped: "max_experiments reached (4)" });

    const after = await readLedger(repo);
    // Nothing recorded before the interrupt was rewritten.
    expect(await readFile(file, "utf8")).toMatch(new RegExp(`^${good.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    expect(after.filter((e) => e.type === "campaign_resumed")).toHaveLength(1);
    expect(after.at(-1)?.type).toBe("campaign_stopped");
    expect(duplicateRuns(after)).toEqual([]);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i + 1));

    // A finished campaign cannot be resumed again as it is; the message says how to extend it.
    const again = await cli(root.dir, repo, ["run", "--resume"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("campaign 1 has already finished (max_experiments reached (4)); extend it with a larger budget");
  }, 90_000);
});

describe("run --resume with flags", () => {
  it("extends a stopped campaign with --max-experiments (recorded as a budget change), refuses --goal and --config, and refuses a budget that changes nothing", async () => {
    const repo = await makeRepo(root.dir, "extend", { "train.mjs": trainScript(), ".github/autoresearch.yml": configYaml({ maxExperiments: 2 }) });
    const first = await cli(root.dir, repo, ["run", "--json"]);
    expect(first.code, first.all).toBe(0);
    expect(JSON.parse(lastLine(first.stdout))).toMatchObject({ experiments: 2, stopped: "max_experiments reached (2)" });
    const before = await readFile(ledgerPath(repo), "utf8");

    for (const [flags, message] of [
      [["--goal", "something else"], "--goal cannot change the goal of a campaign being resumed"],
      [["--config", ".github/autoresearch.yml"], "--config cannot change the configuration of a campaign being resumed"],
      [["--max-experiments", "2"], "campaign 1 cannot go on with that budget: max_experiments reached (2)"],
    ] as const) {
      const refused = await cli(root.dir, repo, ["run", "--resume", ...flags]);
      expect(refused.code, refused.all).toBe(2);
      expect(refused.stderr).toContain(message);
      expect(hasStack(refused.stderr)).toBe(false);
    }
    // A refusal writes nothing.
    expect(await readFile(ledgerPath(repo), "utf8")).toBe(before);

    const extended = await cli(root.dir, repo, ["run", "--resume", "--max-experiments", "4", "--json"]);
    expect(extended.code, extended.all).toBe(0);
    expect(extended.stderr).toContain("budget changed: max_experiments: 4");
    expect(JSON.parse(lastLine(extended.stdout))).toMatchObject({ campaign: "1", experiments: 4, stopped: "max_experiments reached (4)" });
    const events = await readLedger(repo);
    expect(events.filter((e) => e.type === "budget_changed")).toEqual([expect.objectContaining({ budget: { max_experiments: 4 } })]);
    expect(duplicateRuns(events)).toEqual([]);
  }, 90_000);
});

describe("campaign ids and branches", () => {
  it("never reuses an id whose branches exist: not after .autoresearch/ is removed, not from a linked worktree", async () => {
    const repo = await makeRepo(root.dir, "ids", { "train.mjs": trainScript(), ".github/autoresearch.yml": configYaml({ maxExperiments: 1 }) });
    expect((await cli(root.dir, repo, ["run"])).code).toBe(0);
    const best1 = await git(repo, ["rev-parse", "autoresearch/1/best"]);
    await rm(join(repo, ".autoresearch"), { recursive: true, force: true });
    const second = await cli(root.dir, repo, ["run", "--json"]);
    expect(second.code, second.all).toBe(0);
    expect(JSON.parse(lastLine(second.stdout))).toMatchObject({ campaign: "2" });
    expect(await git(repo, ["rev-parse", "autoresearch/1/best"])).toBe(best1);

    // A linked worktree shares the refs but has its own .autoresearch/.
    const linked = join(root.dir, "ids-linked");
    await git(repo, ["worktree", "add", "-q", "-b", "linked", linked, "main"]);
    const third = await cli(root.dir, linked, ["run", "--json"]);
    expect(third.code, third.all).toBe(0);
    expect(JSON.parse(lastLine(third.stdout))).toMatchObject({ campaign: "3" });
    expect(await git(repo, ["rev-parse", "autoresearch/1/best"])).toBe(best1);
    expect(await git(repo, ["for-each-ref", "--format=%(refname:short)", "refs/heads/autoresearch/"])).toBe(
      ["autoresearch/1/best", "autoresearch/2/best", "autoresearch/3/best"].join("\n"),
    );
  }, 90_000);
});

describe("kill -9, then run --resume", () => {
  it("takes over the stale lock, repairs a torn last line with a warning, and completes", async () => {
    const repo = await slowRepo("killed", 3);
    const running = startCli(root.dir, repo, ["run"]);
    await waitFor("two finished runs", async () => (await countFinished(repo)) >= 2, undefined, running);
    running.child.kill("SIGKILL");
    const killed = await running.done;
    expect(killed.signal).toBe("SIGKILL");
    const lock = await readFile(join(repo, ".autoresearch", "lock"), "utf8");
    expect(JSON.parse(lock)).toMatchObject({ pid: running.pid });

    // What a kill in the middle of an append would leave: a last line without its newline.
    const file = ledgerPath(repo);
    const complete = await readFile(file, "utf8");
    const torn = '{"v":1,"seq":999,"type":"run_fini';
    await writeFile(file, complete + torn);

    const resumed = await cli(root.dir, repo, ["run", "--resume", "--json"]);
    expect(resumed.code, resumed.all).toBe(0);
    expect(resumed.stderr).toContain(`took over the lock of a process that is gone (pid ${running.pid})`);
    expect(resumed.stderr).toMatch(/warning: the ledger's last line was torn by a kill; it was moved aside/);
    const summary = JSON.parse(lastLine(resumed.stdout)) as Record<string, unknown>;
    expect(summary).toMatchObject({ campaign: "1", experiments: 3, interrupted: false });

    const backups = (await readdir(dirname(file))).filter((f) => f.startsWith("events.jsonl.torn-"));
    expect(backups).toHaveLength(1);
    expect(await readFile(join(dirname(file), backups[0] ?? ""), "utf8")).toBe(torn);
    const events = await readLedger(repo);
    expect((await readFile(file, "utf8")).startsWith(complete)).toBe(true);
    expect(events.some((e) => e.seq === 999)).toBe(false);
    expect(events.at(-1)?.type).toBe("campaign_stopped");
    expect(duplicateRuns(events)).toEqual([]);
    expect(existsSync(join(repo, ".autoresearch", "lock"))).toBe(false);
  }, 90_000);
});
