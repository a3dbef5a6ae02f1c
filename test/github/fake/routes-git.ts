/**
 * Git Data endpoints over the real bare repository: blobs, trees, commits and refs, with GitHub's
 * answers to bad input (422 with GitHub's messages where known) and its fast-forward rule for
 * `PATCH git/refs` without `force`.
 */
import { GitInputError, type GitPerson, type TreeEdit } from "./git.js";
import { json, notFound, type Router, unprocessable } from "./http.js";
import type { FakeGitHub } from "./index.js";
import { gitCommit, githubBase64, gitRef, nodeId, now, treeEntry } from "./objects.js";

/** 422 for a GitInputError, else rethrow. */
async function input<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GitInputError) throw unprocessable(err.message);
    throw err;
  }
}

export function registerGitRoutes(router: Router, gh: FakeGitHub): void {
  const { site } = gh;
  // The port (and so the URL) is known only once the server listens.
  const repoUrl = () => `${site.api}/repos/${site.owner}/${site.repo}`;

  router.add("POST", "/repos/{owner}/{repo}/git/blobs", "installation", async (ctx) => {
    const encoding = ctx.body.encoding ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "utf8" && encoding !== "base64") throw unprocessable(`encoding must be "utf-8" or "base64"`);
    const data = encoding === "base64" ? Buffer.from(String(ctx.body.content), "base64") : Buffer.from(String(ctx.body.content), "utf8");
    const sha = await gh.git.writeBlob(data);
    return json(201, { url: `${repoUrl()}/git/blobs/${sha}`, sha });
  });

  router.add("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}", "installation", async (ctx) => {
    const sha = ctx.params.file_sha ?? "";
    const data = await gh.git.readBlob(sha);
    if (!data) throw notFound();
    return json(200, {
      sha,
      node_id: nodeId("Blob", Number.parseInt(sha.slice(0, 8), 16)),
      size: data.length,
      url: `${repoUrl()}/git/blobs/${sha}`,
      content: githubBase64(data),
      encoding: "base64",
    });
  });

  router.add("POST", "/repos/{owner}/{repo}/git/trees", "installation", async (ctx) => {
    const base: string | undefined = ctx.body.base_tree;
    if (base !== undefined && (await gh.git.typeOf(base)) !== "tree") throw unprocessable("base_tree is not a valid tree oid");
    const edits = (ctx.body.tree as TreeEdit[]).map((e) => ({ ...e }));
    for (const e of edits) {
      if (e.sha !== undefined && e.content !== undefined)
        throw unprocessable("Must supply either tree.sha or tree.content. Request will be rejected if both are present.");
      if (e.sha === undefined && e.content === undefined) throw unprocessable("Must supply either tree.sha or tree.content");
    }
    const sha = await input(() => gh.git.writeTree(base ?? null, edits));
    const entries = await gh.git.lsTree(sha, false);
    return json(201, { sha, url: `${repoUrl()}/git/trees/${sha}`, tree: entries.map((e) => treeEntry(site, e)), truncated: false });
  });

  router.add("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}", "installation", async (ctx) => {
    const tree = await gh.git.resolveTree(ctx.params.tree_sha ?? "");
    if (!tree) throw notFound();
    const recursive = ctx.query.has("recursive");
    const entries = await gh.git.lsTree(tree, recursive);
    return json(200, { sha: tree, url: `${repoUrl()}/git/trees/${tree}`, tree: entries.map((e) => treeEntry(site, e)), truncated: false });
  });

  router.add("POST", "/repos/{owner}/{repo}/git/commits", "installation", async (ctx) => {
    const b = ctx.body;
    if ((await gh.git.typeOf(b.tree)) !== "tree") throw unprocessable("Tree SHA does not exist");
    const parents: string[] = b.parents ?? [];
    for (const p of parents) if ((await gh.git.typeOf(p)) !== "commit") throw unprocessable("Parent SHA does not exist or is not a commit object");
    const date = now();
    // Without an author GitHub uses the authenticated identity (here the App's bot); without a committer, the author.
    const bot = gh.botIdentity();
    const author: GitPerson = b.author ? { name: b.author.name, email: b.author.email, date: b.author.date ?? date } : { ...bot, date };
    const committer: GitPerson = b.committer ? { name: b.committer.name, email: b.committer.email, date: b.committer.date ?? author.date } : author;
    const sha = await input(() => gh.git.writeCommit({ tree: b.tree, parents, author, committer, message: b.message, signature: b.signature }));
    const c = await gh.git.readCommit(sha);
    if (!c) throw new Error(`commit ${sha} was not written`);
    return json(201, gitCommit(site, c));
  });

  router.add("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}", "installation", async (ctx) => {
    const c = await gh.git.readCommit(ctx.params.commit_sha ?? "");
    if (!c) throw notFound();
    return json(200, gitCommit(site, c));
  });

  const fullRef = (ref: string) => (ref.startsWith("refs/") ? ref : `refs/${ref}`);

  router.add("GET", "/repos/{owner}/{repo}/git/ref/{ref}", "installation", async (ctx) => {
    const ref = fullRef(ctx.params.ref ?? "");
    const found = (await gh.git.refs(ref)).find((r) => r.ref === ref);
    if (!found) throw notFound();
    return json(200, gitRef(site, found.ref, found.sha, found.type));
  });

  router.add("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}", "installation", async (ctx) => {
    const prefix = fullRef(ctx.params.ref ?? "");
    const refs = await gh.git.refs(prefix);
    return json(
      200,
      refs.map((r) => gitRef(site, r.ref, r.sha, r.type)),
    );
  });

  router.add("POST", "/repos/{owner}/{repo}/git/refs", "installation", async (ctx) => {
    const ref: string = ctx.body.ref;
    const sha: string = ctx.body.sha;
    if (!ref.startsWith("refs/") || ref.split("/").length < 3) throw unprocessable("Reference name must start with 'refs/' and have at least two slashes.");
    if (
      !(await gh.git.git(["check-ref-format", ref]).then(
        () => true,
        () => false,
      ))
    )
      throw unprocessable(`${ref} is not a valid ref name.`);
    const type = await gh.git.typeOf(sha);
    if (!type) throw unprocessable("Object does not exist");
    await gh.git.updateRef(ref, sha, async (current) => {
      if (current) throw unprocessable("Reference already exists");
    });
    await gh.refChanged(ref, null, sha);
    return json(201, gitRef(site, ref, sha, type), { location: `${repoUrl()}/git/${ref}` });
  });

  router.add("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", "installation", async (ctx) => {
    const ref = fullRef(ctx.params.ref ?? "");
    const sha: string = ctx.body.sha;
    const force = ctx.body.force === true;
    const type = await gh.git.typeOf(sha);
    if (!type) throw unprocessable("Object does not exist");
    const before = await gh.git.updateRef(ref, sha, async (current) => {
      if (!current) throw unprocessable("Reference does not exist");
      if (!force && !(type === "commit" && (await gh.git.isAncestor(current, sha)))) throw unprocessable("Update is not a fast forward");
    });
    await gh.refChanged(ref, before, sha);
    return json(200, gitRef(site, ref, sha, type));
  });

  router.add("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", "installation", async (ctx) => {
    const ref = fullRef(ctx.params.ref ?? "");
    if (ref === `refs/heads/${site.defaultBranch}`) throw unprocessable("Cannot delete the default branch");
    const before = await gh.git.updateRef(ref, null, async (current) => {
      if (!current) throw unprocessable("Reference does not exist");
    });
    await gh.refChanged(ref, before, null);
    return json(204);
  });
}
