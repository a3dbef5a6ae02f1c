/**
 * The objects the fake answers with and puts in webhook payloads, in GitHub's shapes: users,
 * repositories, issues, comments, pull requests, workflows, runs, artifacts, git objects. Field
 * lists follow GitHub's REST description and the webhook examples; the fake checks every object
 * it sends against the description (openapi.ts), so a field missing here, or one GitHub does not
 * have, fails the test that made it.
 */
import type { GitCommitObject } from "./git.js";
import type {
  CommentRecord,
  FakeState,
  IssueRecord,
  JobRecord,
  LabelRecord,
  PullRecord,
  ReactionRecord,
  RunRecord,
  UserRecord,
  WorkflowRecord,
} from "./state.js";

// biome-ignore lint/suspicious/noExplicitAny: GitHub's objects are wide JSON
export type Obj = Record<string, any>;

/** Where the fake lives and what it serves: one repository of one owner, one App installation. */
export interface Site {
  host: string;
  /** `http://<host>/api/v3` */
  api: string;
  /** `http://<host>` */
  web: string;
  owner: string;
  ownerType: "Organization" | "User";
  repo: string;
  repoId: number;
  private: boolean;
  defaultBranch: string;
  appId: number;
  appSlug: string;
  installationId: number;
  /** When the repository (and installation) were created. */
  createdAt: string;
}

export function nodeId(kind: string, id: number): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString("base64");
}

