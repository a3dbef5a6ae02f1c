/**
 * The App end to end when GitHub misbehaves as it does in production: webhooks delivered twice,
 * at once and out of order; webhooks that never come; jobs that crash or upload garbage. The App
 * runs in this process (see startAppInProcess) against the loopback fake; each campaign must end
 * with a ledger that records only what happened (expectTruthfulEnd).
 */
import { afterEach, describe, expect, it } from "vitest";
import { artifactName } from "../../src/github/results.js";
import { ensureBuilt } from "../cli/helpers.js";
import {
  campaignConfig,
  campaignState,
  expectTruthfulEnd,
  fakeWithExample,
  type InProcessApp,
  ledgerEvents,
  pushCommit,
  startAppInProcess,
  startCampaign,
} from "./e2e-helpers.js";
import type { FakeGitHub } from "./fake/index.js";

let gh: FakeGitHub | undefined;
let app: InProcessApp | undefined;
afterEach(async () => {
  await app?.close();
  await gh?.close();
  app = undefined;
  gh = undefined;
});

/** Three experiments: enough for keeps, rebases and two dispatches per experiment. */
const config = () => campaignConfig({ budget: { max_experiments: 3 } });

describe("the App when webhooks misbehave", () => {
  it("every webhook delivered twice, four at once, and a burst held and released in reverse: each result recorded once", async () => {
    ensureBuilt();
    const fake = await fakeWithExample(config());
    gh = fake;
    fake.control.webhooks.duplicate = { enabled: true, delayMs: 5 };
    fake.control.webhooks.concurrency = 4;
    app = await startAppInProcess(fake);
    const id = startCampaign(fake);
    // Once the baseline runs, hold every delivery until three runs completed; then send them newest first.
    await fake.waitFor(() => (campaignState(fake, id)?.experiments[0]?.runs.length ?? 0) > 0, 60_000, "the baseline to start");
    fake.control.webhooks.hold();
    await fake.waitFor(() => fake.state.runs.filter((r) => r.status === "completed").length >= 3, 120_000, "three runs to complete");
    expect(fake.control.webhooks.heldCount).toBeGreaterThan(0);
    await fake.control.webhooks.release("reverse");
    await fake.waitFor(() => campaignState(fake, id)?.stopped !== undefined, 180_000, "the campaign to stop");
    const s = await expectTruthfulEnd(fake, id, 3);
    expect(s.stopped?.reason).toBe("max_experiments reached (3)");
    // The label was delivered twice: one campaign, started once.
    expect(ledgerEvents(fake, id).filter((e) => e.type === "campaign_started")).toHaveLength(1);
    expect(fake.state.deliveries.filter((d) => d.redelivery).length).toBeGreaterThan(5);
  }, 300_000);

  it("no workflow_run webhook ever arrives, a job crashes and another uploads garbage: reconciliation records each as it happened", async () => {
    ensureBuilt();
    const fake = await fakeWithExample(config());
    gh = fake;
    fake.control.webhooks.drop({ event: "workflow_run" }, Number.POSITIVE_INFINITY);
    // Experiment 1's first run fails before the Action uploads anything.
    fake.control.runs.fail({ title: /experiment \d+-1$/ }, { failure: "the runner lost its connection" });
    // Experiment 2's first job (whichever seed pairing gave it) uploads an artifact of the right name that is not a zip.
    let garbage: number | undefined;
    fake.control.runs.executor = async ({ run, job, upload }) => {
      const m = /experiment (\d+)-2$/.exec(run.display_title);
      if (!m || (garbage !== undefined && garbage !== Number(job.seed))) return "action";
      garbage = Number(job.seed);
      await upload(artifactName(m[1] as string, 2, garbage), { "garbage.bin": "not a result" });
      return { ok: true };
    };
    app = await startAppInProcess(fake, { reconcileSeconds: 2 });
    const id = startCampaign(fake);
    await fake.waitFor(() => campaignState(fake, id)?.stopped !== undefined, 240_000, "the campaign to stop");
    expect(fake.state.deliveries.filter((d) => d.event === "workflow_run" && d.outcome === "sent")).toEqual([]);
    await expectTruthfulEnd(fake, id, 3);
    const failed = ledgerEvents(fake, id).filter((e) => e.type === "run_finished" && e.status !== "ok");
    expect(failed.map((e) => e.type === "run_finished" && [e.experiment, e.seed, e.reason])).toEqual(
      expect.arrayContaining([
        [1, expect.any(Number), expect.stringMatching(/without the artifact autoresearch-result-\d+-1-\d+: see its log/)],
        [2, garbage, expect.stringMatching(/has no result\.json|is not a zip/)],
      ]),
    );
  }, 300_000);
});

