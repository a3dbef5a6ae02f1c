/**
 * End to end, as a user runs it: a guard metric a candidate breaks, and the confirmation of a
 * campaign's final number (at its end, and with `autoresearch confirm`).
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, configYaml, type Event, ensureBuilt, git, lastLine, makeRepo, readLedger, tempRoot, trainScript } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("trust");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

/** The loss falls as LR nears 0.1; accuracy collapses below LR 0.4 (a faster-looking loss that breaks the model). */
const guardedTrain = [
  "const LR = 0.5;",
  "const seed = Number(process.env.AUTORESEARCH_SEED);",
  'console.log("loss: " + ((LR - 0.1) ** 2 + seed * 1e-4));',
  'console.log("acc: " + (LR >= 0.4 ? 0.9 : 0.6));',
  "",
].join("\n");

describe("guards", () => {
  it("discards a better candidate that breaks a guard, naming the guard, and never keeps one", async () => {
    const repo = await makeRepo(root.dir, "guarded", {
      "train.mjs": guardedTrain,
      ".github/autoresearch.yml": configYaml({ maxExperiments: 6, extra: 'guards:\n  - { name: acc, goal: maximize, tolerance: "1%" }\n' }),
    });
    const r = await cli(root.dir, repo, ["run", "--json"]);
    expect(r.code, r.all).toBe(0);
    const events = await readLedger(repo);
    const judged = events.filter((e) => e.type === "experiment_judged" && (e.experiment as number) > 0);
    const byGuard = judged.filter((e) => e.verdict === "discard" && String(e.reason).startsWith("guard acc worse by 0.3 (tolerance 0.009)"));
    expect(byGuard.length, judged.map((e) => `#${e.experiment} ${e.verdict}: ${e.reason}`).join("\n")).toBeGreaterThan(0);
    // Each of those was better on the metric: the guard, not the loss, discarded it.
    for (const e of byGuard) expect(e.improvement as number).toBeGreaterThan(0);
    // Every run of the campaign printed the guard, and the ledger has it.
    for (const e of events.filter((x) => x.type === "run_finished")) expect(e.guards).toHaveProperty("acc");
    // The best keeps its accuracy.
    const best = await git(repo, ["show", "autoresearch/1/best:train.mjs"]);
    expect(Number(/const LR = ([0-9.e-]+);/.exec(best)?.[1])).toBeGreaterThanOrEqual(0.4);
    const summary = JSON.parse(lastLine(r.stdout)) as { guards: { name: string; best: number }[] };
    expect(summary.guards).toEqual([{ name: "acc", goal: "maximize", baseline: 0.9, best: 0.9 }]);
    const report = await readFile(`${repo}/.autoresearch/campaigns/1/report.md`, "utf8");
    expect(report).toContain("- **Guards:** acc (maximize) 0.9 -> 0.9, tolerance 1%");
    expect(report).toMatch(/\| guard acc worse by 0\.3 \(tolerance 0\.009\)/);
  }, 90_000);
});

