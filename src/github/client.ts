/**
 * The Octokit the App uses (Probot's, with its retry and throttling plugins), and how its errors
 * become ours. Every GitHub adapter takes a client and a repository.
 */
import type { ProbotOctokit } from "probot";
import { GitHubApiError } from "../errors.js";

/** An installation-authenticated Octokit, as Probot hands it out. */
export type GitHubClient = InstanceType<typeof ProbotOctokit>;

/** A repository the App works on. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** The HTTP status of an Octokit request error, or undefined for anything else. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

/** A request error's message from GitHub (`message` of the JSON body), when there is one. */
export function apiMessage(err: unknown): string {
  const data = (err as { response?: { data?: { message?: unknown } } } | null)?.response?.data;
  const msg = typeof data?.message === "string" ? data.message : err instanceof Error ? err.message : String(err);
  return msg.slice(0, 300);
}

/** Wraps an Octokit failure of `what` in a GitHubApiError naming it, keeping status and cause. */
export function apiError(what: string, err: unknown): GitHubApiError {
  if (err instanceof GitHubApiError) return err;
  const status = statusOf(err);
  return new GitHubApiError(`GitHub ${what} failed${status ? ` (${status})` : ""}: ${apiMessage(err)}`, status, { cause: err });
}

/** Runs an API call, translating its failure once (see apiError). */
export async function call<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw apiError(what, err);
  }
}

/** The identity of every commit the App makes (the dates come from the ledger). */
export const APP_IDENTITY = { name: "autoresearch[bot]", email: "autoresearch[bot]@users.noreply.github.com" } as const;