describe("the App when someone pushes to an experiment branch", () => {
  it("a commit that rewrites the locked eval to print a perfect score, pushed before the run checks out, is rejected and never kept", async () => {
    ensureBuilt();
    const fake = await fakeWithExample(config());
    gh = fake;
    let forged: string | undefined;
    fake.control.runs.beforeDispatch = async ({ ref }) => {
      if (forged || !/^(refs\/heads\/)?autoresearch\/\d+\/2$/.test(ref)) return;
      forged = await pushCommit(fake, ref.replace(/^refs\/heads\//, ""), { "eval.mjs": 'console.log("val_loss: 0.000001");\n' }, "a better metric");
    };
    app = await startAppInProcess(fake);
    const id = startCampaign(fake);
    await fake.waitFor(() => campaignState(fake, id)?.stopped !== undefined, 240_000, "the campaign to stop");
    expect(forged).toBeDefined();
    // The pushed branch is not the App's to delete: it stays, and the campaign's end is otherwise whole.
    const s = await expectTruthfulEnd(fake, id, 3, { left: [`autoresearch/${id}/2`] });
    expect(s.experiments[2]?.phase).not.toBe("kept");
    const runs = ledgerEvents(fake, id).filter((e) => e.type === "run_finished" && e.experiment === 2);
    expect(runs.length).toBeGreaterThan(0);
    for (const r of runs)
      expect(r).toMatchObject({ status: "rejected", metric: null, reason: expect.stringContaining(`which someone pushed to autoresearch/${id}/2`) });
    // What the forged eval printed reached neither the ledger nor the best branch.
    expect(ledgerEvents(fake, id).some((e) => e.type === "run_finished" && e.metric === 0.000001)).toBe(false);
    expect(await fake.fileAt(s.best.commit, "eval.mjs")).not.toContain("0.000001");
  }, 300_000);
});

describe("the App's status comment edits", () => {
  it("are spaced by statusEditSeconds while the campaign runs; the stop is shown at once", async () => {
    ensureBuilt();
    const fake = await fakeWithExample(config());
    gh = fake;
    // An hour apart: the campaign (a minute) shows no milestone edit, only the comment and the stop.
    app = await startAppInProcess(fake, { statusEditSeconds: 3600 });
    const id = startCampaign(fake);
    await fake.waitFor(() => campaignState(fake, id)?.stopped !== undefined, 240_000, "the campaign to stop");
    await expectTruthfulEnd(fake, id, 3);
    const edits = fake.calls.filter((c) => c.method === "PATCH" && c.template === "/repos/{owner}/{repo}/issues/comments/{comment_id}");
    const posts = fake.calls.filter((c) => c.method === "POST" && c.template === "/repos/{owner}/{repo}/issues/{issue_number}/comments");
    expect(posts).toHaveLength(1);
    // Each verdict is a milestone (4 or more here); the comment was edited only once the campaign had stopped.
    expect(ledgerEvents(fake, id).filter((e) => e.type === "experiment_judged").length).toBeGreaterThanOrEqual(4);
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.length).toBeLessThanOrEqual(2);
  }, 300_000);
});