export function now(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The user record for a login, made on first sight (ids are stable within one fake). */
export function userRecord(state: FakeState, login: string, type?: UserRecord["type"]): UserRecord {
  let u = state.users.get(login);
  if (!u) {
    u = { login, id: 1000 + state.users.size * 17, type: type ?? (login.endsWith("[bot]") ? "Bot" : "User") };
    state.users.set(login, u);
  }
  return u;
}

/** simple-user (and the webhook `user`). */
export function user(site: Site, state: FakeState, login: string): Obj {
  const u = userRecord(state, login);
  const api = `${site.api}/users/${encodeURIComponent(login)}`;
  return {
    login: u.login,
    id: u.id,
    node_id: nodeId(u.type === "Bot" ? "Bot" : u.type === "Organization" ? "Organization" : "User", u.id),
    avatar_url: `${site.web}/avatars/u/${u.id}?v=4`,
    gravatar_id: "",
    url: api,
    html_url: u.type === "Bot" ? `${site.web}/apps/${login.replace(/\[bot\]$/, "")}` : `${site.web}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: u.type,
    user_view_type: "public",
    site_admin: false,
  };
}

export function botLogin(site: Site): string {
  return `${site.appSlug}[bot]`;
}

/** The fields every repository shape has: names, ids, owner and the URL templates. */
function repositoryCore(site: Site, state: FakeState): Obj {
  const full = `${site.owner}/${site.repo}`;
  const r = `${site.api}/repos/${full}`;
  return {
    id: site.repoId,
    node_id: nodeId("Repository", site.repoId),
    name: site.repo,
    full_name: full,
    private: site.private,
    owner: user(site, state, site.owner),
    html_url: `${site.web}/${full}`,
    description: "A repository served by the fake GitHub",
    fork: false,
    url: r,
    archive_url: `${r}/{archive_format}{/ref}`,
    assignees_url: `${r}/assignees{/user}`,
    blobs_url: `${r}/git/blobs{/sha}`,
    branches_url: `${r}/branches{/branch}`,
    collaborators_url: `${r}/collaborators{/collaborator}`,
    comments_url: `${r}/comments{/number}`,
    commits_url: `${r}/commits{/sha}`,
    compare_url: `${r}/compare/{base}...{head}`,
    contents_url: `${r}/contents/{+path}`,
    contributors_url: `${r}/contributors`,
    deployments_url: `${r}/deployments`,
    downloads_url: `${r}/downloads`,
    events_url: `${r}/events`,
    forks_url: `${r}/forks`,
    git_commits_url: `${r}/git/commits{/sha}`,
    git_refs_url: `${r}/git/refs{/sha}`,
    git_tags_url: `${r}/git/tags{/sha}`,
    hooks_url: `${r}/hooks`,
    issue_comment_url: `${r}/issues/comments{/number}`,
    issue_events_url: `${r}/issues/events{/number}`,
    issues_url: `${r}/issues{/number}`,
    keys_url: `${r}/keys{/key_id}`,
    labels_url: `${r}/labels{/name}`,
    languages_url: `${r}/languages`,
    merges_url: `${r}/merges`,
    milestones_url: `${r}/milestones{/number}`,
    notifications_url: `${r}/notifications{?since,all,participating}`,
    pulls_url: `${r}/pulls{/number}`,
    releases_url: `${r}/releases{/id}`,
    stargazers_url: `${r}/stargazers`,
    statuses_url: `${r}/statuses/{sha}`,
    subscribers_url: `${r}/subscribers`,
    subscription_url: `${r}/subscription`,
    tags_url: `${r}/tags`,
    teams_url: `${r}/teams`,
    trees_url: `${r}/git/trees{/sha}`,
  };
}

/** The fields of full-repository and the webhook `repository` beyond the core. */
function repositoryDetails(site: Site, state: FakeState): Obj {
  const full = `${site.owner}/${site.repo}`;
  const open = state.issues.filter((i) => i.state === "open").length;
  return {
    clone_url: `${site.web}/${full}.git`,
    git_url: `git://${site.host}/${full}.git`,
    ssh_url: `git@${site.host}:${full}.git`,
    svn_url: `${site.web}/${full}`,
    mirror_url: null,
    homepage: null,
    language: "JavaScript",
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    size: 1,
    default_branch: site.defaultBranch,
    open_issues: open,
    open_issues_count: open,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: site.private ? "private" : "public",
    pushed_at: site.createdAt,
    created_at: site.createdAt,
    updated_at: site.createdAt,
    allow_forking: true,
    web_commit_signoff_required: false,
    license: null,
  };
}

/** full-repository (`GET /repos/{owner}/{repo}`). */
export function fullRepository(site: Site, state: FakeState): Obj {
  return {
    ...repositoryCore(site, state),
    ...repositoryDetails(site, state),
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    network_count: 0,
    subscribers_count: 0,
    ...(site.ownerType === "Organization" ? { organization: user(site, state, site.owner) } : {}),
  };
}

/** minimal-repository (in workflow runs and the installation's repository list). */
export function minimalRepository(site: Site, state: FakeState): Obj {
  return repositoryCore(site, state);
}

/** The webhook `repository`. */
export function webhookRepository(site: Site, state: FakeState): Obj {
  return { ...repositoryCore(site, state), ...repositoryDetails(site, state) };
}

/** repository (the older shape, in pull request heads and bases and the installation token). */
export function repository(site: Site, state: FakeState): Obj {
  return { ...repositoryCore(site, state), ...repositoryDetails(site, state) };
}

/** The webhook `organization` (organization-simple). */
export function organization(site: Site, state: FakeState): Obj {
  const u = userRecord(state, site.owner, "Organization");
  const o = `${site.api}/orgs/${site.owner}`;
  return {
    login: site.owner,
    id: u.id,
    node_id: nodeId("Organization", u.id),
    url: o,
    repos_url: `${o}/repos`,
    events_url: `${o}/events`,
    hooks_url: `${o}/hooks`,
    issues_url: `${o}/issues`,
    members_url: `${o}/members{/member}`,
    public_members_url: `${o}/public_members{/member}`,
    avatar_url: `${site.web}/avatars/u/${u.id}?v=4`,
    description: null,
  };
}

/** What the App may do, as its installation was granted (the manifest in app.yml asks for these). */
export const INSTALLATION_PERMISSIONS = { actions: "write", checks: "write", contents: "write", issues: "write", metadata: "read", pull_requests: "write" };
export const INSTALLATION_EVENTS = ["issues", "issue_comment", "pull_request", "repository_dispatch", "workflow_run"];

/** installation (`GET /app/installations`). */
export function installation(site: Site, state: FakeState): Obj {
  return {
    id: site.installationId,
    client_id: `Iv1.${site.appId.toString(16).padStart(16, "0")}`,
    account: user(site, state, site.owner),
    repository_selection: "selected",
    access_tokens_url: `${site.api}/app/installations/${site.installationId}/access_tokens`,
    repositories_url: `${site.api}/installation/repositories`,
    html_url: `${site.web}/${site.ownerType === "Organization" ? `organizations/${site.owner}/` : ""}settings/installations/${site.installationId}`,
    app_id: site.appId,
    app_slug: site.appSlug,
    target_id: userRecord(state, site.owner).id,
    target_type: site.ownerType,
    permissions: INSTALLATION_PERMISSIONS,
    events: INSTALLATION_EVENTS,
    created_at: site.createdAt,
    updated_at: site.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

/** integration (`GET /app`). */
export function integration(site: Site, state: FakeState): Obj {
  return {
    id: site.appId,
    slug: site.appSlug,
    client_id: `Iv1.${site.appId.toString(16).padStart(16, "0")}`,
    node_id: nodeId("Integration", site.appId),
    owner: user(site, state, site.owner),
    name: site.appSlug,
    description: "The App under test",
    external_url: `${site.web}/apps/${site.appSlug}`,
    html_url: `${site.web}/apps/${site.appSlug}`,
    created_at: site.createdAt,
    updated_at: site.createdAt,
    permissions: INSTALLATION_PERMISSIONS,
    events: INSTALLATION_EVENTS,
    installations_count: 1,
  };
}

export function label(site: Site, l: LabelRecord): Obj {
  return {
    id: l.id,
    node_id: nodeId("Label", l.id),
    url: `${site.api}/repos/${site.owner}/${site.repo}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: false,
    description: l.description,
  };
}

function reactionRollup(url: string, reactions: ReactionRecord[]): Obj {
  const count = (c: string) => reactions.filter((r) => r.content === c).length;
  return {
    url,
    total_count: reactions.length,
    "+1": count("+1"),
    "-1": count("-1"),
    laugh: count("laugh"),
    hooray: count("hooray"),
    confused: count("confused"),
    heart: count("heart"),
    rocket: count("rocket"),
    eyes: count("eyes"),
  };
}

export function reaction(site: Site, state: FakeState, r: ReactionRecord): Obj {
  return { id: r.id, node_id: nodeId("Reaction", r.id), user: user(site, state, r.user), content: r.content, created_at: r.created_at };
}

/** How GitHub describes a user's relation to the repository in `author_association`. */
export function authorAssociation(site: Site, state: FakeState, login: string): string {
  if (login === site.owner) return "OWNER";
  if (login.endsWith("[bot]")) return "NONE";
  const p = state.permissions.get(login);
  return p && p !== "none" && p !== "read" ? "COLLABORATOR" : "NONE";
}

/** issue (REST); `webhook` drops what the webhook `issue` does not carry. */
export function issue(site: Site, state: FakeState, i: IssueRecord): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const url = `${r}/issues/${i.number}`;
  const o: Obj = {
    id: i.id,
    node_id: nodeId("Issue", i.id),
    url,
    repository_url: r,
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: `${site.web}/${site.owner}/${site.repo}/${i.pull ? "pull" : "issues"}/${i.number}`,
    number: i.number,
    state: i.state,
    state_reason: i.state_reason,
    title: i.title,
    body: i.body,
    user: user(site, state, i.user),
    labels: i.labels.map((n) => label(site, state.labels.find((l) => l.name === n) ?? { id: 0, name: n, color: "ededed", description: null })),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: state.comments.filter((c) => c.issue_number === i.number).length,
    closed_at: i.closed_at,
    created_at: i.created_at,
    updated_at: i.updated_at,
    author_association: authorAssociation(site, state, i.user),
    reactions: reactionRollup(`${url}/reactions`, i.reactions),
    timeline_url: `${url}/timeline`,
    performed_via_github_app: null,
  };
  if (i.pull) {
    const p = `${r}/pulls/${i.number}`;
    o.draft = i.pull.draft;
    o.pull_request = {
      url: p,
      html_url: `${site.web}/${site.owner}/${site.repo}/pull/${i.number}`,
      diff_url: `${site.web}/${site.owner}/${site.repo}/pull/${i.number}.diff`,
      patch_url: `${site.web}/${site.owner}/${site.repo}/pull/${i.number}.patch`,
      merged_at: i.pull.merged_at,
    };
  }
  return o;
}

/** issue-comment. */
export function comment(site: Site, state: FakeState, c: CommentRecord): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const i = state.issues.find((x) => x.number === c.issue_number);
  return {
    id: c.id,
    node_id: nodeId("IssueComment", c.id),
    url: `${r}/issues/comments/${c.id}`,
    html_url: `${site.web}/${site.owner}/${site.repo}/${i?.pull ? "pull" : "issues"}/${c.issue_number}#issuecomment-${c.id}`,
    body: c.body,
    user: user(site, state, c.user),
    created_at: c.created_at,
    updated_at: c.updated_at,
    issue_url: `${r}/issues/${c.issue_number}`,
    author_association: authorAssociation(site, state, c.user),
    performed_via_github_app: c.via_app ? integration(site, state) : null,
    reactions: reactionRollup(`${r}/issues/comments/${c.id}/reactions`, c.reactions),
  };
}

/** pull-request (REST; the webhook `pull_request` is the same shape). */
export function pull(site: Site, state: FakeState, i: IssueRecord, p: PullRecord): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const url = `${r}/pulls/${p.number}`;
  const html = `${site.web}/${site.owner}/${site.repo}/pull/${p.number}`;
  const ref = (branch: string, sha: string) => ({
    label: `${site.owner}:${branch}`,
    ref: branch,
    sha,
    user: user(site, state, site.owner),
    repo: repository(site, state),
  });
  return {
    url,
    id: p.id,
    node_id: nodeId("PullRequest", p.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${r}/issues/${p.number}`,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${r}/pulls/comments{/number}`,
    comments_url: `${r}/issues/${p.number}/comments`,
    statuses_url: `${r}/statuses/${p.head_sha}`,
    number: p.number,
    state: i.state,
    locked: false,
    title: i.title,
    user: user(site, state, i.user),
    body: i.body,
    labels: i.labels.map((n) => label(site, state.labels.find((l) => l.name === n) ?? { id: 0, name: n, color: "ededed", description: null })),
    milestone: null,
    active_lock_reason: null,
    created_at: i.created_at,
    updated_at: i.updated_at,
    closed_at: i.closed_at,
    merged_at: p.merged_at,
    merge_commit_sha: p.merge_commit_sha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: ref(p.head, p.head_sha),
    base: ref(p.base, p.base_sha),
    _links: {
      self: { href: url },
      html: { href: html },
      issue: { href: `${r}/issues/${p.number}` },
      comments: { href: `${r}/issues/${p.number}/comments` },
      review_comments: { href: `${url}/comments` },
      review_comment: { href: `${r}/pulls/comments{/number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: `${r}/statuses/${p.head_sha}` },
    },
    author_association: authorAssociation(site, state, i.user),
    auto_merge: null,
    draft: p.draft,
    merged: p.merged,
    mergeable: null,
    rebaseable: null,
    mergeable_state: "unknown",
    merged_by: p.merged_by ? user(site, state, p.merged_by) : null,
    comments: state.comments.filter((c) => c.issue_number === p.number).length,
    review_comments: 0,
    maintainer_can_modify: p.maintainer_can_modify,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}

export function workflow(site: Site, w: WorkflowRecord): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  return {
    id: w.id,
    node_id: nodeId("Workflow", w.id),
    name: w.name,
    path: w.path,
    state: "active",
    created_at: w.created_at,
    updated_at: w.created_at,
    url: `${r}/actions/workflows/${w.id}`,
    html_url: `${site.web}/${site.owner}/${site.repo}/blob/${site.defaultBranch}/${w.path}`,
    badge_url: `${site.web}/${site.owner}/${site.repo}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
  };
}

/** simple-commit: the run's `head_commit`. */
export function simpleCommit(c: GitCommitObject): Obj {
  return {
    id: c.sha,
    tree_id: c.tree,
    message: c.message,
    timestamp: c.committer.date,
    author: { name: c.author.name, email: c.author.email },
    committer: { name: c.committer.name, email: c.committer.email },
  };
}

/** workflow-run (REST); the webhook's `workflow_run` is built from it (webhooks.ts). */
export function workflowRun(site: Site, state: FakeState, run: RunRecord, headCommit: GitCommitObject | null): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const w = state.workflows.find((x) => x.id === run.workflow_id);
  const u = `${r}/actions/runs/${run.id}`;
  return {
    id: run.id,
    name: w?.name ?? "",
    node_id: nodeId("WorkflowRun", run.id),
    check_suite_id: run.check_suite_id,
    check_suite_node_id: nodeId("CheckSuite", run.check_suite_id),
    head_branch: run.head_branch,
    head_sha: run.head_sha,
    path: `${w?.path ?? ""}@${run.head_branch}`,
    run_number: run.run_number,
    event: run.event,
    display_title: run.display_title,
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: run.workflow_id,
    url: u,
    html_url: `${site.web}/${site.owner}/${site.repo}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.created_at,
    updated_at: run.updated_at,
    actor: user(site, state, run.actor),
    run_attempt: run.run_attempt,
    referenced_workflows: [],
    run_started_at: run.run_started_at,
    triggering_actor: user(site, state, run.actor),
    jobs_url: `${u}/jobs`,
    logs_url: `${u}/logs`,
    check_suite_url: `${r}/check-suites/${run.check_suite_id}`,
    artifacts_url: `${u}/artifacts`,
    cancel_url: `${u}/cancel`,
    rerun_url: `${u}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${r}/actions/workflows/${run.workflow_id}`,
    head_commit: headCommit ? simpleCommit(headCommit) : null,
    repository: minimalRepository(site, state),
    head_repository: minimalRepository(site, state),
    head_repository_id: site.repoId,
  };
}

/** job (`GET .../actions/runs/{run_id}/jobs`). */
export function job(site: Site, state: FakeState, run: RunRecord, j: JobRecord): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const w = state.workflows.find((x) => x.id === run.workflow_id);
  return {
    id: j.id,
    run_id: run.id,
    run_url: `${r}/actions/runs/${run.id}`,
    run_attempt: run.run_attempt,
    node_id: nodeId("CheckRun", j.id),
    head_sha: run.head_sha,
    url: `${r}/actions/jobs/${j.id}`,
    html_url: `${site.web}/${site.owner}/${site.repo}/actions/runs/${run.id}/job/${j.id}`,
    status: j.status,
    conclusion: j.conclusion,
    created_at: run.created_at,
    started_at: j.started_at ?? run.created_at,
    completed_at: j.completed_at,
    name: j.name,
    steps: [],
    check_run_url: `${r}/check-runs/${j.id}`,
    labels: ["ubuntu-latest"],
    runner_id: j.runner ? Number(j.runner.replace(/\D/g, "")) || 1 : null,
    runner_name: j.runner,
    runner_group_id: j.runner ? 1 : null,
    runner_group_name: j.runner ? "Default" : null,
    workflow_name: w?.name ?? null,
    head_branch: run.head_branch,
  };
}

/** artifact. Artifacts expire after 90 days on GitHub; the fake never expires them. */
export function artifact(site: Site, a: import("./state.js").ArtifactRecord, run: RunRecord): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const expires = new Date(Date.parse(a.created_at) + 90 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    id: a.id,
    node_id: nodeId("Artifact", a.id),
    name: a.name,
    size_in_bytes: a.zip.length,
    url: `${r}/actions/artifacts/${a.id}`,
    archive_download_url: `${r}/actions/artifacts/${a.id}/zip`,
    expired: false,
    created_at: a.created_at,
    updated_at: a.created_at,
    expires_at: expires,
    digest: a.digest,
    workflow_run: { id: run.id, repository_id: site.repoId, head_repository_id: site.repoId, head_branch: run.head_branch, head_sha: run.head_sha },
  };
}

export function gitRef(site: Site, ref: string, sha: string, type: string): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  return {
    ref,
    node_id: nodeId(
      "Ref",
      [...ref].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7),
    ),
    url: `${r}/git/${ref}`,
    object: { type, sha, url: `${r}/git/${type === "tag" ? "tags" : type === "tree" ? "trees" : type === "blob" ? "blobs" : "commits"}/${sha}` },
  };
}

/** git-commit (Git Data). The fake never signs: `verification` says unsigned. */
export function gitCommit(site: Site, c: GitCommitObject): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  return {
    sha: c.sha,
    node_id: nodeId("Commit", Number.parseInt(c.sha.slice(0, 8), 16)),
    url: `${r}/git/commits/${c.sha}`,
    html_url: `${site.web}/${site.owner}/${site.repo}/commit/${c.sha}`,
    author: c.author,
    committer: c.committer,
    tree: { sha: c.tree, url: `${r}/git/trees/${c.tree}` },
    message: c.message,
    parents: c.parents.map((p) => ({ sha: p, url: `${r}/git/commits/${p}`, html_url: `${site.web}/${site.owner}/${site.repo}/commit/${p}` })),
    verification: c.signature
      ? { verified: false, reason: "unknown_key", signature: c.signature, payload: null, verified_at: null }
      : { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
  };
}

/** commit (`compare`'s commits): the Git Data commit wrapped the way the Repos API shows it. */
export function repoCommit(site: Site, state: FakeState, c: GitCommitObject): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const g = gitCommit(site, c);
  return {
    url: `${r}/commits/${c.sha}`,
    sha: c.sha,
    node_id: g.node_id,
    html_url: g.html_url,
    comments_url: `${r}/commits/${c.sha}/comments`,
    commit: {
      url: g.url,
      author: c.author,
      committer: c.committer,
      message: c.message,
      comment_count: 0,
      tree: g.tree,
      verification: g.verification,
    },
    author: state.users.has(c.author.name) ? user(site, state, c.author.name) : null,
    committer: state.users.has(c.committer.name) ? user(site, state, c.committer.name) : null,
    parents: g.parents,
  };
}

export function treeEntry(site: Site, e: import("./git.js").GitTreeEntry): Obj {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const o: Obj = { path: e.path, mode: e.mode, type: e.type, sha: e.sha };
  if (e.type === "blob") {
    o.size = e.size;
    o.url = `${r}/git/blobs/${e.sha}`;
  } else if (e.type === "tree") o.url = `${r}/git/trees/${e.sha}`;
  return o;
}

/** Base64 the way GitHub sends file contents: wrapped at 60 characters, a newline after each line. */
export function githubBase64(data: Buffer): string {
  const b64 = data.toString("base64");
  return b64.replace(/(.{60})/g, "$1\n") + (b64.length % 60 === 0 && b64.length > 0 ? "" : "\n");
}

/** pull-request-simple (`GET /pulls` lists these): the pull request without merge state and counts. */
export function pullSimple(site: Site, state: FakeState, i: IssueRecord, p: PullRecord): Obj {
  const {
    merged: _merged,
    mergeable: _mergeable,
    rebaseable: _rebaseable,
    mergeable_state: _state,
    merged_by: _by,
    comments: _comments,
    review_comments: _reviewComments,
    maintainer_can_modify: _modify,
    commits: _commits,
    additions: _additions,
    deletions: _deletions,
    changed_files: _files,
    ...simple
  } = pull(site, state, i, p);
  return simple;
}
