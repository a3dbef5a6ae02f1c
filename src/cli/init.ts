/** `autoresearch init`: writes a commented configuration, guessing what it can from the repository. */
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CONFIG_PATH, parseDurationSeconds } from "../core/config.js";
import { ConfigError, RepoStateError } from "../errors.js";
import { GitRepoHost, headCommit } from "../local/git.js";
import { renderWorkflow, timeoutMinutes, type WorkflowKind } from "./templates.js";

export interface Guess {
  run?: string;
  eval?: string;
  editable?: string;
  metric?: string;
  goal: "minimize" | "maximize";
}

const RUNNERS: Record<string, string> = { ".py": "python", ".mjs": "node", ".js": "node", ".ts": "npx tsx", ".sh": "bash" };
const METRIC_RE = /\b(val_bpb|val_loss|valid_loss|eval_loss|test_loss|val_acc(?:uracy)?|accuracy|f1|bleu|rouge\w*|perplexity|loss|score|mae|mse|rmse)\b/i;
const HIGHER_IS_BETTER = /acc|f1|bleu|rouge|score/i;

/** Guesses the commands, editable file and metric from the tracked files (pure, for tests). */
export function guessFromFiles(files: Record<string, string>): Guess {
  const paths = Object.keys(files).filter((p) => !p.startsWith(".github/") && RUNNERS[p.slice(p.lastIndexOf("."))]);
  const byName = (re: RegExp) => paths.filter((p) => re.test(p.split("/").pop() ?? "")).sort((a, b) => a.length - b.length)[0];
  const train = byName(/^train/i);
  const evalFile = byName(/^(eval|evaluate|prepare|test_model)/i);
  const cmd = (p?: string) => (p ? `${RUNNERS[p.slice(p.lastIndexOf("."))]} ${p}` : undefined);
  let metric: string | undefined;
  for (const p of [evalFile, train]) {
    const m = p ? METRIC_RE.exec(files[p] ?? "") : null;
    if (m?.[1]) {
      metric = m[1];
      break;
    }
  }
  return {
    run: cmd(train),
    eval: evalFile && evalFile !== train ? cmd(evalFile) : undefined,
    editable: train,
    metric,
    goal: metric && HIGHER_IS_BETTER.test(metric) ? "maximize" : "minimize",
  };
}

