/**
 * The proposer registry: one factory per `proposer.kind`. Adding a proposer is one file and one
 * line here.
 */
import type { Config } from "../core/config.js";
import type { Logger, Proposer } from "../ports.js";
import { createClaudeProposer } from "./claude.js";
import { createMutateProposer } from "./mutate.js";

/** What a factory may need from the shell that creates it. */
export interface ProposerOptions {
  config: Config;
  /** Environment variables (API keys live here); never read from process.env inside a proposer. */
  env: Record<string, string | undefined>;
  logger?: Logger;
}

export const proposers: Record<Config["proposer"]["kind"], (opts: ProposerOptions) => Proposer> = {
  mutate: () => createMutateProposer(),
  claude: (opts) => createClaudeProposer(opts),
};

/** The proposer the configuration asks for. */
export function createProposer(config: Config, { env, logger }: { env: Record<string, string | undefined>; logger?: Logger }): Proposer {
  return proposers[config.proposer.kind]({ config, env, logger });
}
