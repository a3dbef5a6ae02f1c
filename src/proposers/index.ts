/**
 * The proposer registry: one factory per `proposer.kind`. Adding a proposer is one file and one
 * line here.
 */
import type { Config } from "../core/config.js";
import { ProposerError } from "../errors.js";
import type { Proposer } from "../ports.js";
import { createMutateProposer } from "./mutate.js";

/** What a factory may need from the shell that creates it. */
export interface ProposerOptions {
  config: Config;
  /** Environment variables (API keys live here); never read from process.env inside a proposer. */
  env: Record<string, string | undefined>;
}

export const proposers: Record<Config["proposer"]["kind"], (opts: ProposerOptions) => Proposer> = {
  mutate: () => createMutateProposer(),
  claude: () => {
    throw new ProposerError("proposer.kind: claude is not available in this version; use proposer.kind: mutate");
  },
};

/** The proposer the configuration asks for. */
export function createProposer(config: Config, { env }: { env: Record<string, string | undefined> }): Proposer {
  return proposers[config.proposer.kind]({ config, env });
}
