/**
 * `autoresearch init`: looks before it asks. It guesses the run command, editable files, inputs
 * and knobs from the repository, runs the command once when asked to (finding the metric in its
 * output and timing it), asks what it cannot decide when it runs in a terminal, and writes a
 * commented configuration that `validate` accepts.
 */
import { constants } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { failureHint, formatTimeBox, suggestTimeBox, TIME_BOX_HEADROOM, tailLines } from "../core/advice.js";
import { CONFIG_PATH, ConfigSchema, parseConfigText, parseDurationSeconds } from "../core/config.js";
import { formatMetric } from "../core/report.js";
import { editableFiles } from "../core/surface.js";
import { ConfigError, RepoStateError } from "../errors.js";
import { GitRepoHost, git, headCommit } from "../local/git.js";
import type { Asker } from "./init/ask.js";
import { evalGuess, inputGuesses, type RepoView, runGuesses } from "./init/detect.js";
import { configText, type Draft, knobLists, TODO_PLACEHOLDER } from "./init/draft.js";
import { findMetrics, type MetricCandidate } from "./init/numbers.js";
import { outputOf, type Probe, runOnce as runOnceProbe, succeeded } from "./init/probe.js";
import { treeState } from "./preflight.js";
import { renderScheduleWorkflow, renderWorkflow, SCHEDULE_TEMPLATE_FILE, timeoutMinutes, type WorkflowKind } from "./templates.js";

export { TODO_PLACEHOLDER } from "./init/draft.js";

/** The answers init can be given as flags; each one skips its question. */
export interface InitAnswers {
  run?: string;
  /** "" means no evaluation command. */
  eval?: string;
  editable?: string[];
  metric?: string;
  goal?: "minimize" | "maximize";
  pattern?: string;
  timeout?: string;
  inputs?: string[];
  knobs?: string[];
  exclude?: string[];
  proposer?: "mutate" | "claude";
}

/** What `init` needs. */
export interface InitOptions {
  root: string;
  force: boolean;
  answers: InitAnswers;
  /** Run the command once to find the metric and time it: true, false, or undefined to ask (no in non-interactive mode). */
  runOnce?: boolean;
  /** Ask questions (a terminal without --yes); otherwise take the best guess for everything not given. */
  asker?: Asker;
  /** GitHub runner labels (adds the runner section). */
  runsOn?: string[];
  /** Experiment environment of the run-once (secrets removed). */
  env?: NodeJS.ProcessEnv;
  /** A drafting step after the guesses (init --claude): may change the draft; it shows what it changes. */
  refine?: (draft: Draft, context: InitContext) => Promise<Draft>;
  /** Human text. */
  say?: (text: string) => void;
}

/** What init saw, for a drafting step. */
export interface InitContext {
  view: RepoView;
  /** What the run-once printed (run then eval), when it ran. */
  output?: string;
  candidates: MetricCandidate[];
}

/** What `init` did. */
export interface InitResult {
  path: string;
  draft: Draft;
  /** Lines still marked TODO. */
  todo: boolean;
  /** The run-once, when it ran: whether it succeeded. */
  ranOnce?: { ok: boolean; seconds: number };
}

const READ_MAX_BYTES = 200_000;
const METRIC_WORD_RE = /\b(val_bpb|val_loss|valid_loss|eval_loss|test_loss|val_acc(?:uracy)?|accuracy|f1|bleu|perplexity|loss|score|mae|mse|rmse)\b/i;

