/**
 * What the fake GitHub holds besides git: issues and pull requests (one numbering, as on GitHub),
 * comments with their edits, reactions, labels, workflows, runs, jobs, artifacts, webhook
 * deliveries. Tests read it through `gh.state`; the fake is the only writer.
 */

/** A permission as the test sets it for a user; GitHub reports maintain as write and triage as read in `permission`. */
export type RepoPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface UserRecord {
  login: string;
  id: number;
  type: "User" | "Bot" | "Organization";
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface ReactionRecord {
  id: number;
  content: string;
  user: string;
  created_at: string;
}

/** An issue, or the issue half of a pull request (`pull` set): GitHub numbers both in one sequence. */
export interface IssueRecord {
  id: number;
  number: number;
  title: string;
  body: string | null;
  user: string;
  state: "open" | "closed";
  state_reason: "completed" | "not_planned" | "reopened" | "duplicate" | null;
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  closed_by: string | null;
  reactions: ReactionRecord[];
  /** Set when this number is a pull request. */
  pull?: PullRecord;
}

export interface CommentRecord {
  id: number;
  issue_number: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
  /** Earlier bodies, oldest first, with the time each was replaced. */
  edits: { body: string; replaced_at: string }[];
  reactions: ReactionRecord[];
  /** Whether the App made it (performed_via_github_app). */
  via_app: boolean;
}

export interface PullRecord {
  id: number;
  number: number;
  /** Branch names in this repository. */
  head: string;
  base: string;
  head_sha: string;
  base_sha: string;
  draft: boolean;
  maintainer_can_modify: boolean;
  merged: boolean;
  merged_at: string | null;
  merged_by: string | null;
  merge_commit_sha: string | null;
  /** Earlier titles and bodies, oldest first. */
  edits: { title: string; body: string | null; replaced_at: string }[];
}

export interface WorkflowRecord {
  id: number;
  name: string;
  /** `.github/workflows/<file>` */
  path: string;
  created_at: string;
  next_run_number: number;
}

export type RunStatus = "queued" | "pending" | "in_progress" | "completed";
export type RunConclusion = "success" | "failure" | "cancelled" | "timed_out" | null;

export interface JobRecord {
  id: number;
  run_id: number;
  name: string;
  seed: unknown;
  status: "queued" | "in_progress" | "completed";
  conclusion: "success" | "failure" | "cancelled" | null;
  started_at: string | null;
  completed_at: string | null;
  /** Which fake runner ran it (`fake-runner-<k>`). */
  runner: string | null;
  exit_code: number | null;
  /** Bounded ends of the Action's output. */
  stdout: string;
  stderr: string;
  /** The Action's GITHUB_OUTPUT values. */
  outputs: Record<string, string>;
  summary: string;
  /** Why the job failed outside the Action (checkout, an injected failure, a time-out). */
  failure: string | null;
  /** performance.now() at start and end, for utilization measurements. */
  t_start: number | null;
  t_end: number | null;
}

export interface RunRecord {
  id: number;
  workflow_id: number;
  run_number: number;
  run_attempt: number;
  display_title: string;
  head_branch: string;
  head_sha: string;
  event: "workflow_dispatch";
  status: RunStatus;
  conclusion: RunConclusion;
  /** The dispatch inputs with defaults applied (GitHub's API does not show them; tests may read them). */
  inputs: Record<string, string>;
  actor: string;
  created_at: string;
  updated_at: string;
  run_started_at: string;
  /** The concurrency group from the workflow, evaluated. */
  concurrency_group: string | null;
  /** performance.now() when it was dispatched; the listing hides it until `control.runAppearsAfterMs` passed. */
  t_created: number;
  jobs: JobRecord[];
  check_suite_id: number;
}

export interface ArtifactRecord {
  id: number;
  run_id: number;
  name: string;
  /** The uploaded zip (the artifact service stores what the client uploads). */
  zip: Buffer;
  finalized: boolean;
  created_at: string;
  digest: string;
}

/** One webhook the fake sent, dropped or held. */
export interface DeliveryRecord {
  /** X-GitHub-Delivery; a redelivery keeps the id. */
  guid: string;
  event: string;
  action: string | undefined;
  payload: Record<string, unknown>;
  /** What happened: sent (with the App's status), dropped by a knob, or failed to connect. */
  outcome: "sent" | "dropped" | "error" | "no-receiver";
  status: number | null;
  error: string | null;
  /** True for the second copy of a delivery sent twice. */
  redelivery: boolean;
  signature: "valid" | "bad" | "none";
  ms: number | null;
  at: string;
}

/** One REST request the fake answered. */
export interface CallRecord {
  method: string;
  /** The path as requested, query included, `/api/v3` stripped. */
  path: string;
  /** The description's template and operation id, when the request matched one. */
  template: string | null;
  operationId: string | null;
  status: number;
  /** `app` (JWT), `installation` (token), or `none`. */
  auth: "app" | "installation" | "none";
  ms: number;
}

/** Something that makes the fake or the App disagree with GitHub; tests assert none. */
export interface Problem {
  kind: "request" | "response" | "webhook" | "unknown-endpoint" | "auth" | "suspicious";
  method: string;
  path: string;
  message: string;
}

export interface FakeState {
  users: Map<string, UserRecord>;
  permissions: Map<string, RepoPermission>;
  labels: LabelRecord[];
  issues: IssueRecord[];
  comments: CommentRecord[];
  workflows: WorkflowRecord[];
  runs: RunRecord[];
  artifacts: ArtifactRecord[];
  deliveries: DeliveryRecord[];
  /** Installation tokens issued (value -> expiry ms). */
  tokens: Map<string, number>;
}

export function emptyState(): FakeState {
  return {
    users: new Map(),
    permissions: new Map(),
    labels: [],
    issues: [],
    comments: [],
    workflows: [],
    runs: [],
    artifacts: [],
    deliveries: [],
    tokens: new Map(),
  };
}
