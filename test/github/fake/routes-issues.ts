/**
 * Issues, issue comments (with their edit history), reactions, labels on issues, and pull
 * requests. Issues and pull requests share one numbering, and the issues endpoints answer for pull
 * requests too, as on GitHub. What the App does here is echoed to it as webhooks (a comment it
 * posts arrives as `issue_comment.created` with the bot as sender), as GitHub does.
 */
import { HttpError, json, notFound, paginate, type Router, unprocessable } from "./http.js";
import type { FakeGitHub } from "./index.js";
import { comment, issue, label, now, pull, pullSimple, reaction } from "./objects.js";
import type { IssueRecord } from "./state.js";

/** GitHub's limit on issue, pull request and comment bodies. */
export const BODY_MAX = 65536;

const REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"];

function checkBody(body: unknown): void {
  if (typeof body === "string" && body.length > BODY_MAX)
    throw unprocessable(`Body is too long (maximum is ${BODY_MAX} characters)`, [
      { resource: "Issue", code: "custom", field: "body", message: "body is too long" },
    ]);
}

export function registerIssueRoutes(router: Router, gh: FakeGitHub): void {
  const { site, state } = gh;
  const bot = () => gh.botLogin;
  const find = (n: string | undefined): IssueRecord => {
    const i = state.issues.find((x) => x.number === Number(n));
    if (!i) throw notFound();
    return i;
  };

  router.add("GET", "/repos/{owner}/{repo}/issues", "installation", (ctx) => {
    const st = ctx.query.get("state") ?? "open";
    const labels = (ctx.query.get("labels") ?? "").split(",").filter(Boolean);
    const since = ctx.query.get("since");
    const direction = ctx.query.get("direction") ?? "desc";
    let list = state.issues.filter((i) => (st === "all" || i.state === st) && labels.every((l) => i.labels.includes(l)) && (!since || i.updated_at >= since));
    list = [...list].sort((a, b) => (direction === "asc" ? a.number - b.number : b.number - a.number));
    const page = paginate(
      ctx,
      site.api,
      list.map((i) => issue(site, state, i)),
    );
    return json(200, page.items, page.headers);
  });

  router.add("POST", "/repos/{owner}/{repo}/issues", "installation", (ctx) => {
    checkBody(ctx.body.body);
    const labels: string[] = (ctx.body.labels ?? []).map((l: string | { name: string }) => (typeof l === "string" ? l : l.name));
    const i = gh.createIssue({ title: String(ctx.body.title), body: ctx.body.body ?? null, labels, by: bot() });
    return json(201, issue(site, state, i), { location: `${site.api}/repos/${site.owner}/${site.repo}/issues/${i.number}` });
  });

  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}", "installation", (ctx) => json(200, issue(site, state, find(ctx.params.issue_number))));

  router.add("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", "installation", (ctx) => {
    const i = find(ctx.params.issue_number);
    checkBody(ctx.body.body);
    gh.updateIssue(i, ctx.body, bot());
    return json(200, issue(site, state, i));
  });

  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "installation", (ctx) => {
    const i = find(ctx.params.issue_number);
    const since = ctx.query.get("since");
    const page = paginate(
      ctx,
      site.api,
      state.comments.filter((c) => c.issue_number === i.number && (!since || c.updated_at >= since)).map((c) => comment(site, state, c)),
    );
    return json(200, page.items, page.headers);
  });

  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "installation", (ctx) => {
    const i = find(ctx.params.issue_number);
    checkBody(ctx.body.body);
    const c = gh.createComment(i.number, String(ctx.body.body), bot());
    return json(201, comment(site, state, c), { location: `${site.api}/repos/${site.owner}/${site.repo}/issues/comments/${c.id}` });
  });

  router.add("GET", "/repos/{owner}/{repo}/issues/comments", "installation", (ctx) => {
    const page = paginate(
      ctx,
      site.api,
      state.comments.map((c) => comment(site, state, c)),
    );
    return json(200, page.items, page.headers);
  });

  const findComment = (id: string | undefined) => {
    const c = state.comments.find((x) => x.id === Number(id));
    if (!c) throw notFound();
    return c;
  };

  router.add("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "installation", (ctx) =>
    json(200, comment(site, state, findComment(ctx.params.comment_id))),
  );

  router.add("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "installation", (ctx) => {
    const c = findComment(ctx.params.comment_id);
    checkBody(ctx.body.body);
    gh.editComment(c, String(ctx.body.body), bot());
    return json(200, comment(site, state, c));
  });

  router.add("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "installation", (ctx) => {
    const c = findComment(ctx.params.comment_id);
    state.comments.splice(state.comments.indexOf(c), 1);
    return json(204);
  });

  const react = (list: { content: string; user: string; id: number; created_at: string }[], content: string) => {
    if (!REACTIONS.includes(content)) throw unprocessable("Validation Failed", [{ resource: "Reaction", code: "invalid", field: "content" }]);
    const existing = list.find((r) => r.content === content && r.user === bot());
    if (existing) return json(200, reaction(site, state, existing));
    const r = { id: gh.nextId(), content, user: bot(), created_at: now() };
    list.push(r);
    return json(201, reaction(site, state, r));
  };

  router.add("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "installation", (ctx) =>
    react(findComment(ctx.params.comment_id).reactions, String(ctx.body.content)),
  );

  router.add("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "installation", (ctx) => {
    const content = ctx.query.get("content");
    const page = paginate(
      ctx,
      site.api,
      findComment(ctx.params.comment_id)
        .reactions.filter((r) => !content || r.content === content)
        .map((r) => reaction(site, state, r)),
    );
    return json(200, page.items, page.headers);
  });

  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/reactions", "installation", (ctx) =>
    react(find(ctx.params.issue_number).reactions, String(ctx.body.content)),
  );

  router.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "installation", (ctx) => {
    const i = find(ctx.params.issue_number);
    return json(
      200,
      i.labels.map((n) => label(site, gh.ensureLabel(n))),
    );
  });

  router.add("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "installation", (ctx) => {
    const i = find(ctx.params.issue_number);
    const b = ctx.body;
    const names: string[] = (Array.isArray(b) ? b : (b.labels ?? [])).map((l: string | { name: string }) => (typeof l === "string" ? l : l.name));
    for (const n of names) gh.addLabel(i, n, bot());
    return json(
      200,
      i.labels.map((n) => label(site, gh.ensureLabel(n))),
    );
  });

  router.add("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "installation", (ctx) => {
    const i = find(ctx.params.issue_number);
    const name = ctx.params.name ?? "";
    if (!i.labels.includes(name)) throw new HttpError(404, "Label does not exist");
    gh.removeLabel(i, name, bot());
    return json(
      200,
      i.labels.map((n) => label(site, gh.ensureLabel(n))),
    );
  });

  // Pull requests.

  router.add("POST", "/repos/{owner}/{repo}/pulls", "installation", async (ctx) => {
    const b = ctx.body;
    if (b.issue !== undefined) throw unprocessable("Converting an issue into a pull request is not supported by the fake");
    checkBody(b.body);
    const head = String(b.head).replace(new RegExp(`^${site.owner}:`), "");
    if (head.includes(":")) throw unprocessable("Validation Failed", [{ resource: "PullRequest", field: "head", code: "invalid" }]);
    const headSha = await gh.git.resolveCommit(`refs/heads/${head}`);
    const baseSha = await gh.git.resolveCommit(`refs/heads/${b.base}`);
    if (!headSha) throw unprocessable("Validation Failed", [{ resource: "PullRequest", field: "head", code: "invalid" }]);
    if (!baseSha) throw unprocessable("Validation Failed", [{ resource: "PullRequest", field: "base", code: "invalid" }]);
    if (state.issues.some((i) => i.pull && i.state === "open" && i.pull.head === head && i.pull.base === b.base))
      throw unprocessable("Validation Failed", [
        { resource: "PullRequest", code: "custom", message: `A pull request already exists for ${site.owner}:${head}.` },
      ]);
    if (headSha === baseSha || (await gh.git.isAncestor(headSha, baseSha)))
      throw unprocessable("Validation Failed", [{ resource: "PullRequest", code: "custom", message: `No commits between ${b.base} and ${head}` }]);
    const i = gh.createPull({
      title: String(b.title ?? head),
      body: b.body ?? null,
      head,
      base: String(b.base),
      headSha,
      baseSha,
      draft: b.draft === true,
      maintainerCanModify: b.maintainer_can_modify !== false,
      by: bot(),
    });
    return json(201, pull(site, state, i, i.pull!), { location: `${site.api}/repos/${site.owner}/${site.repo}/pulls/${i.number}` });
  });

  const findPull = (n: string | undefined) => {
    const i = state.issues.find((x) => x.number === Number(n) && x.pull);
    if (!i?.pull) throw notFound();
    return i;
  };

  router.add("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "installation", (ctx) => {
    const i = findPull(ctx.params.pull_number);
    return json(200, pull(site, state, i, i.pull!));
  });

  router.add("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", "installation", async (ctx) => {
    const i = findPull(ctx.params.pull_number);
    checkBody(ctx.body.body);
    await gh.updatePull(i, ctx.body, bot());
    return json(200, pull(site, state, i, i.pull!));
  });

  router.add("GET", "/repos/{owner}/{repo}/pulls", "installation", (ctx) => {
    const st = ctx.query.get("state") ?? "open";
    const headFilter = ctx.query.get("head");
    const baseFilter = ctx.query.get("base");
    let head: string | null = null;
    if (headFilter !== null) {
      const m = /^([^:]+):(.+)$/.exec(headFilter);
      if (!m) {
        // GitHub ignores a head filter without `owner:`, and lists every pull request.
        gh.problem(
          "suspicious",
          ctx.method,
          ctx.path,
          `head=${headFilter} has no "owner:" prefix; GitHub ignores such a filter (use ${site.owner}:${headFilter})`,
        );
      } else head = m[1]?.toLowerCase() === site.owner.toLowerCase() ? (m[2] ?? null) : "\0no such owner";
    }
    const direction = ctx.query.get("direction") ?? "desc";
    let list = state.issues.filter(
      (i) => i.pull && (st === "all" || i.state === st) && (head === null || i.pull.head === head) && (baseFilter === null || i.pull.base === baseFilter),
    );
    list = [...list].sort((a, b) => (direction === "asc" ? a.number - b.number : b.number - a.number));
    const page = paginate(
      ctx,
      site.api,
      list.map((i) => pullSimple(site, state, i, i.pull!)),
    );
    return json(200, page.items, page.headers);
  });
}
