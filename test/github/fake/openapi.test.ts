/**
 * The honesty check: requests and responses against GitHub's REST description. A wrong field, a
 * wrong type, an undeclared parameter, an endpoint GitHub does not have or the fake does not
 * serve: each is caught and recorded; a request GitHub would refuse is refused.
 */
import type { Octokit } from "@octokit/rest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./index.js";
import { RestDescription } from "./openapi.js";
import { installationOctokit } from "./testing.js";

const d = RestDescription.load();

describe("matching a request to an operation", () => {
  it.each([
    ["GET", "/repos/o/r/git/ref/heads%2Fautoresearch%2F1%2Fbest", "git/get-ref", { ref: "heads/autoresearch/1/best" }],
    ["GET", "/repos/o/r/git/ref/heads/main", "git/get-ref", { ref: "heads/main" }],
    ["PATCH", "/repos/o/r/git/refs/heads%2Fx", "git/update-ref", { ref: "heads/x" }],
    ["GET", "/repos/o/r/git/matching-refs/heads%2Fautoresearch%2F", "git/list-matching-refs", { ref: "heads/autoresearch/" }],
    ["GET", "/repos/o/r/contents/.github%2Fautoresearch.yml", "repos/get-content", { path: ".github/autoresearch.yml" }],
    ["GET", "/repos/o/r/contents/", "repos/get-content", { path: "" }],
    ["GET", "/repos/o/r/compare/main...autoresearch%2F1%2Fbest", "repos/compare-commits-with-basehead", { basehead: "main...autoresearch/1/best" }],
    ["GET", "/repos/o/r/issues/comments", "issues/list-comments-for-repo", {}],
    ["PATCH", "/repos/o/r/issues/comments/12", "issues/update-comment", { comment_id: "12" }],
    ["GET", "/repos/o/r/issues/12/comments", "issues/list-comments", { issue_number: "12" }],
    ["GET", "/repos/o/r/actions/artifacts/9/zip", "actions/download-artifact", { artifact_id: "9", archive_format: "zip" }],
    ["POST", "/repos/o/r/actions/workflows/autoresearch.yml/dispatches", "actions/create-workflow-dispatch", { workflow_id: "autoresearch.yml" }],
  ])("%s %s is %s", (method, path, operationId, params) => {
    const m = d.match(method, path).matches[0];
    expect(m?.operation.operationId).toBe(operationId);
    expect(m?.params).toMatchObject(params);
  });

  it("knows paths GitHub does not have, and methods a path does not take", () => {
    expect(d.match("GET", "/repos/o/r/autoresearch").matches).toEqual([]);
    expect(d.match("PUT", "/repos/o/r/git/ref/heads%2Fmain")).toMatchObject({ matches: [], otherMethods: ["GET"] });
  });
});

