/**
 * The environment an experiment's commands get on a runner: the job's environment without the
 * credentials and workflow file-command paths that would let the experiment act as the job.
 */

/** Variables removed by name. */
const SECRET_NAMES = new Set([
  "ACTIONS_RUNTIME_TOKEN",
  "ACTIONS_RUNTIME_URL",
  "ACTIONS_RESULTS_URL",
  "ACTIONS_CACHE_URL",
  "ACTIONS_CACHE_SERVICE_V2",
  "GITHUB_TOKEN",
  "GH_TOKEN",
  // Keys a workflow may hold for other steps; an experiment needs none (the CLI withholds them too).
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "NPM_TOKEN",
  "GITHUB_OUTPUT",
  "GITHUB_ENV",
  "GITHUB_PATH",
  "GITHUB_STATE",
  "GITHUB_STEP_SUMMARY",
]);

/** Variables removed by prefix: OIDC token requests, the Action's own inputs and saved state. */
const SECRET_PREFIXES = ["ACTIONS_ID_TOKEN_REQUEST_", "INPUT_", "STATE_"];

/** True for a variable the experiment must not see. Names are compared case-insensitively. */
export function isWithheld(name: string): boolean {
  const upper = name.toUpperCase();
  return SECRET_NAMES.has(upper) || SECRET_PREFIXES.some((p) => upper.startsWith(p));
}

/** A copy of `env` without the withheld variables (see {@link isWithheld}). */
export function experimentEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isWithheld(k)) out[k] = v;
  return out;
}
