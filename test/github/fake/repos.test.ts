/**
 * The App's and the repository's endpoints through a real Octokit: the JWT and installation token
 * exchange, the repository, contents (files, folders, raw, 404), collaborator permissions.
 */
import { generateKeyPairSync } from "node:crypto";
import { Octokit } from "@octokit/rest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "./index.js";
import { appJwt, appOctokit, installationOctokit } from "./testing.js";

let gh: FakeGitHub;
let o: Octokit;
const where = { owner: "octo-org", repo: "tiny" };

beforeAll(async () => {
  gh = await startFakeGitHub({
    seedDir: "examples/tiny-regression",
    permissions: { rita: "read", wes: "write", max: "maintain", tim: "triage", nora: "none" },
  });
  o = await installationOctokit(gh);
});
afterAll(async () => {
  await gh?.close();
});
afterEach(() => {
  expect(gh.problems.splice(0)).toEqual([]);
});

const status = async (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { status: number; response?: { data?: { message?: string } } }) => `${e.status} ${e.response?.data?.message ?? ""}`,
  );

/** Takes the problems the test expected out of the list, so afterEach sees only unexpected ones. */
function takeProblems(): string[] {
  return gh.problems.splice(0).map((p) => `${p.kind}: ${p.message}`);
}

describe("authentication", () => {
  it("exchanges the App's JWT for an installation token and lists the installation", async () => {
    const app = appOctokit(gh);
    const me = await app.rest.apps.getAuthenticated();
    expect(me.data?.slug).toBe("autoresearch");
    const inst = await app.rest.apps.listInstallations();
    expect(inst.data.map((i) => i.id)).toEqual([gh.installationId]);
    const token = await app.rest.apps.createInstallationAccessToken({ installation_id: gh.installationId });
    expect(token.status).toBe(201);
    expect(token.data.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    const repos = await o.rest.apps.listReposAccessibleToInstallation();
    expect(repos.data.repositories.map((r) => r.full_name)).toEqual(["octo-org/tiny"]);
    expect(await status(app.rest.apps.createInstallationAccessToken({ installation_id: 1 }))).toMatch(/^404/);
  });

  it("refuses a JWT signed with another key, an expired one, a token where a JWT is needed, and no credentials", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    const forged = appJwt({ ...gh, privateKey: other, appId: gh.appId } as unknown as FakeGitHub);
    expect(await status(new Octokit({ baseUrl: gh.apiUrl, auth: forged }).rest.apps.getAuthenticated())).toMatch(/^401/);
    const expired = appJwt(gh, { iat: 1_600_000_000, exp: 1_600_000_540 });
    expect(await status(new Octokit({ baseUrl: gh.apiUrl, auth: expired }).rest.apps.getAuthenticated())).toMatch(/^401/);
    expect(await status(o.rest.apps.getAuthenticated())).toMatch(/^401/);
    expect(await status(new Octokit({ baseUrl: gh.apiUrl }).rest.repos.get(where))).toMatch(/^401/);
    expect(await status(appOctokit(gh).rest.repos.get(where))).toMatch(/^401/);
    expect(takeProblems()).toEqual([
      expect.stringMatching(/^auth: apps\/get-authenticated needs the App's JWT: A JSON web token could not be decoded/),
      expect.stringMatching(/^auth: apps\/get-authenticated needs the App's JWT: 'Expiration time'/),
      expect.stringMatching(/^auth: apps\/get-authenticated needs the App's JWT/),
      expect.stringMatching(/^auth: repos\/get needs an installation token: Requires authentication/),
      expect.stringMatching(/^auth: repos\/get needs an installation token: A JSON web token cannot be used here/),
    ]);
  });

  it("stops accepting tokens once revoked (as when they expire)", async () => {
    const fresh = await installationOctokit(gh);
    gh.control.api.revokeTokens();
    expect(await status(fresh.rest.repos.get(where))).toBe("401 Bad credentials");
    expect(takeProblems()).toEqual([expect.stringMatching(/^auth: repos\/get needs an installation token: Bad credentials/)]);
    o = await installationOctokit(gh);
  });
});

describe("repository", () => {
  it("answers the repository with its default branch", async () => {
    const r = await o.rest.repos.get(where);
    expect(r.data).toMatchObject({ full_name: "octo-org/tiny", default_branch: "main", private: false, owner: { login: "octo-org", type: "Organization" } });
    expect(await status(o.rest.repos.get({ owner: "octo-org", repo: "other" }))).toMatch(/^404/);
  });

  it("serves files (base64 and raw), folders, and 404 for what is not there", async () => {
    const f = await o.rest.repos.getContent({ ...where, path: ".github/autoresearch.yml" });
    expect(Array.isArray(f.data)).toBe(false);
    const file = f.data as { type: string; content: string; encoding: string; path: string };
    expect(file).toMatchObject({ type: "file", encoding: "base64", path: ".github/autoresearch.yml" });
    expect(Buffer.from(file.content, "base64").toString("utf8")).toContain("name: val_loss");
    const raw = await o.rest.repos.getContent({ ...where, path: "train.mjs", mediaType: { format: "raw" } });
    expect(String(raw.data)).toContain("const LEARNING_RATE");
    const dir = await o.rest.repos.getContent({ ...where, path: ".github" });
    expect((dir.data as { name: string; type: string }[]).map((e) => `${e.type} ${e.name}`)).toEqual(["file autoresearch.yml"]);
    const root = await o.rest.repos.getContent({ ...where, path: "" });
    expect((root.data as { name: string }[]).map((e) => e.name)).toEqual(expect.arrayContaining(["train.mjs", "eval.mjs", ".github"]));
    expect(await status(o.rest.repos.getContent({ ...where, path: "nope.txt" }))).toMatch(/^404/);
    expect(await status(o.rest.repos.getContent({ ...where, path: ".github/autoresearch.yml", ref: "no-such-branch" }))).toMatch(/^404/);
    // The example's ignored files (model.json) were not committed.
    expect(await status(o.rest.repos.getContent({ ...where, path: "model.json" }))).toMatch(/^404/);
  });

  it("reads files at a ref", async () => {
    const main = (await o.rest.git.getRef({ ...where, ref: "heads/main" })).data.object.sha;
    const tree = (await o.rest.git.getCommit({ ...where, commit_sha: main })).data.tree.sha;
    const t = await o.rest.git.createTree({ ...where, base_tree: tree, tree: [{ path: "train.mjs", mode: "100644", type: "blob", content: "changed\n" }] });
    const c = await o.rest.git.createCommit({ ...where, message: "m", tree: t.data.sha, parents: [main] });
    await o.rest.git.createRef({ ...where, ref: "refs/heads/feature", sha: c.data.sha });
    const at = async (ref?: string) =>
      String((await o.rest.repos.getContent({ ...where, path: "train.mjs", mediaType: { format: "raw" }, ...(ref ? { ref } : {}) })).data);
    expect(await at("feature")).toBe("changed\n");
    expect(await at(c.data.sha)).toBe("changed\n");
    expect(await at()).toContain("LEARNING_RATE");
  });

  it.each([
    ["mona", "admin", "admin"],
    ["max", "write", "maintain"],
    ["wes", "write", "write"],
    ["tim", "read", "triage"],
    ["rita", "read", "read"],
    ["nora", "none", "none"],
    ["stranger", "read", "read"],
  ])("reports %s's permission as GitHub does: permission %s, role_name %s", async (username, permission, role) => {
    const r = await o.rest.repos.getCollaboratorPermissionLevel({ ...where, username });
    expect(r.data.permission).toBe(permission);
    expect(r.data.role_name).toBe(role);
    expect(r.data.user?.login).toBe(username);
  });
});
