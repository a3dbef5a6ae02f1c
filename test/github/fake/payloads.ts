/**
 * Webhook payloads in GitHub's shapes (the description's `x-webhooks`, as in
 * `@octokit/webhooks-examples`): every payload has `repository`, `sender`, `installation`
 * (`{ id, node_id }`, which Probot needs to authenticate) and, for an organization's repository,
 * `organization`.
 */
import type { GitCommitObject } from "./git.js";
import {
  comment,
  installation,
  issue,
  label,
  minimalRepository,
  nodeId,
  type Obj,
  organization,
  pull,
  type Site,
  simpleCommit,
  user,
  webhookRepository,
  workflow,
  workflowRun,
} from "./objects.js";
import type { CommentRecord, FakeState, IssueRecord, LabelRecord, RunRecord, WorkflowRecord } from "./state.js";

function envelope(site: Site, state: FakeState, sender: string): Obj {
  return {
    repository: webhookRepository(site, state),
    sender: user(site, state, sender),
    installation: { id: site.installationId, node_id: nodeId("Installation", site.installationId) },
    ...(site.ownerType === "Organization" ? { organization: organization(site, state) } : {}),
  };
}

/** `issues` (opened, closed, reopened, edited, labeled, unlabeled). */
export function issuesPayload(
  site: Site,
  state: FakeState,
  action: string,
  i: IssueRecord,
  sender: string,
  extra: { label?: LabelRecord; changes?: Obj } = {},
): Obj {
  return {
    action,
    issue: issue(site, state, i),
    ...(extra.label ? { label: label(site, extra.label) } : {}),
    ...(extra.changes ? { changes: extra.changes } : {}),
    ...envelope(site, state, sender),
  };
}

/** `issue_comment` (created, edited, deleted); `issue` is the issue or the pull request's issue. */
export function issueCommentPayload(site: Site, state: FakeState, action: string, c: CommentRecord, sender: string, changes?: Obj): Obj {
  const i = state.issues.find((x) => x.number === c.issue_number);
  if (!i) throw new Error(`no issue ${c.issue_number}`);
  return {
    action,
    issue: issue(site, state, i),
    comment: comment(site, state, c),
    ...(changes ? { changes } : {}),
    ...envelope(site, state, sender),
  };
}

/** `pull_request` (opened, edited, closed, reopened, synchronize). */
export function pullRequestPayload(
  site: Site,
  state: FakeState,
  action: string,
  i: IssueRecord,
  sender: string,
  extra: { before?: string; after?: string; changes?: Obj } = {},
): Obj {
  if (!i.pull) throw new Error(`#${i.number} is not a pull request`);
  return {
    action,
    number: i.number,
    pull_request: pull(site, state, i, i.pull),
    ...(extra.before ? { before: extra.before, after: extra.after } : {}),
    ...(extra.changes ? { changes: extra.changes } : {}),
    ...envelope(site, state, sender),
  };
}

/** `workflow_run` (requested, in_progress, completed). */
export function workflowRunPayload(site: Site, state: FakeState, action: string, run: RunRecord, w: WorkflowRecord, head: GitCommitObject | null): Obj {
  const r = workflowRun(site, state, run, head);
  // The webhook's head_commit carries dates and people like the REST one; its repositories are the minimal shape.
  r.head_commit = head ? simpleCommit(head) : null;
  r.repository = minimalRepository(site, state);
  r.head_repository = minimalRepository(site, state);
  return {
    action,
    workflow_run: r,
    workflow: workflow(site, w),
    ...envelope(site, state, run.actor),
  };
}

/** `repository_dispatch`: `action` is the sender's event_type, `branch` the default branch. */
export function repositoryDispatchPayload(site: Site, state: FakeState, eventType: string, clientPayload: Obj, sender: string): Obj {
  return {
    action: eventType,
    branch: site.defaultBranch,
    client_payload: clientPayload,
    ...envelope(site, state, sender),
  };
}

/** `installation.created` for this repository. */
export function installationPayload(site: Site, state: FakeState, action: string, sender: string): Obj {
  const e = envelope(site, state, sender);
  return {
    action,
    installation: installation(site, state),
    repositories: [
      { id: site.repoId, node_id: nodeId("Repository", site.repoId), name: site.repo, full_name: `${site.owner}/${site.repo}`, private: site.private },
    ],
    requester: null,
    sender: e.sender,
    ...(e.organization ? { organization: e.organization } : {}),
  };
}
