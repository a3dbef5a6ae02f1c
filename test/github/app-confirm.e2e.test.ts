/**
 * `/autoresearch confirm` on GitHub: a finished campaign's final number is confirmed when a
 * maintainer asks (the base and the best on fresh paired seeds), as `autoresearch confirm` does
 * locally; asked too early, the App says why not and records nothing. In process, against the fake.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ensureBuilt } from "../cli/helpers.js";
import {
  campaignConfig,
  campaignState,
  expectTruthfulEnd,
  fakeWithExample,
  type InProcessApp,
  ledgerEvents,
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

const bodies = (fake: FakeGitHub, issue: number) => fake.state.comments.filter((c) => c.issue_number === issue).map((c) => c.body);

describe("/autoresearch confirm", () => {
  it("is refused while the campaign runs; on the finished campaign it runs base and best on fresh seeds and shows the result", async () => {
    ensureBuilt();
    // accept.confirm_repeats: 0: the campaign does not confirm itself; asked, the App runs 5 pairs.
    const fake = await fakeWithExample(campaignConfig({ accept: { confirm_repeats: 0 } }));
    gh = fake;
    app = await startAppInProcess(fake);
    const id = startCampaign(fake);
    await fake.waitFor(() => (campaignState(fake, id)?.experiments.length ?? 0) > 1, 120_000, "the first experiment");
    fake.comment(id, "/autoresearch confirm", { by: "mona" });
    await fake.waitFor(() => bodies(fake, id).some((b) => b.includes("cannot be confirmed now")), 60_000, "the refusal");
    expect(bodies(fake, id).find((b) => b.includes("cannot be confirmed now"))).toContain("still running");

    await fake.waitFor(() => campaignState(fake, id)?.stopped !== undefined, 300_000, "the campaign to stop");
    await expectTruthfulEnd(fake, id, 8);
    const before = campaignState(fake, id);
    if (!before) throw new Error("no ledger");
    expect(before.best.experiment).toBeGreaterThan(0);
    expect(before.confirmation).toBeUndefined();
    expect(ledgerEvents(fake, id).filter((e) => e.type === "confirmation_requested")).toEqual([]);
    expect(fake.pulls[0]?.body).toContain("**Not confirmed:** no confirmation ran");

    fake.comment(id, "/autoresearch confirm", { by: "mona" });
    await fake.waitFor(() => campaignState(fake, id)?.confirmation?.phase === "done", 300_000, "the confirmation to be judged");
    const s = await expectTruthfulEnd(fake, id, 8);
    const c = s.confirmation;
    expect(c).toMatchObject({ requested: true, phase: "done", baseCommit: before.baseCommit, bestCommit: before.best.commit });
    expect(c?.seeds).toHaveLength(5);
    // Each fresh seed ran once on the base and once on the best, and nothing else ran after the stop.
    const after = ledgerEvents(fake, id).slice(ledgerEvents(fake, id).findIndex((e) => e.type === "confirmation_requested"));
    const runs = after.filter((e) => e.type === "run_finished");
    expect(runs.map((r) => (r.type === "run_finished" ? `${r.commit}:${r.seed}` : "")).sort()).toEqual(
      (c?.seeds ?? []).flatMap((seed) => [`${before.baseCommit}:${seed}`, `${before.best.commit}:${seed}`]).sort(),
    );
    expect(runs.every((r) => r.type === "run_finished" && r.status === "ok")).toBe(true);
    expect(bodies(fake, id).some((b) => b.startsWith(`Confirming campaign #${id}`))).toBe(true);
    // The pull request shows the outcome, whichever it is.
    const pr = fake.pulls[0]?.body ?? "";
    expect(pr).not.toContain("no confirmation ran");
    expect(pr).toMatch(c?.result?.confirmed ? /\*\*Confirmed:\*\*/ : /\*\*Not confirmed\.\*\*/);
  }, 600_000);
});
