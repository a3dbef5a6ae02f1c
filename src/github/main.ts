/**
 * `npm start`: runs the App with Probot's conventions (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH,
 * WEBHOOK_SECRET, PORT, HOST, LOG_LEVEL, GHE_HOST, WEBHOOK_PROXY_URL; a `.env` file is read first).
 * A missing or malformed variable is one line on stderr naming it, and exit status 2.
 */
import { existsSync } from "node:fs";
import { run } from "probot";
import { ConfigError } from "../errors.js";
import { autoresearchApp, DEFAULT_RECONCILE_SECONDS, DEFAULT_STATUS_EDIT_SECONDS } from "./app.js";
import { operatorLimits } from "./settings.js";

/** Seconds a proposal may take before it is asked for again, unless AUTORESEARCH_PROPOSAL_LEASE_SECONDS says otherwise. */
const PROPOSAL_LEASE_SECONDS = 1800;

/** Why the App cannot start with this environment (one line), or undefined. */
export function environmentProblem(env: Record<string, string | undefined>): string | undefined {
  if (!env.APP_ID?.trim()) return "APP_ID is not set: the App ID from the App's settings page (see docs/app.md)";
  if (!/^\d+$/.test(env.APP_ID.trim())) return `APP_ID must be a number, not ${JSON.stringify(env.APP_ID)}`;
  if (!env.PRIVATE_KEY?.trim() && !env.PRIVATE_KEY_PATH?.trim())
    return "PRIVATE_KEY or PRIVATE_KEY_PATH is not set: the App's private key (a .pem file) or its path";
  if (env.PRIVATE_KEY_PATH?.trim() && !env.PRIVATE_KEY?.trim() && !existsSync(env.PRIVATE_KEY_PATH.trim()))
    return `PRIVATE_KEY_PATH points at ${JSON.stringify(env.PRIVATE_KEY_PATH)}, which does not exist`;
  if (!env.WEBHOOK_SECRET?.trim()) return "WEBHOOK_SECRET is not set: the webhook secret from the App's settings page";
  for (const name of ["AUTORESEARCH_RECONCILE_SECONDS", "AUTORESEARCH_PROPOSAL_LEASE_SECONDS", "AUTORESEARCH_STATUS_EDIT_SECONDS", "PORT"]) {
    const v = env[name]?.trim();
    if (v && !/^\d+$/.test(v)) return `${name} must be a whole number, not ${JSON.stringify(v)}`;
  }
  return undefined;
}

async function main(): Promise<void> {
  // As Probot does: variables already set win over the .env file.
  if (existsSync(".env")) process.loadEnvFile(".env");
  const problem = environmentProblem(process.env);
  let limits: ReturnType<typeof operatorLimits>;
  try {
    if (problem) throw new ConfigError(problem);
    limits = operatorLimits(process.env);
  } catch (err) {
    process.stderr.write(`autoresearch-app: ${(err as Error).message}\n`);
    process.exit(2);
  }
  await run(
    autoresearchApp({
      limits,
      env: process.env,
      reconcileSeconds: Number(process.env.AUTORESEARCH_RECONCILE_SECONDS?.trim() || DEFAULT_RECONCILE_SECONDS),
      proposalLeaseSeconds: Number(process.env.AUTORESEARCH_PROPOSAL_LEASE_SECONDS?.trim() || PROPOSAL_LEASE_SECONDS),
      statusEditSeconds: Number(process.env.AUTORESEARCH_STATUS_EDIT_SECONDS?.trim() || DEFAULT_STATUS_EDIT_SECONDS),
    }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`autoresearch-app: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
