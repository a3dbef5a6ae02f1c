/**
 * Reading a workflow run's results: which runs are the App's, and what an artifact's zip may hold.
 * Whatever an experiment's job uploads, the App records a failed run with a reason, or the result
 * of exactly the experiment, seed, commit and parent it dispatched.
 */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { identifyRun, resultFromZip, type WorkflowRunInfo } from "../../src/github/results.js";
import type { RunSpec } from "../../src/ports.js";

const C = "a".repeat(40);
const P = "b".repeat(40);
const spec: RunSpec = { campaign: "12", experiment: 3, commit: C, parent: P, seed: 2 };
const NAME = "autoresearch-result-12-3-2";
const URL = "https://github.com/o/r/actions/runs/9";

function result(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    experiment: "12-3",
    commit: C,
    parent: P,
    seed: 2,
    status: "ok",
    metric: 0.25,
    seconds: 3.5,
    timed_out: false,
    exit_code: 0,
    reason: "",
    tail: "val_loss: 0.25",
    runner: { name: "r1", os: "Linux", arch: "X64" },
    gpu: null,
    peak_memory_mb: null,
    action_version: "0.1.0",
    isolation: "sandbox",
    ...over,
  };
}
const zipOf = (files: Record<string, string>) => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));

describe("resultFromZip", () => {
  it("carries the guard values of an ok run, as the runner read them; none where there are none or the run failed", () => {
    const zipped = (over: Record<string, unknown>) => zipOf({ "result.json": JSON.stringify(result(over)) });
    expect(resultFromZip(zipped({ guards: { accuracy: 0.91 } }), NAME, spec, URL)).toMatchObject({ status: "ok", metric: 0.25, guards: { accuracy: 0.91 } });
    expect(resultFromZip(zipped({}), NAME, spec, URL).guards).toBeUndefined();
    const failed = resultFromZip(zipped({ status: "crash", metric: null, reason: "boom", guards: { accuracy: 0.91 } }), NAME, spec, URL);
    expect(failed).toMatchObject({ status: "crash", metric: null });
    expect(failed.guards).toBeUndefined();
  });

  it("reads the result of the run it must be", () => {
    expect(resultFromZip(zipOf({ "result.json": JSON.stringify(result()) }), NAME, spec, URL)).toEqual({
      status: "ok",
      metric: 0.25,
      seconds: 3.5,
      exitCode: 0,
      reason: "",
      tail: "val_loss: 0.25",
      url: URL,
      isolation: "sandbox",
    });
  });

  it.each([
    ["another experiment", { experiment: "12-4" }, /holds the result of experiment 12-4, not 12-3/],
    ["another seed", { seed: 1 }, /holds the result of seed 1, not 2/],
    ["another commit", { commit: "c".repeat(40) }, /holds the result of commit cccccccccccc, not the experiment's aaaaaaaaaaaa/],
    ["another parent", { parent: "d".repeat(40) }, /holds the result of parent dddddddddddd, not bbbbbbbbbbbb/],
    ["a field the schema lacks", { bonus: 1 }, /bonus/],
    ["a metric that is not a number", { metric: "0.1" }, /metric/],
  ])("a result of %s is a failed run that says so", (_what, over, reason) => {
    const r = resultFromZip(zipOf({ "result.json": JSON.stringify(result(over)) }), NAME, spec, URL);
    expect(r).toMatchObject({ status: "crash", metric: null, url: URL });
    expect(r.reason).toMatch(reason);
  });

  it("an archive that is not a zip, one without result.json and a result.json that is not JSON are failed runs", () => {
    expect(resultFromZip(strToU8("not a zip at all"), NAME, spec, URL).reason).toMatch(/the artifact autoresearch-result-12-3-2 is not a zip archive/);
    expect(resultFromZip(zipOf({ "metric.txt": "0.0001" }), NAME, spec, URL).reason).toBe("the artifact autoresearch-result-12-3-2 has no result.json");
    expect(resultFromZip(zipOf({ "result.json": "{ val_loss: 0 }" }), NAME, spec, URL).reason).toMatch(/result\.json is not valid JSON/);
  });

  it("a failed result carries no metric, whatever the file says", () => {
    const r = resultFromZip(
      zipOf({ "result.json": JSON.stringify(result({ status: "timeout", metric: null, reason: "killed after 30 s" })) }),
      NAME,
      spec,
      URL,
    );
    expect(r).toMatchObject({ status: "timeout", metric: null, reason: "killed after 30 s" });
  });
});

describe("identifyRun", () => {
  const run = (over: Partial<WorkflowRunInfo>): WorkflowRunInfo => ({
    id: 9,
    html_url: URL,
    head_sha: C,
    head_branch: "autoresearch/12/3",
    display_title: "autoresearch experiment 12-3",
    status: "completed",
    conclusion: "success",
    ...over,
  });

  it("names the campaign and experiment of a run on its experiment's branch or on the campaign's best branch", () => {
    expect(identifyRun(run({}))).toEqual({ campaign: "12", experiment: 3 });
    expect(identifyRun(run({ head_branch: "autoresearch/12/best" }))).toEqual({ campaign: "12", experiment: 3 });
    expect(identifyRun(run({ head_branch: "autoresearch/13/best" }))).toMatchObject({ ignore: expect.stringMatching(/not on the experiment's branch/) });
  });

  it("ignores other workflows, ids the App does not make, and a run-name on another branch", () => {
    expect(identifyRun(run({ display_title: "CI" }))).toEqual({ ignore: "not an autoresearch experiment run" });
    expect(identifyRun(run({ display_title: "autoresearch experiment ../etc" }))).toMatchObject({ ignore: expect.stringMatching(/no experiment id/) });
    expect(identifyRun(run({ head_branch: "main" }))).toEqual({ ignore: 'it ran on "main", not on the experiment\'s branch autoresearch/12/3' });
    expect(identifyRun(run({ head_branch: "autoresearch/12/4" }))).toMatchObject({ ignore: expect.stringMatching(/not on the experiment's branch/) });
  });
});