describe("confirmation", () => {
  /** Events of the confirmation's runs: (commit, seed) in ledger order. */
  const confirmationRuns = (events: Event[], started: Event) =>
    events.filter((e) => e.type === "run_started" && e.seq > started.seq && (started.seeds as number[]).includes(e.seed as number));

  it("ends a campaign that kept something with the base and the best on fresh paired seeds, then headlines the confirmed change", async () => {
    const repo = await makeRepo(root.dir, "confirmed", { "train.mjs": trainScript(), ".github/autoresearch.yml": configYaml({ maxExperiments: 3 }) });
    const r = await cli(root.dir, repo, ["run", "--json"]);
    expect(r.code, r.all).toBe(0);
    const events = await readLedger(repo);
    const started = events.find((e) => e.type === "confirmation_started") as Event;
    const judged = events.find((e) => e.type === "confirmation_judged") as Event;
    const stopped = events.find((e) => e.type === "campaign_stopped") as Event;
    expect(started && judged && stopped).toBeTruthy();
    expect(started.seq).toBeLessThan(judged.seq);
    expect(judged.seq).toBeLessThan(stopped.seq);
    const base = await git(repo, ["rev-parse", "main"]);
    const best = await git(repo, ["rev-parse", "autoresearch/1/best"]);
    expect(started).toMatchObject({ base_commit: base, best_commit: best });
    const seeds = started.seeds as number[];
    expect(seeds).toHaveLength(5);
    // Fresh: neither commit ran on these seeds before.
    const before = events.filter((e) => e.type === "run_started" && e.seq < started.seq && (e.commit === base || e.commit === best));
    expect(before.filter((e) => seeds.includes(e.seed as number))).toEqual([]);
    // Each seed once on each commit, the base's run handed out before the best's.
    const runs = confirmationRuns(events, started);
    expect(runs.map((e) => `${e.commit === base ? "base" : "best"}:${e.seed}`)).toEqual(seeds.flatMap((s) => [`base:${s}`, `best:${s}`]));
    expect(judged).toMatchObject({ confirmed: true, pairs: 5, best_commit: best });
    const summary = JSON.parse(lastLine(r.stdout)) as { confirmation: { confirmed: boolean; pairs: number } };
    expect(summary.confirmation).toMatchObject({ confirmed: true, status: "done", pairs: 5 });
    expect(r.stderr).toMatch(/confirmed: loss \S+ -> \S+ \(-\d+(\.\d)?%, confidence interval -\d+% to -\d+%, confirmed on 5 paired seeds\)/);
  }, 90_000);

  it("autoresearch confirm confirms a finished campaign on new fresh seeds; it refuses one that kept nothing", async () => {
    const repo = await makeRepo(root.dir, "later", {
      "train.mjs": trainScript(),
      ".github/autoresearch.yml": configYaml({ maxExperiments: 3 }).replace("accept:\n", "accept:\n  confirm_repeats: 0\n"),
    });
    const first = await cli(root.dir, repo, ["run"]);
    expect(first.code, first.all).toBe(0);
    expect((await readLedger(repo)).some((e) => e.type === "confirmation_started")).toBe(false);
    const unconfirmed = await readFile(`${repo}/.autoresearch/campaigns/1/report.md`, "utf8");
    expect(unconfirmed).toContain(
      "- **Not confirmed:** no confirmation ran (accept.confirm_repeats: 0; `autoresearch confirm`, or `/autoresearch confirm` in a comment on GitHub, runs one)",
    );

    const r = await cli(root.dir, repo, ["confirm", "--json"]);
    expect(r.code, r.all).toBe(0);
    const events = await readLedger(repo);
    expect(events.filter((e) => e.type === "confirmation_requested")).toHaveLength(1);
    const started = events.find((e) => e.type === "confirmation_started") as Event;
    // confirm_repeats 0 turns the automatic one off; asked for, it runs on 5 seeds.
    expect(started.seeds).toHaveLength(5);
    expect(confirmationRuns(events, started)).toHaveLength(10);
    expect(events.at(-1)).toMatchObject({ type: "confirmation_judged", confirmed: true, pairs: 5 });
    // The campaign stays finished: one stop, before the confirmation.
    expect(events.filter((e) => e.type === "campaign_stopped")).toHaveLength(1);
    const summary = JSON.parse(lastLine(r.stdout)) as Record<string, unknown>;
    expect(summary).toMatchObject({ confirmation: { confirmed: true, pairs: 5 } });
    const md = await cli(root.dir, repo, ["report"]);
    expect(md.stdout.split("\n")[0]).toMatch(/^# autoresearch: loss \S+ -> \S+ \(-\d+(\.\d+)?%, confidence interval .*confirmed on 5 paired seeds\)$/);

    // A campaign that kept nothing has nothing to confirm.
    const flat = await makeRepo(root.dir, "flat", {
      "train.mjs": 'const K = 1;\nconsole.log("loss: 1");\n',
      ".github/autoresearch.yml": configYaml({ maxExperiments: 1, editable: "train.mjs" }),
    });
    const flatRun = await cli(root.dir, flat, ["run"]);
    expect(flatRun.code, flatRun.all).toBe(0);
    const refused = await cli(root.dir, flat, ["confirm"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe("autoresearch: campaign 1 kept no change: there is nothing to confirm");
  }, 120_000);
});
