/**
 * Entry of the GitHub Action (action.yml runs its bundle, dist/action/index.js): reads the inputs
 * and the runner's environment, calls runAction, and turns an error into one failed step.
 */
import * as core from "@actions/core";
import { ConfigError } from "../errors.js";
import { INPUT_NAMES } from "./inputs.js";
import { type ActionIO, runAction } from "./run.js";

/** Set by the bundler (scripts/build-action.ts) from package.json. */
declare const __AUTORESEARCH_VERSION__: string | undefined;
const VERSION = typeof __AUTORESEARCH_VERSION__ === "string" ? __AUTORESEARCH_VERSION__ : "dev";

const io: ActionIO = {
  write: (text) => process.stdout.write(text),
  startGroup: (name) => core.startGroup(name),
  endGroup: () => core.endGroup(),
  warning: (message) => core.warning(message),
  setOutput: (name, value) => core.setOutput(name, value),
  appendSummary: async (markdown) => {
    if (!process.env.GITHUB_STEP_SUMMARY) return;
    await core.summary.addRaw(markdown, true).write();
  },
  upload: async (name, file, rootDir) => {
    // Loaded only when uploading: the artifact client is most of the bundle, and parsing it would
    // add to every run's overhead (the bundle keeps it in a chunk of its own).
    const { DefaultArtifactClient } = await import("@actions/artifact");
    const r = await new DefaultArtifactClient().uploadArtifact(name, [file], rootDir);
    return r.id === undefined ? {} : { id: r.id };
  },
};

async function main(): Promise<void> {
  const inputs = Object.fromEntries(INPUT_NAMES.map((n) => [n, core.getInput(n)]));
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  const runnerTemp = process.env.RUNNER_TEMP;
  await runAction(inputs, { workspace, env: process.env, version: VERSION, ...(runnerTemp ? { runnerTemp } : {}) }, io);
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    // One error, once: a ConfigError's message already lists every key path.
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    core.setFailed(message);
    if (core.isDebug() && err instanceof Error && err.stack) core.debug(err.stack);
    // Exit now: a keep-alive socket of an HTTP client must not hold the step open.
    process.exit();
  },
);
