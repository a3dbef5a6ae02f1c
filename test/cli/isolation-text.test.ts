import { describe, expect, it } from "vitest";
import { isolationText } from "../../src/cli/campaign.js";
import type { LedgerEvent } from "../../src/core/events.js";

const run = (isolation?: string, status = "ok") =>
  ({
    type: "run_finished",
    v: 1,
    seq: 1,
    at: "",
    experiment: 0,
    commit: "c",
    seed: 1,
    status,
    metric: 1,
    seconds: 1,
    exit_code: 0,
    reason: "",
    tail: "",
    ...(isolation ? { isolation } : {}),
  }) as LedgerEvent;

describe("isolationText", () => {
  it.each([
    [[run("sandbox"), run("sandbox")], /^sandbox: sandboxed/],
    [[run("sandbox"), run("process")], /^process \(the weakest of sandbox, process\): not isolated from your user/],
    [[run("user"), run()], /^user \(the weakest of user, and runs without a record\)/],
    [[run()], /^not recorded/],
    [[run(undefined, "rejected")], /^no run yet/],
    [[run("none")], /^none: not isolated: it can read and write what your user can/],
  ])("never claims more than the weakest run had: %#", (events, text) => {
    expect(isolationText(events)).toMatch(text);
  });
});