describe("checking values against the description", () => {
  const dispatch = d.operation("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches");
  const updateRef = d.operation("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}");
  const listRuns = d.operation("GET", "/repos/{owner}/{repo}/actions/runs");
  const getRef = d.operation("GET", "/repos/{owner}/{repo}/git/ref/{ref}");
  if (!dispatch || !updateRef || !listRuns || !getRef) throw new Error("operations missing from the description");
  const params = { owner: "o", repo: "r", workflow_id: "autoresearch.yml" };

  it("accepts a well-formed request", () => {
    expect(
      d.checkRequest(
        dispatch,
        params,
        new URLSearchParams(),
        { ref: "autoresearch/1/2", inputs: { experiment: "1-2", seeds: "[1]" }, return_run_details: true },
        true,
      ),
    ).toEqual({
      invalid: [],
      unknown: [],
    });
  });

  it("catches a field GitHub does not have (which GitHub would silently ignore)", () => {
    const r = d.checkRequest(dispatch, params, new URLSearchParams(), { ref: "main", return_run_detail: true }, true);
    expect(r).toEqual({ invalid: [], unknown: ["body/return_run_detail: not a field of GitHub's schema"] });
  });

  it("catches a wrong type or a missing required field (which GitHub refuses)", () => {
    expect(d.checkRequest(updateRef, { owner: "o", repo: "r", ref: "heads/x" }, new URLSearchParams(), { sha: "abc", force: "yes" }, true).invalid).toEqual([
      "body/force: must be boolean",
    ]);
    expect(d.checkRequest(dispatch, params, new URLSearchParams(), { inputs: {} }, true).invalid).toEqual(["body: must have required property 'ref'"]);
    expect(d.checkRequest(dispatch, params, new URLSearchParams(), undefined, false).invalid).toEqual(["body: required by actions/create-workflow-dispatch"]);
  });

  it("catches undeclared and malformed query parameters", () => {
    const r = d.checkRequest(
      listRuns,
      { owner: "o", repo: "r" },
      new URLSearchParams({ branch: "x", run_name: "y", per_page: "ten", status: "done" }),
      undefined,
      false,
    );
    expect(r.unknown).toEqual(["query parameter run_name: not a parameter of actions/list-workflow-runs-for-repo"]);
    expect(r.invalid).toEqual(
      expect.arrayContaining([
        "query parameter per_page: must be integer",
        expect.stringMatching(/^query parameter status: must be equal to one of the allowed values/),
      ]),
    );
  });

  it("catches a response missing a required field, carrying an extra one, or with an undocumented status", () => {
    const ref = {
      ref: "refs/heads/x",
      node_id: "n",
      url: "https://api.github.com/repos/o/r/git/refs/heads/x",
      object: { type: "commit", sha: "a".repeat(40), url: "https://api.github.com/x" },
    };
    expect(d.checkResponse(getRef, 200, ref, true)).toEqual([]);
    const { node_id: _n, ...missing } = ref;
    expect(d.checkResponse(getRef, 200, missing, true)).toEqual(["response 200: must have required property 'node_id'"]);
    expect(d.checkResponse(getRef, 200, { ...ref, object: { ...ref.object, size: 1 } }, true)).toEqual([
      "response 200/object/size: not a field of GitHub's schema",
    ]);
    expect(d.checkResponse(getRef, 201, ref, true)).toEqual(["response 201: not a documented status of git/get-ref (200, 404, 409)"]);
    expect(d.checkResponse(getRef, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" }, true)).toEqual([]);
  });

  it("checks webhook payloads against the description's x-webhooks", () => {
    expect(d.checkWebhook("workflow_run", { action: "completed" })).toEqual(
      expect.arrayContaining(["webhook workflow_run: must have required property 'workflow_run'"]),
    );
    expect(d.checkWebhook("deployment_review", { action: "sideways" })).toEqual(["webhook deployment_review.sideways: no such event in GitHub's description"]);
  });
});

describe("the fake, live", () => {
  let gh: FakeGitHub;
  let o: Octokit;
  const where = { owner: "octo-org", repo: "tiny" };
  beforeAll(async () => {
    gh = await startFakeGitHub({
      seedFiles: {
        ".github/workflows/w.yml":
          "on:\n  workflow_dispatch:\n    inputs:\n      experiment:\n        type: string\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps: []\n",
      },
    });
    o = await installationOctokit(gh);
  });
  afterAll(async () => {
    await gh?.close();
  });
  afterEach(() => {
    gh.problems.length = 0;
  });

  const status = async (p: Promise<unknown>) =>
    p.then(
      (r) => (r as { status: number }).status,
      (e: { status: number }) => e.status,
    );

  it("records a misspelt request field and still answers as GitHub would (it ignores the field)", async () => {
    gh.control.runs.executor = async () => ({ ok: true });
    try {
      const s = await status(
        o.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
          ...where,
          workflow_id: "w.yml",
          ref: "main",
          return_run_detail: true,
        }),
      );
      await gh.idle();
      expect(s).toBe(204);
    } finally {
      gh.control.runs.executor = null;
    }
    expect(gh.problems).toEqual([
      expect.objectContaining({ kind: "request", method: "POST", message: "body/return_run_detail: not a field of GitHub's schema" }),
    ]);
  });

  it("refuses a request GitHub would refuse (422) and records it", async () => {
    // Typed Octokit would not let this through; an untyped caller (or a cast) would.
    const force = "yes" as unknown as boolean;
    expect(await status(o.request("PATCH /repos/{owner}/{repo}/git/refs/{ref}", { ...where, ref: "heads/main", sha: "a".repeat(40), force }))).toBe(422);
    expect(gh.problems.map((p) => p.message)).toEqual(["body/force: must be boolean"]);
  });

  it("answers 404 loudly for an endpoint GitHub does not have, one the fake does not serve, a wrong method, and a path outside /api/v3", async () => {
    expect(await status(o.request("GET /repos/{owner}/{repo}/autoresearch", where))).toBe(404);
    expect(await status(o.request("GET /repos/{owner}/{repo}/branches", where))).toBe(404);
    expect(await status(o.request("PUT /repos/{owner}/{repo}/git/ref/{ref}", { ...where, ref: "heads/main" }))).toBe(404);
    expect(await status(fetch(`http://${gh.host}/repos/octo-org/tiny`).then((r) => ({ status: r.status })))).toBe(404);
    expect(gh.problems.map((p) => `${p.kind}: ${p.message}`)).toEqual([
      "unknown-endpoint: no such endpoint in GitHub's REST API",
      "unknown-endpoint: repos/list-branches (GET /repos/{owner}/{repo}/branches) is GitHub's, but the fake does not serve it",
      "unknown-endpoint: GitHub has no PUT here (only GET)",
      "unknown-endpoint: not under /api/v3: GitHub Enterprise Server serves the REST API only there (is GHE_HOST set?)",
    ]);
  });

  it("counts every request, with its operation and status, for the App's call budget", async () => {
    const before = gh.calls.length;
    await o.rest.git.getRef({ ...where, ref: "heads/main" });
    await status(o.rest.git.getRef({ ...where, ref: "heads/nope" }));
    expect(gh.calls.slice(before).map((c) => `${c.method} ${c.operationId} ${c.status} ${c.auth}`)).toEqual([
      "GET git/get-ref 200 installation",
      "GET git/get-ref 404 installation",
    ]);
  });

  it("injects API faults: a 502 and a secondary rate limit with retry-after", async () => {
    gh.control.api.failNext({ method: "GET", path: "/repos/{owner}/{repo}/git/ref/{ref}", status: 502, times: 1 });
    gh.control.api.failNext({ path: /\/issues/, status: 403, message: "You have exceeded a secondary rate limit", headers: { "retry-after": "1" } });
    expect(await status(o.rest.git.getRef({ ...where, ref: "heads/main" }))).toBe(502);
    expect(await status(o.rest.git.getRef({ ...where, ref: "heads/main" }))).toBe(200);
    const limited = await o.rest.issues.listForRepo(where).catch((e: { status: number; response: { headers: Record<string, string> } }) => e);
    expect(limited).toMatchObject({ status: 403, response: { headers: { "retry-after": "1" } } });
    expect(gh.problems).toEqual([]);
  });
});
