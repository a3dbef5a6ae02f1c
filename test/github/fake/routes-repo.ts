/**
 * Endpoints of the App itself, its installation and the repository: access tokens, installations,
 * the repository, file contents, collaborator permissions, labels, compare.
 */
import { randomBytes } from "node:crypto";
import { HttpError, json, notFound, paginate, type Router, unprocessable } from "./http.js";
import type { FakeGitHub } from "./index.js";
import { fullRepository, githubBase64, installation, integration, label, repoCommit, repository, user } from "./objects.js";
import type { RepoPermission } from "./state.js";

export function registerRepoRoutes(router: Router, gh: FakeGitHub): void {
  const { site, state } = gh;

  router.add("GET", "/app", "app", () => json(200, integration(site, state)));

  router.add("GET", "/app/installations", "app", (ctx) => {
    const page = paginate(ctx, site.api, [installation(site, state)]);
    return json(200, page.items, page.headers);
  });

  router.add("GET", "/app/installations/{installation_id}", "app", (ctx) => {
    if (Number(ctx.params.installation_id) !== site.installationId) throw notFound();
    return json(200, installation(site, state));
  });

  router.add("GET", "/repos/{owner}/{repo}/installation", "app", () => json(200, installation(site, state)));

  router.add("POST", "/app/installations/{installation_id}/access_tokens", "app", (ctx) => {
    if (Number(ctx.params.installation_id) !== site.installationId) throw notFound();
    const token = `ghs_${randomBytes(27).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
    const expiresMs = Date.now() + 3_600_000;
    state.tokens.set(token, expiresMs);
    const perms = ctx.body?.permissions ?? { actions: "write", checks: "write", contents: "write", issues: "write", metadata: "read", pull_requests: "write" };
    return json(201, {
      token,
      expires_at: new Date(expiresMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
      permissions: perms,
      repository_selection: "selected",
      repositories: [repository(site, state)],
    });
  });

  router.add("GET", "/installation/repositories", "installation", (ctx) => {
    const page = paginate(ctx, site.api, [repository(site, state)]);
    return json(200, { total_count: 1, repository_selection: "selected", repositories: page.items }, page.headers);
  });

  router.add("GET", "/repos/{owner}/{repo}", "installation", () => json(200, fullRepository(site, state)));

  router.add("GET", "/repos/{owner}/{repo}/contents/{path}", "installation", async (ctx) => {
    const ref = ctx.query.get("ref") ?? site.defaultBranch;
    const commit = await gh.git.resolveCommit(ref);
    if (!commit) throw new HttpError(404, `No commit found for the ref ${ref}`);
    const path = ctx.params.path?.replace(/^\/+|\/+$/g, "") ?? "";
    const r = `${site.api}/repos/${site.owner}/${site.repo}`;
    const item = (p: string, type: string, sha: string, size: number) => {
      const self = `${r}/contents/${p}?ref=${encodeURIComponent(ref)}`;
      const git = `${r}/git/${type === "dir" ? "trees" : "blobs"}/${sha}`;
      const html = `${site.web}/${site.owner}/${site.repo}/${type === "dir" ? "tree" : "blob"}/${ref}/${p}`;
      return {
        name: p.split("/").pop() ?? p,
        path: p,
        sha,
        size,
        url: self,
        html_url: html,
        git_url: git,
        download_url: type === "file" ? `${site.web}/raw/${site.owner}/${site.repo}/${ref}/${p}` : null,
        type,
        _links: { self, git, html },
      };
    };
    // A path that is a tree lists it; a path that is a blob is the file; else 404.
    const parentPath = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const name = path.slice(path.lastIndexOf("/") + 1);
    const parent = path === "" ? null : await gh.git.lsTree(`${commit}:${parentPath}`, false).catch(() => null);
    const self = parent?.find((e) => e.path === name);
    if (self?.type === "blob") {
      const data = (await gh.git.readBlob(self.sha)) ?? Buffer.alloc(0);
      const accept = String(ctx.headers.accept ?? "");
      if (/application\/vnd\.github(\.v3)?\.raw/.test(accept))
        return { status: 200, raw: data, headers: { "content-type": "application/vnd.github.raw; charset=utf-8" } };
      return json(200, { ...item(path, "file", self.sha, data.length), content: githubBase64(data), encoding: "base64" });
    }
    if (path === "" || self?.type === "tree") {
      // `<commit>:` is the root tree, `<commit>:<dir>` a folder.
      const entries = await gh.git.lsTree(`${commit}:${path}`, false);
      return json(
        200,
        entries.map((e) =>
          item(path ? `${path}/${e.path}` : e.path, e.type === "tree" ? "dir" : e.type === "commit" ? "submodule" : "file", e.sha, e.size ?? 0),
        ),
      );
    }
    throw notFound();
  });

  router.add("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", "installation", (ctx) => {
    const login = ctx.params.username ?? "";
    const set = state.permissions.get(login);
    const role: RepoPermission = set ?? (site.private ? "none" : "read");
    // GitHub's `permission` knows admin, write, read and none; maintain and triage show only in role_name.
    const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
    const u = user(site, state, login);
    const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(role);
    return json(200, {
      permission,
      role_name: role === "none" ? "none" : role,
      user: {
        ...u,
        permissions: { admin: rank >= 5, maintain: rank >= 4, push: rank >= 3, triage: rank >= 2, pull: rank >= 1 },
        role_name: role,
      },
    });
  });

  router.add("GET", "/repos/{owner}/{repo}/labels", "installation", (ctx) => {
    const page = paginate(
      ctx,
      site.api,
      state.labels.map((l) => label(site, l)),
    );
    return json(200, page.items, page.headers);
  });

  router.add("GET", "/repos/{owner}/{repo}/labels/{name}", "installation", (ctx) => {
    const l = state.labels.find((x) => x.name.toLowerCase() === ctx.params.name?.toLowerCase());
    if (!l) throw notFound();
    return json(200, label(site, l));
  });

  router.add("POST", "/repos/{owner}/{repo}/labels", "installation", (ctx) => {
    const name = String(ctx.body.name);
    if (state.labels.some((l) => l.name.toLowerCase() === name.toLowerCase()))
      throw unprocessable("Validation Failed", [{ resource: "Label", code: "already_exists", field: "name" }]);
    const l = gh.ensureLabel(name, ctx.body.color, ctx.body.description ?? null);
    return json(201, label(site, l));
  });

  router.add("GET", "/repos/{owner}/{repo}/compare/{basehead}", "installation", async (ctx) => {
    const m = /^(.+?)\.\.\.(.+)$/.exec(ctx.params.basehead ?? "");
    if (!m) throw notFound();
    const base = await gh.git.resolveCommit(m[1] ?? "");
    const head = await gh.git.resolveCommit(m[2] ?? "");
    if (!base || !head) throw new HttpError(404, `No commit found for SHA: ${base ? m[2] : m[1]}`);
    const mergeBase = await gh.git.git(["merge-base", base, head]).catch(() => "");
    if (!mergeBase) throw new HttpError(404, `No common ancestor between ${m[1]} and ${m[2]}.`);
    const count = async (range: string) => Number(await gh.git.git(["rev-list", "--count", range]));
    const ahead = await count(`${mergeBase}..${head}`);
    const behind = await count(`${mergeBase}..${base}`);
    const shas = (await gh.git.git(["rev-list", "--reverse", "--topo-order", `${mergeBase}..${head}`])).split("\n").filter(Boolean).slice(0, 250);
    const commit = async (sha: string) => {
      const c = await gh.git.readCommit(sha);
      if (!c) throw new Error(`missing commit ${sha}`);
      return repoCommit(site, state, c);
    };
    const files: unknown[] = [];
    const r = `${site.api}/repos/${site.owner}/${site.repo}`;
    const numstat = (await gh.git.git(["diff", "--numstat", "-z", "--no-renames", mergeBase, head])).split("\0").filter(Boolean);
    const status = (await gh.git.git(["diff", "--name-status", "-z", "--no-renames", mergeBase, head])).split("\0").filter(Boolean);
    const statusOf = new Map<string, string>();
    for (let i = 0; i + 1 < status.length; i += 2) statusOf.set(status[i + 1] ?? "", status[i] ?? "");
    for (const line of numstat) {
      const [add = "0", del = "0", filename = ""] = line.split("\t");
      const st = statusOf.get(filename);
      const blob = st === "D" ? "" : await gh.git.git(["rev-parse", `${head}:${filename}`]).catch(() => "");
      const a = add === "-" ? 0 : Number(add);
      const d = del === "-" ? 0 : Number(del);
      files.push({
        sha: blob || "0000000000000000000000000000000000000000",
        filename,
        status: st === "A" ? "added" : st === "D" ? "removed" : "modified",
        additions: a,
        deletions: d,
        changes: a + d,
        blob_url: `${site.web}/${site.owner}/${site.repo}/blob/${head}/${filename}`,
        raw_url: `${site.web}/${site.owner}/${site.repo}/raw/${head}/${filename}`,
        contents_url: `${r}/contents/${filename}?ref=${head}`,
        patch: await gh.git.git(["diff", mergeBase, head, "--", filename]).then((p) => p.split("\n").slice(4).join("\n")),
      });
    }
    const html = `${site.web}/${site.owner}/${site.repo}/compare/${ctx.params.basehead}`;
    return json(200, {
      url: `${r}/compare/${ctx.params.basehead}`,
      html_url: html,
      permalink_url: `${site.web}/${site.owner}/${site.repo}/compare/${base}...${head}`,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      base_commit: await commit(base),
      merge_base_commit: await commit(mergeBase),
      status: ahead === 0 && behind === 0 ? "identical" : behind === 0 ? "ahead" : ahead === 0 ? "behind" : "diverged",
      ahead_by: ahead,
      behind_by: behind,
      total_commits: ahead,
      commits: await Promise.all(shas.map(commit)),
      files,
    });
  });
}
