/** Reading one seed's result.json from its artifact (the zip the Action uploads). */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { resultFromZip } from "../../src/github/results.js";

const commit = "a".repeat(40);
const parent = "b".repeat(40);
const spec = { campaign: "7", experiment: 2, commit, parent, seed: 3 };
const url = "https://github.com/o/r/actions/runs/1";

function artifact(result: Record<string, unknown>): Uint8Array {
  return zipSync({
    "result.json": strToU8(
      JSON.stringify({
        version: 1,
        experiment: "7-2",
        commit,
        parent,
        seed: 3,
        status: "ok",
        metric: 0.25,
        seconds: 12,
        timed_out: false,
        exit_code: 0,
        reason: "",
        tail: "val_loss: 0.25",
        runner: { name: null, os: "Linux", arch: "X64" },
        gpu: null,
        peak_memory_mb: null,
        action_version: "0.1.0",
        ...result,
      }),
    ),
  });
}

describe("resultFromZip", () => {
  it("carries the guard values of an ok run, as the runner read them", () => {
    const r = resultFromZip(artifact({ guards: { accuracy: 0.91 } }), "a", spec, url);
    expect(r).toMatchObject({ status: "ok", metric: 0.25, guards: { accuracy: 0.91 }, url });
  });

  it("has no guards where the result has none, or where the run failed", () => {
    expect(resultFromZip(artifact({}), "a", spec, url).guards).toBeUndefined();
    const failed = resultFromZip(artifact({ status: "crash", metric: null, reason: "boom", guards: { accuracy: 0.91 } }), "a", spec, url);
    expect(failed).toMatchObject({ status: "crash", metric: null });
    expect(failed.guards).toBeUndefined();
  });
});
