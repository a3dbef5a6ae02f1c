/**
 * The App end to end, as a user sees it: `npm start` against a loopback GitHub (test/github/fake)
 * whose workflow dispatches run the real bundled Action; a labelled issue becomes a campaign that
 * ends with a pull request, and the ledger folds to what the status comment shows.
 */
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it, onTestFailed } from "vitest";
import { renderStatusComment } from "../../src/core/publish.js";
import { publishLinks } from "../../src/github/campaign.js";
import { ensureBuilt } from "../cli/helpers.js";
import {
  branches,
  campaignState,
  fakeWithExample,
  ledgerEvents,
  type RunningApp,
  startApp,
  startCampaign,
  statusComment,
  untilStopped,
} from "./e2e-helpers.js";
import type { FakeGitHub } from "./fake/index.js";

let gh: FakeGitHub | undefined;
let app: RunningApp | undefined;
afterEach(async () => {
  await app?.kill();
  await gh?.close();
  app = undefined;
  gh = undefined;
});

describe("the App, end to end", () => {
  it("turns a labelled issue into a campaign that ends with a pull request, its ledger folding to what the status comment shows", async () => {
    ensureBuilt();
    const fake = await fakeWithExample();
    gh = fake;
    app = await startApp(fake);
    const running = app;
    const id = startCampaign(fake);
    onTestFailed(() => {
      // E2E_APP_LOG=<file> keeps the whole output (debug logs are long); otherwise its end is shown.
      if (process.env.E2E_APP_LOG) {
        writeFileSync(process.env.E2E_APP_LOG, running.output());
      } else console.log(`App output:\n${running.output().slice(-30000)}`);
    });
    const state = await untilStopped(gh, id, app);
    expect(state.stopped?.reason).toBe("max_experiments reached (6)");
    // (written here: the fake's repository is gone by the time a failure is reported)
    if (process.env.E2E_APP_LOG)
      writeFileSync(
        `${process.env.E2E_APP_LOG}.ledger.jsonl`,
        ledgerEvents(fake, id)
          .map((e) => JSON.stringify(e))
          .join("\n"),
      );
    const s = campaignState(gh, id);
    if (!s) throw new Error("no ledger");
    // The status comment is what the ledger folds to, to the letter (it is written after the ledger).
    const expected = renderStatusComment(s, publishLinks(`${gh.site.web}/${gh.site.owner}/${gh.site.repo}`, s));
    await fake.waitFor(() => statusComment(fake, id) === expected, 30_000, "the status comment to show the stopped campaign").catch(() => undefined);
    expect(statusComment(gh, id)).toBe(expected);
    await gh.idle();
    expect(s.experiments.filter((e) => e && e.experiment > 0)).toHaveLength(6);
    // Every run finished and was read from its own workflow run: an experiment's second seed,
    // dispatched apart, is not failed by the first seed's run completing.
    const finished = ledgerEvents(fake, id).filter((e) => e.type === "run_finished");
    expect(finished.map((e) => e.status)).toEqual(finished.map(() => "ok"));
    expect(new Set(finished.map((e) => `${e.experiment}:${e.seed}:${e.commit}`)).size).toBe(finished.length);
    expect(s.problems).toEqual([]);
    const kept = s.experiments.filter((e) => e && e.experiment > 0 && e.phase === "kept");
    expect(kept.length).toBeGreaterThan(0);
    // A campaign that kept something confirms its final number before it stops (issue 11).
    expect(s.confirmation).toMatchObject({ phase: "done", bestCommit: s.best.commit, seeds: [expect.any(Number), expect.any(Number)] });
    const pr = gh.pulls[0];
    expect(pr?.pull?.head).toBe(`autoresearch/${id}/best`);
    expect(pr?.body).toContain("## Experiments");
    expect(pr?.body).toContain("Reasoning trace");
    // No experiment branch is left: the campaign's best, and the ledger.
    expect(branches(gh, "autoresearch/")).toEqual([`autoresearch/${id}/best`, "autoresearch/ledger"]);
    expect(gh.problems).toEqual([]);
  }, 400_000);
});
