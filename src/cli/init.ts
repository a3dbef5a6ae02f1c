/** `autoresearch init`: writes a commented configuration, guessing what it can from the repository. */
import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CONFIG_PATH } from "../core/config.js";
import { RepoStateError } from "../errors.js";
import { GitRepoHost, headCommit } from "../local/git.js";

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

/** The commented YAML for a guess; unknowns are marked TODO. */
export function configText(g: Guess): string {
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
  repeats: 3               # runs (seeds) per promising candidate
  baseline_repeats: 3
  min_improvement: 0       # absolute, or relative such as "0.5%"
  confidence: 0.99

proposer:
  kind: mutate             # offline: tunes the top-level numeric constants of the editable files
  # knobs: [LEARNING_RATE, BATCH_SIZE]   # only these constants (default: all)
`;
}

/** Writes `.github/autoresearch.yml` in the repository at `root`; returns the path and the guess. */
export async function init(root: string, force: boolean): Promise<{ path: string; guess: Guess; todo: boolean }> {
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
  const text = configText(guess);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return { path, guess, todo: TODO_PLACEHOLDER.test(text) };
}