/** A TODO placeholder left by `configText`: "TODO" before any "#" on its line (the header comment mentions TODO too). */
export const TODO_PLACEHOLDER = /^[^#\n]*\bTODO\b/m;

/** The commented YAML for a guess; unknowns are marked TODO. `runsOn` adds the GitHub runner section. */
export function configText(g: Guess, runsOn?: string[]): string {
  const todo = (v: string | undefined, what: string) => (v ? v : `TODO  # ${what}`);
  return `# autoresearch campaign configuration. Reference: schema/autoresearch.schema.json in autoresearch-bot.
# Lines marked TODO were not guessed: fill them in, then run \`autoresearch validate\`.

metric:
  name: ${todo(g.metric, "the metric your evaluation prints as '<name>: <value>'")}
  goal: ${g.goal}            # minimize or maximize
  # pattern: 'val loss ([0-9.eE+-]+)'   # optional: a regex with one group, last match wins
  # file: metrics.json                  # optional: read the metric from this JSON file instead

# The experiment command, run in the repository root with a time box. It gets AUTORESEARCH_SEED
# (vary your random seed with it) and AUTORESEARCH_TIME_BUDGET (seconds) in its environment.
run: ${g.run ?? "TODO  # e.g. python train.py"}
${g.eval ? `# Optional evaluation, run after \`run\` with every locked (non-editable) file restored.\neval: ${g.eval}` : "# eval: python eval.py   # optional: evaluation run with the locked files restored"}

# Globs of the files the proposer may change. Everything else is locked; .github/** always is.
editable:
  - ${g.editable ?? "TODO  # e.g. train.py"}

budget:
  experiment_timeout: 5m   # time box of one run
  max_experiments: 50
  max_hours: 12
  parallel: 1              # runs at once (each in its own git worktree)
  patience: 20             # stop after this many experiments without a keep

accept:
  repeats: 3               # runs (seeds) per promising candidate, paired with the best's seeds
  baseline_repeats: 3
  min_improvement: 0       # absolute, or relative such as "0.5%"
  confidence: 0.99
  scale: auto              # linear, log, or auto (log once the metric spans more than 10x)
  confirm_repeats: 5       # at the end: base and best on this many fresh paired seeds (0: off)

# Optional: other metrics the run prints that must not get worse (silent degradation); read like
# metric (the last "<name>: <value>" line, or pattern / file). A candidate is discarded when a guard
# is shown worse than the best's by more than its tolerance; a run that does not print it failed.
# guards:
#   - { name: accuracy, goal: maximize, tolerance: "1%" }     # relative to the best's value
#   - { name: train_seconds, goal: minimize, tolerance: 30 }  # absolute, in its units

proposer:
  kind: mutate             # offline: tunes the top-level numeric constants of the editable files
  # knobs: [LEARNING_RATE, BATCH_SIZE]   # only these constants (default: all)
${
  runsOn
    ? `
# GitHub only: the workflow the App dispatches and the labels of the runners it asks for.
runner:
  workflow: autoresearch.yml
  runs_on: ${JSON.stringify(runsOn)}
`
    : ""
}`;
}

/** Writes `.github/autoresearch.yml` in the repository at `root`; returns the path and the guess. */
export async function init(root: string, force: boolean, runsOn?: string[]): Promise<{ path: string; guess: Guess; todo: boolean }> {
  const path = join(root, CONFIG_PATH);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists && !force) throw new RepoStateError(`${CONFIG_PATH} already exists; use --force to overwrite it`);
  const repo = new GitRepoHost(root);
  let files: Record<string, string> = {};
  try {
    const head = await headCommit(root);
    const tracked = (await repo.listFiles(head)).filter((p) => RUNNERS[p.slice(p.lastIndexOf("."))]).slice(0, 200);
    const read = await repo.readFiles(head, tracked);
    files = Object.fromEntries(Object.entries(read).filter((e): e is [string, string] => e[1] !== undefined));
  } catch {
    // A repository without commits: nothing to guess from.
  }
  const guess = guessFromFiles(files);
  const text = configText(guess, runsOn);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return { path, guess, todo: TODO_PLACEHOLDER.test(text) };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** The default runner labels of each template (the App dispatches the config's `runner.runs_on`). */
const DEFAULT_RUNS_ON: Record<WorkflowKind, string[]> = { hosted: ["ubuntu-latest"], gpu: ["self-hosted", "gpu"], strict: ["ubuntu-latest"] };

/** What `autoresearch init --github` did. */
export interface GithubInit {
  config: { path: string; written: boolean; todo: boolean };
  workflow: { path: string; kind: WorkflowKind; timeoutMinutes: number; runsOn: string[] };
}

/**
 * `autoresearch init --github`: the configuration (written as by `init` when there is none, kept
 * otherwise) and the experiment workflow filled from it. Nothing is written when the workflow
 * exists and `force` is not set; `force` rewrites both files.
 */
export async function initGithub(root: string, opts: { kind: WorkflowKind; force: boolean; outputs?: string[] }): Promise<GithubInit> {
  const configPath = join(root, CONFIG_PATH);
  const hadConfig = await exists(configPath);
  let raw: unknown;
  if (hadConfig && !opts.force) {
    try {
      raw = parseYaml(await readFile(configPath, "utf8"));
    } catch (err) {
      throw new ConfigError(`${CONFIG_PATH}: not valid YAML (${(err as Error).message})`);
    }
  }
  const cfg = (typeof raw === "object" && raw !== null ? raw : {}) as {
    run?: unknown;
    budget?: { experiment_timeout?: unknown };
    runner?: { workflow?: unknown; runs_on?: unknown };
  };
  const file = cfg.runner?.workflow ?? "autoresearch.yml";
  if (typeof file !== "string" || !/^[\w.-]+\.ya?ml$/.test(file))
    throw new ConfigError(`runner.workflow: expected a workflow file name such as "autoresearch.yml", got ${JSON.stringify(file)}`);
  const workflowPath = join(root, ".github", "workflows", file);
  if ((await exists(workflowPath)) && !opts.force) throw new RepoStateError(`.github/workflows/${file} already exists; use --force to overwrite it`);

  let config: GithubInit["config"];
  let text: string;
  if (raw === undefined) {
    const written = await init(root, opts.force, DEFAULT_RUNS_ON[opts.kind]);
    config = { path: written.path, written: true, todo: written.todo };
    text = await readFile(written.path, "utf8");
    Object.assign(cfg, parseYaml(text));
  } else {
    text = await readFile(configPath, "utf8");
    config = { path: configPath, written: false, todo: TODO_PLACEHOLDER.test(text) };
  }

  const timeout = cfg.budget?.experiment_timeout ?? 300;
  const seconds = typeof timeout === "string" || typeof timeout === "number" ? parseDurationSeconds(timeout) : undefined;
  if (seconds === undefined) throw new ConfigError(`budget.experiment_timeout: expected a duration such as "5m", got ${JSON.stringify(timeout)}`);
  const labels = cfg.runner?.runs_on;
  const runsOn = Array.isArray(labels) && labels.length > 0 && labels.every((l) => typeof l === "string") ? labels : DEFAULT_RUNS_ON[opts.kind];
  const workflow = renderWorkflow(opts.kind, {
    experimentTimeoutSeconds: seconds,
    runsOn,
    run: typeof cfg.run === "string" ? cfg.run : undefined,
    outputs: opts.outputs,
  });
  await mkdir(dirname(workflowPath), { recursive: true });
  await writeFile(workflowPath, workflow);
  return { config, workflow: { path: workflowPath, kind: opts.kind, timeoutMinutes: timeoutMinutes(opts.kind, seconds), runsOn } };
}

/** What to do after `init --github`, in order. */
export function githubNextSteps(g: GithubInit): string {
  const steps: string[] = [];
  if (g.config.todo) steps.push(`Fill in the lines marked TODO in ${CONFIG_PATH}, then check it with \`autoresearch validate\`.`);
  if (g.workflow.kind === "gpu")
    steps.push(`Register self-hosted runners with the labels ${JSON.stringify(g.workflow.runsOn)} (runner.runs_on in ${CONFIG_PATH}).`);
  if (g.workflow.kind === "strict")
    steps.push(
      "Check TRAIN_OUTPUTS (what training writes, read by `eval`) and TRAIN_COMMAND in the workflow; it needs an `eval` command in the configuration and the autoresearch Action's `mode: eval`.",
    );
  steps.push("Pin the Action by commit SHA in the workflow (uses: autoresearch-bot/autoresearch-bot@<sha> # v1).");
  steps.push(
    "Commit both files to the default branch; try one experiment by hand (`gh workflow run` on a branch whose last commit changes only the editable files, see docs/github.md), then let the autoresearch App dispatch it.",
  );
  steps.push("Keep your other workflows off experiment branches: on: push: branches-ignore: ['autoresearch/**'].");
  steps.push(
    "After changing budget.experiment_timeout (or run, for --strict), delete the workflow and run `autoresearch init --github` again: it keeps the configuration.",
  );
  return `Next:\n${steps.map((s, i) => `  ${i + 1}. ${s}`).join("\n")}\nGuide: docs/github.md\n`;
}
