/**
 * The App end to end, as a user sees it: `npm start` against a loopback GitHub (test/github/fake)
 * whose workflow dispatches run the real bundled Action; a labelled issue becomes a campaign that
 * ends with a pull request, and the ledger folds to what the status comment shows.
 */
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ensureBuilt } from "../cli/helpers.js";
import {
  campaignConfig,
  campaignState,
  expectTruthfulEnd,
  fakeWithExample,
  ledgerEvents,
  type RunningApp,
  startApp,
  startCampaign,
  untilStopped,
} from "./e2e-helpers.js";
import { type FakeGitHub, sign } from "./fake/index.js";

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
    // The campaign's issue is #1 (the mutate proposer's draws depend on it).
    const id = startCampaign(fake);
    // While it runs, a delivery whose signature is not the secret's is refused and starts nothing.
    const issue = fake.openIssue({ title: "Forged", body: "", by: "mona" });
    const body = JSON.stringify({
      action: "labeled",
      label: { name: "autoresearch" },
      issue: { number: issue.number },
      sender: { login: "mona", type: "User" },
    });
    const forged = await fetch(`http://127.0.0.1:${app.port}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": "forged-1",
        "x-hub-signature-256": sign("not-the-secret", body),
      },
      body,
    });
    expect(forged.status).toBe(400);
    try {
      const state = await untilStopped(fake, id, app);
      expect(state.stopped?.reason).toBe("max_experiments reached (8)");
      const s = await expectTruthfulEnd(fake, id, 8);
      // Every run finished and was read from its own workflow run: an experiment's second seed,
      // dispatched apart, is not failed by the first seed's run completing.
      const finished = ledgerEvents(fake, id).filter((e) => e.type === "run_finished");
      expect(finished.map((e) => e.status)).toEqual(finished.map(() => "ok"));
      expect(s.experiments.filter((e) => e && e.experiment > 0 && e.phase === "kept").length).toBeGreaterThan(0);
      // A campaign that kept something confirms its final number before it stops (issue 11).
      expect(s.confirmation).toMatchObject({ phase: "done", bestCommit: s.best.commit, seeds: [expect.any(Number), expect.any(Number)] });
      const pr = fake.pulls[0];
      expect(pr?.title).toMatch(/val_loss/);
      expect(pr?.body).toContain("## Experiments");
      expect(pr?.body).toContain("Reasoning trace");
      // The forged delivery's issue has no campaign, no comment.
      expect(campaignState(fake, issue.number)).toBeUndefined();
      expect(fake.state.comments.filter((c) => c.issue_number === issue.number)).toEqual([]);
    } catch (err) {
      // E2E_APP_LOG=<file> keeps the whole output and the ledger; otherwise the output's end is shown.
      if (process.env.E2E_APP_LOG) {
        writeFileSync(process.env.E2E_APP_LOG, running.output());
        writeFileSync(
          `${process.env.E2E_APP_LOG}.ledger.jsonl`,
          ledgerEvents(fake, id)
            .map((e) => JSON.stringify(e))
            .join("\n"),
        );
      } else console.log(`App output:\n${running.output().slice(-30000)}`);
      throw err;
    }
  }, 500_000);
});

describe("the App killed mid-campaign", () => {
  it("picks the campaign up from the ledger when started again: webhooks it missed are redelivered, nothing is recorded twice or lost", async () => {
    ensureBuilt();
    const fake = await fakeWithExample(campaignConfig({ budget: { max_experiments: 3 } }));
    gh = fake;
    let first: RunningApp | undefined = await startApp(fake);
    app = first;
    const id = startCampaign(fake);
    // Killed (SIGKILL, no goodbye) right after it dispatched experiment 1's first run: the run's
    // seeds are not in the ledger yet, and its webhooks will find nobody listening.
    await fake.waitFor(() => fake.state.runs.some((r) => / \d+-1$/.test(r.display_title)), 120_000, "experiment 1 to be dispatched");
    await first.kill();
    const firstOutput = first.output();
    first = undefined;
    await fake.waitFor(() => fake.state.runs.every((r) => r.status === "completed"), 120_000, "the runs in flight to complete");
    const missed = fake.state.deliveries.filter((d) => d.outcome === "error");
    expect(missed.length).toBeGreaterThan(0);
    app = await startApp(fake);
    // What the operator does after an outage: redeliver the failed deliveries (the App's own
    // reconciliation would find the results anyway; redelivered, they must not count twice).
    await fake.redeliverFailed();
    const running = app;
    try {
      await untilStopped(fake, id, app, 300_000);
      const s = await expectTruthfulEnd(fake, id, 3);
      expect(s.stopped?.reason).toBe("max_experiments reached (3)");
    } catch (err) {
      if (process.env.E2E_APP_LOG) {
        writeFileSync(process.env.E2E_APP_LOG, `${firstOutput}\n----- started again -----\n${running.output()}`);
        writeFileSync(
          `${process.env.E2E_APP_LOG}.ledger.jsonl`,
          ledgerEvents(fake, id)
            .map((e) => JSON.stringify(e))
            .join("\n"),
        );
      } else console.log(`App output after the restart:\n${running.output().slice(-20000)}`);
      throw err;
    }
  }, 400_000);
});