async function which(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    try {
      await access(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Reads what init guesses from: tracked paths, the texts worth reading, untracked paths, the Python on the PATH. */
export async function readRepo(root: string): Promise<RepoView & { head?: string }> {
  const python = (await which("python3")) ? "python3" : (await which("python")) ? "python" : undefined;
  let head: string | undefined;
  let tracked: string[] = [];
  const texts: Record<string, string> = {};
  try {
    head = await headCommit(root);
    const repo = new GitRepoHost(root);
    tracked = await repo.listFiles(head);
    const worth = tracked
      .filter((p) => /\.(py|mjs|cjs|js|ts|sh)$/.test(p) || /^(package\.json|Makefile|makefile|GNUmakefile)$/.test(p) || /^readme(\.\w+)?$/i.test(p))
      .slice(0, 300);
    const read = await repo.readFiles(head, worth);
    for (const [p, t] of Object.entries(read)) if (t !== undefined && t.length <= READ_MAX_BYTES) texts[p] = t;
  } catch {
    // A repository without commits: nothing tracked to guess from.
  }
  let untracked: string[] = [];
  try {
    untracked = (await git(root, ["ls-files", "-z", "--others", "--directory"])).split("\0").filter((p) => p !== "" && !p.startsWith(".autoresearch"));
  } catch {
    // Not a repository: nothing untracked to offer.
  }
  return { tracked, texts, untracked, ...(python ? { python } : {}), ...(head ? { head } : {}) };
}

/** The untracked path that a missing-file hint names, if it exists in the repository root (then it is an input). */
function missingInput(output: string, run: string, view: RepoView): string | undefined {
  const hint = failureHint({ status: "crash", reason: "", tail: output }, { run, timeBox: 0, metric: "" });
  const file = hint?.startsWith("missing input file") ? /"([^"]+)"/.exec(hint)?.[1] : undefined;
  if (!file) return undefined;
  const top = file.split("/")[0] as string;
  const entry = view.untracked.find((u) => u === file || u === `${top}/` || (u.endsWith("/") && file.startsWith(u)));
  return entry ? (entry.endsWith("/") ? entry : file) : undefined;
}

function splitList(v: string): string[] {
  return v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * `autoresearch init`: looks at the repository (and, with run-once, at one run's output), asks
 * what it cannot decide (when it may ask), and writes `.github/autoresearch.yml`.
 */
export async function init(opts: InitOptions): Promise<InitResult> {
  const { root, answers: a } = opts;
  const say = opts.say ?? (() => {});
  const ask = opts.asker;
  const path = join(root, CONFIG_PATH);
  if ((await exists(path)) && !opts.force) throw new RepoStateError(`${CONFIG_PATH} already exists; use --force to overwrite it`);
  const view = await readRepo(root);

  // The run command.
  const guesses = runGuesses(view);
  let run = a.run;
  if (run === undefined && ask && guesses.length > 0) {
    const OTHER = "\0other";
    const picked = await ask.select(
      "Which command runs one experiment?",
      [
        ...guesses.slice(0, 6).map((g) => ({ name: g.command, value: g.command, description: `from ${g.source}` })),
        { name: "another command...", value: OTHER },
      ],
      guesses[0]?.command,
    );
    run = picked === OTHER ? (await ask.input("The command (run in the repository root):")).trim() : picked;
  } else if (run === undefined && ask) run = (await ask.input("Which command runs one experiment? (e.g. python3 train.py)")).trim();
  run ??= guesses[0]?.command;
  const guess = guesses.find((g) => g.command === run);
  if (run) say(`Run command: ${run}${guess ? ` (from ${guess.source})` : ""}`);
  else say("Run command: not found (no training script, package.json script, Makefile target or README command); pass --run");
  const script = guess?.file ?? fileOfCommand(run, view);

  // Editable files, evaluation, inputs.
  let editable = a.editable ?? (script ? [script] : []);
  if (!a.editable && ask) editable = splitList(await ask.input("Which files may the proposer change? (globs, comma-separated)", editable.join(", ")));
  let evalCommand =
    a.eval !== undefined ? a.eval || undefined : evalGuess(view, guess ?? (script ? { command: run ?? "", file: script, source: "", score: 0 } : undefined));
  if (a.eval === undefined && ask && evalCommand)
    evalCommand = (await ask.input("Evaluation command, run after the run with the locked files restored (empty: none)", evalCommand)).trim() || undefined;
  const pkgDeps = /"(dev)?[dD]ependencies"\s*:\s*\{\s*"/.test(view.texts["package.json"] ?? "") && view.untracked.includes("node_modules/");
  let inputs = a.inputs ?? [
    ...inputGuesses(view, [...editable.filter((e) => view.texts[e] !== undefined), ...(script ? [script] : [])], run),
    ...(pkgDeps ? ["node_modules/"] : []),
  ];
  if (!a.inputs && ask)
    inputs = splitList(await ask.input("Files git does not track that every run needs (inputs, comma-separated; empty: none)", inputs.join(", ")));
  inputs = [...new Set(inputs)];

  // Run it once.
  const timeBox = a.timeout !== undefined ? parseDurationSeconds(a.timeout) : undefined;
  if (a.timeout !== undefined && timeBox === undefined)
    throw new ConfigError(`--timeout: expected a duration such as "90s" or "5m", got ${JSON.stringify(a.timeout)}`);
  let runOnce = opts.runOnce;
  if (runOnce === undefined && ask && run) runOnce = await ask.confirm(`Run \`${run}\` once now, to find the metric in its output and time it?`, true);
  let output: string | undefined;
  let probe: Probe | undefined;
  let ranOnce: InitResult["ranOnce"];
  if (runOnce && run) {
    if (!view.head) throw new RepoStateError("init --run-once runs the last commit, and this repository has none yet: commit your files first");
    ({ probe, inputs } = await probeOnce({ root, run, evalCommand, inputs, box: timeBox ?? DEFAULT_PROBE_SECONDS, view, env: opts.env ?? process.env, say }));
    ranOnce = { ok: succeeded(probe.run) && (probe.eval === undefined || succeeded(probe.eval)), seconds: probe.seconds };
    if (ranOnce.ok) output = [outputOf(probe.run), probe.eval ? outputOf(probe.eval) : ""].join("\n");
  }

  // The metric.
  const evalCandidates = probe?.eval && succeeded(probe.eval) ? findMetrics(outputOf(probe.eval)) : [];
  const runCandidates = output !== undefined && probe ? findMetrics(outputOf(probe.run)) : [];
  if (probe?.eval && succeeded(probe.eval) && evalCandidates.length === 0 && runCandidates.length > 0 && a.eval === undefined) {
    say("The evaluation printed no number; the metric comes from the run, so no eval command is written.");
    evalCommand = undefined;
  }
  const candidates = evalCandidates.length > 0 ? evalCandidates : runCandidates;
  let metric: Draft["metric"];
  if (a.pattern !== undefined) {
    metric = { name: a.metric ?? candidates[0]?.name ?? "metric", goal: a.goal ?? candidates[0]?.goal ?? "minimize", pattern: a.pattern };
  } else if (a.metric !== undefined) {
    const c = candidates.find((x) => x.name === a.metric || x.label.toLowerCase() === a.metric?.toLowerCase());
    metric = c
      ? { name: c.name, goal: a.goal ?? c.goal, ...(c.pattern ? { pattern: c.pattern } : {}), seen: c.line }
      : { name: a.metric, goal: a.goal ?? "minimize" };
  } else if (candidates.length > 0) {
    let c = candidates[0] as MetricCandidate;
    if (ask && candidates.length > 1)
      c = await ask.select(
        "Which number is the metric? (the last value printed is what each run is judged by)",
        candidates
          .slice(0, 10)
          .map((x) => ({ name: `${x.name} = ${formatMetric(x.value)}`, value: x, description: `printed ${x.count}x, last in: ${x.line}` })),
        c,
      );
    metric = { name: c.name, goal: c.goal, ...(c.pattern ? { pattern: c.pattern } : {}), seen: c.line };
  } else if (!runOnce) {
    const name = [script, evalCommand ? fileOfCommand(evalCommand, view) : undefined]
      .map((p) => (p ? METRIC_WORD_RE.exec(view.texts[p] ?? "")?.[1] : undefined))
      .find((x) => x !== undefined);
    if (name) metric = { name, goal: /acc|f1|bleu|score/i.test(name) ? "maximize" : "minimize" };
  }
  if (metric) {
    if (a.goal === undefined && ask)
      metric.goal = await ask.select(
        `Is a lower or a higher ${metric.name} better?`,
        [
          { name: "lower (minimize)", value: "minimize" as const },
          { name: "higher (maximize)", value: "maximize" as const },
        ],
        metric.goal,
      );
    else if (a.goal) metric.goal = a.goal;
    say(
      `Metric: ${metric.name} (${metric.goal})${metric.pattern ? `, read with pattern ${metric.pattern}` : ""}${metric.seen ? ` from "${metric.seen.slice(0, 80)}"` : ""}`,
    );
  } else if (runOnce && ranOnce?.ok)
    say('Metric: no labelled number in the output; make the run print one (such as "val_loss: 0.123"), or pass --metric and --pattern');

  // The time box.
  let timeout: Draft["timeout"];
  if (a.timeout !== undefined) timeout = { value: a.timeout, why: "given to init" };
  else if (probe && ranOnce?.ok) {
    const suggested = suggestTimeBox(probe.seconds);
    timeout = { value: formatTimeBox(suggested), why: `one run took ${probe.seconds.toFixed(1)} s; ${TIME_BOX_HEADROOM}x headroom` };
    say(`Time box: ${timeout.value} (one run took ${probe.seconds.toFixed(1)} s; ${TIME_BOX_HEADROOM}x headroom for a slower machine and parallel runs)`);
  }
  if (timeout && ask && a.timeout === undefined)
    timeout = {
      ...timeout,
      value: (await ask.input("Time box of one run", timeout.value, (v) => (parseDurationSeconds(v) ? true : 'a duration such as "90s" or "5m"'))).trim(),
    };

  // The knobs.
  const editableTexts = Object.fromEntries(
    view.tracked.filter((p) => editableFiles([p], editable).length > 0 && view.texts[p] !== undefined).map((p) => [p, view.texts[p] as string]),
  );
  const found = knobLists(editableTexts);
  let knobs = a.knobs ?? found.knobs;
  let exclude = a.exclude ?? found.exclude;
  if (!a.knobs && ask && found.knobs.length + found.exclude.length > 0) {
    const picked = await ask.checkbox("Which knobs may mutate change? (measurement and logging settings are unchecked)", [
      ...found.knobs.map((k) => ({ name: k, value: k, checked: true })),
      ...found.exclude.map((k) => ({ name: `${k}  (looks like a measurement or logging setting)`, value: k, checked: false })),
    ]);
    knobs = picked;
    exclude = [...found.knobs, ...found.exclude].filter((k) => !picked.includes(k));
  }
  if (knobs.length || exclude.length)
    say(`Knobs: ${knobs.join(", ") || "none"}${exclude.length ? `; excluded (measurement or logging settings): ${exclude.join(", ")}` : ""}`);

  // eval runs in a fresh tree of the parent's files plus the declared outputs: offer what the run made.
  const outputs = evalCommand && probe?.created.length ? probe.created : undefined;
  if (outputs) say(`Outputs: ${outputs.join(", ")} (written by the run; eval gets them, and nothing else the run left)`);
  let draft: Draft = {
    ...(run ? { run } : {}),
    ...(evalCommand ? { eval: evalCommand, ...(outputs ? { outputs } : {}) } : {}),
    editable,
    inputs,
    ...(metric ? { metric } : {}),
    goal: metric?.goal ?? a.goal ?? "minimize",
    ...(timeout ? { timeout } : {}),
    knobs,
    exclude,
    proposer: a.proposer ?? "mutate",
    ...(opts.runsOn ? { runsOn: opts.runsOn } : {}),
  };
  if (opts.refine) draft = await opts.refine(draft, { view, ...(output !== undefined ? { output } : {}), candidates });

  const text = configText(draft);
  // What init writes must be what validate accepts (TODO lines aside).
  const todo = TODO_PLACEHOLDER.test(text);
  if (!todo) parseConfigText(text, CONFIG_PATH);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return { path, draft, todo, ...(ranOnce ? { ranOnce } : {}) };
}

/**
 * Runs the command once (see runOnce in init/probe.ts) and says what happened: the time, or the
 * last lines and the hint of a failure. A run that fails naming a missing file that lies untracked
 * in the repository gets it as an input and runs again (a few times at most).
 */
async function probeOnce(o: {
  root: string;
  run: string;
  evalCommand: string | undefined;
  inputs: string[];
  box: number;
  view: RepoView;
  env: NodeJS.ProcessEnv;
  say: (t: string) => void;
}): Promise<{ probe: Probe; inputs: string[] }> {
  const { say, run, box } = o;
  let inputs = o.inputs;
  const changed = (await treeState(o.root)).tracked;
  if (changed.length > 0)
    say(
      `Note: it runs the last commit, as experiments do; your uncommitted changes to ${changed.slice(0, 3).join(", ")}${changed.length > 3 ? ", ..." : ""} are not in it.`,
    );
  let probe: Probe | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    say(
      `Running it once in a clean checkout of the last commit${inputs.length ? ` with inputs ${inputs.join(", ")}` : ""} (time box ${formatTimeBox(box)})...`,
    );
    probe = await runOnceProbe({ root: o.root, run, ...(o.evalCommand ? { eval: o.evalCommand } : {}), inputs, timeoutSeconds: box, env: o.env });
    const add = succeeded(probe.run) ? undefined : missingInput(outputOf(probe.run), run, o.view);
    if (!add || inputs.includes(add)) break;
    say(`It needs ${add}, which git does not track: adding it to inputs and running again.`);
    inputs = [...inputs, add];
  }
  const p = probe as Probe;
  const failed = !succeeded(p.run) ? p.run : p.eval && !succeeded(p.eval) ? p.eval : undefined;
  if (!failed) {
    say(`It finished in ${p.seconds.toFixed(1)} s.`);
    return { probe: p, inputs };
  }
  const how = failed.timedOut
    ? `did not finish within ${formatTimeBox(box)}`
    : failed.spawnError
      ? `could not start (${failed.spawnError})`
      : `exited with code ${failed.exitCode}`;
  say(`The ${failed === p.run ? "run" : "eval"} command ${how}. Last lines of its output:`);
  for (const l of tailLines(outputOf(failed))) say(`  ${l}`);
  const hint = failureHint(
    { status: failed.timedOut ? "timeout" : "crash", reason: failed.exitCode === 127 ? "exited with code 127" : "", tail: outputOf(failed) },
    { run, timeBox: box, metric: "" },
  );
  if (hint) say(`Hint: ${hint}`);
  return { probe: p, inputs };
}

/** Seconds the run-once may take when no --timeout is given: the default time box. */
export const DEFAULT_PROBE_SECONDS = 300;

/** The tracked runnable file a command names. */
function fileOfCommand(command: string | undefined, view: RepoView): string | undefined {
  if (!command) return undefined;
  const tracked = new Set(view.tracked);
  for (const w of command.split(/\s+/)) {
    const p = w.replace(/^['"]|['"]$/g, "").replace(/^\.\//, "");
    if (tracked.has(p) && /\.(py|mjs|cjs|js|ts|sh)$/.test(p)) return p;
  }
  return undefined;
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
 * `autoresearch init --github`: the configuration (written as by `init`, with `opts.init`, when there
 * is none, kept otherwise) and the experiment workflow filled from it. Nothing is written when the workflow
 * exists and `force` is not set; `force` rewrites both files.
 */
export async function initGithub(
  root: string,
  opts: { kind: WorkflowKind; force: boolean; outputs?: string[]; init?: Omit<InitOptions, "root" | "force" | "runsOn"> },
): Promise<GithubInit> {
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
    const written = await init({ answers: {}, ...opts.init, root, force: opts.force, runsOn: DEFAULT_RUNS_ON[opts.kind] });
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
    outputs: opts.outputs,
  });
  await mkdir(dirname(workflowPath), { recursive: true });
  await writeFile(workflowPath, workflow);
  return { config, workflow: { path: workflowPath, kind: opts.kind, timeoutMinutes: timeoutMinutes(opts.kind, seconds), runsOn } };
}

/** Throws a ConfigError when `cron` is not a schedule the configuration would accept. */
export function checkSchedule(cron: string): void {
  const checked = ConfigSchema.shape.schedule.safeParse(cron);
  if (!checked.success) throw new ConfigError(`--schedule: ${checked.error.issues[0]?.message ?? "not a cron expression"}`);
}

/**
 * `autoresearch init --github --schedule <cron>`: the workflow that asks the App to start a campaign
 * on that schedule (`.github/workflows/autoresearch-schedule.yml`). The expression is checked like
 * the configuration's `schedule`.
 */
export async function initSchedule(root: string, cron: string, force: boolean): Promise<string> {
  checkSchedule(cron);
  const path = join(root, ".github", "workflows", SCHEDULE_TEMPLATE_FILE);
  if ((await exists(path)) && !force) throw new RepoStateError(`.github/workflows/${SCHEDULE_TEMPLATE_FILE} already exists; use --force to overwrite it`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderScheduleWorkflow(cron));
  return path;
}

/** What to do after `init --github`, in order. */
export function githubNextSteps(g: GithubInit): string {
  const steps: string[] = [];
  if (g.config.todo) steps.push(`Fill in the lines marked TODO in ${CONFIG_PATH}, then check it with \`autoresearch validate\`.`);
  if (g.workflow.kind === "gpu")
    steps.push(`Register self-hosted runners with the labels ${JSON.stringify(g.workflow.runsOn)} (runner.runs_on in ${CONFIG_PATH}).`);
  if (g.workflow.kind === "strict")
    steps.push(
      "Declare what training writes and `eval` reads as `outputs:` in the configuration (or TRAIN_OUTPUTS in the workflow); the workflow needs an `eval` command in the configuration.",
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
