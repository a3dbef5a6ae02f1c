/**
 * What the App checks before it acts: who may command it (write access or more, never a bot), the
 * configuration as committed on the default branch (never a fork's or a pull request's), the limits
 * the App's operator sets, and the issue text the proposer gets (as data, sanitized and bounded).
 */
import picomatch from "picomatch";
import { CONFIG_PATH, type Config, parseConfigText } from "../core/config.js";
import { ConfigError } from "../errors.js";
import { apiError, type GitHubClient, type RepoRef, statusOf } from "./client.js";

/** Limits the App's operator sets through the environment (see docs/app.md). */
export interface OperatorLimits {
  /** AUTORESEARCH_MAX_COST_USD: the largest budget.max_cost_usd a repository may ask for. */
  maxCostUsd?: number;
  /** AUTORESEARCH_MAX_PARALLEL: the largest budget.parallel. */
  maxParallel?: number;
  /** AUTORESEARCH_ALLOWED_REPOS: globs of `owner/repo` the App works on (`octo-org/*`); absent: all. */
  allowedRepos?: string[];
}

/** Reads the operator's limits; a malformed one is a ConfigError naming the variable. */
export function operatorLimits(env: Record<string, string | undefined>): OperatorLimits {
  const out: OperatorLimits = {};
  const num = (name: string, integer: boolean): number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
      throw new ConfigError(`${name} must be a ${integer ? "whole " : ""}number, not ${JSON.stringify(raw)}`);
    return n;
  };
  const cost = num("AUTORESEARCH_MAX_COST_USD", false);
  if (cost !== undefined) out.maxCostUsd = cost;
  const parallel = num("AUTORESEARCH_MAX_PARALLEL", true);
  if (parallel !== undefined) out.maxParallel = parallel;
  const repos = env.AUTORESEARCH_ALLOWED_REPOS?.split(/[\s,]+/).filter((r) => r !== "");
  if (repos?.length) out.allowedRepos = repos;
  return out;
}

/** Why the operator's limits refuse this repository or configuration (one line each), or []. */
export function limitProblems(limits: OperatorLimits, where: RepoRef, config?: Config): string[] {
  const problems: string[] = [];
  const full = `${where.owner}/${where.repo}`;
  if (limits.allowedRepos && !picomatch.isMatch(full, limits.allowedRepos, { nocase: true }))
    problems.push(`this App is not enabled for ${full} by its operator (AUTORESEARCH_ALLOWED_REPOS)`);
  if (config && limits.maxCostUsd !== undefined && config.budget.max_cost_usd > limits.maxCostUsd)
    problems.push(`budget.max_cost_usd: ${config.budget.max_cost_usd} is above this App's limit of ${limits.maxCostUsd} (AUTORESEARCH_MAX_COST_USD)`);
  if (config && limits.maxParallel !== undefined && config.budget.parallel > limits.maxParallel)
    problems.push(`budget.parallel: ${config.budget.parallel} is above this App's limit of ${limits.maxParallel} (AUTORESEARCH_MAX_PARALLEL)`);
  return problems;
}

/** Permissions that may command a campaign. */
const COMMANDERS = new Set(["admin", "maintain", "write"]);

/** Whether `login` has write access or more to the repository. */
export async function mayCommand(gh: GitHubClient, where: RepoRef, login: string): Promise<boolean> {
  try {
    const r = await gh.rest.repos.getCollaboratorPermissionLevel({ ...where, username: login });
    return COMMANDERS.has(r.data.role_name) || COMMANDERS.has(r.data.permission);
  } catch (err) {
    // Not a collaborator at all.
    if (statusOf(err) === 404) return false;
    throw apiError(`read the permission of ${login}`, err);
  }
}

/** True for senders the App never takes commands from: bots, the App itself included. */
export function isBot(sender: { type?: string; login?: string } | null | undefined): boolean {
  return sender?.type === "Bot" || (sender?.login ?? "").endsWith("[bot]");
}

/** The configuration as committed at `ref` (the default branch's head), or the problems to tell the user. */
export async function readRepoConfig(gh: GitHubClient, where: RepoRef, ref: string): Promise<{ config: Config; raw: unknown } | { problems: string[] }> {
  let text: string;
  try {
    const r = await gh.rest.repos.getContent({ ...where, path: CONFIG_PATH, ref });
    const file = r.data as { type?: string; content?: string; encoding?: string };
    if (Array.isArray(r.data) || file.type !== "file" || file.content === undefined)
      return { problems: [`${CONFIG_PATH} is not a file on the default branch`] };
    text = Buffer.from(file.content, file.encoding === "base64" ? "base64" : "utf8").toString("utf8");
  } catch (err) {
    if (statusOf(err) === 404)
      return {
        problems: [
          `there is no ${CONFIG_PATH} on the default branch: run \`autoresearch init --github\` in a clone, then commit the configuration and the workflow it writes`,
        ],
      };
    throw apiError(`read ${CONFIG_PATH}`, err);
  }
  try {
    const config = parseConfigText(text, CONFIG_PATH);
    const { parse } = await import("yaml");
    return { config, raw: parse(text) };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.issues.length ? err.issues.map((i) => `\`${CONFIG_PATH}\` ${i}`) : [err.message] };
    throw err;
  }
}

/** Why the experiment workflow cannot be dispatched on this repository, or undefined. */
export async function workflowProblem(gh: GitHubClient, where: RepoRef, config: Config): Promise<string | undefined> {
  try {
    await gh.rest.actions.getWorkflow({ ...where, workflow_id: config.runner.workflow });
    return undefined;
  } catch (err) {
    if (statusOf(err) === 404)
      return `the experiment workflow .github/workflows/${config.runner.workflow} (runner.workflow) is not on the default branch: run \`autoresearch init --github\` in a clone and commit the workflow it writes`;
    throw apiError(`read the workflow ${config.runner.workflow}`, err);
  }
}

/** Longest issue text the proposer gets (characters). */
export const MAX_GOAL_CHARS = 8_000;

/**
 * An issue's title and body as the campaign goal: data for the proposer, with HTML comments,
 * invisible and bidirectional control characters removed, and bounded.
 */
export function goalFromIssue(title: string, body: string | null | undefined): string {
  const clean = (s: string) =>
    s
      .replace(/<!--[\s\S]*?(-->|$)/g, "")
      // Zero-width, bidirectional and other invisible characters; other controls but newline and tab.
      .replace(/[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g, "")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, "")
      .trim();
  const text = `${clean(title)}\n\n${clean(body ?? "")}`.trim();
  return text.length > MAX_GOAL_CHARS ? `${text.slice(0, MAX_GOAL_CHARS)}\n[... issue text cut at ${MAX_GOAL_CHARS} characters]` : text;
}
