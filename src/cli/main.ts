/**
 * The `autoresearch` command. Each subcommand translates its flags into a call of the shared
 * campaign code and its result into text; errors are translated once, here.
 */
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { CONFIG_PATH, parseConfigText } from "../core/config.js";
import { summarize } from "../core/report.js";
import { fold } from "../core/state.js";
import { ConfigError, isUserError, RepoStateError } from "../errors.js";
import { git, isGitRepo, repoRoot } from "../local/git.js";
import { FileLedgerStore } from "../local/ledger.js";
import { listCampaigns, reportFile } from "../local/paths.js";
import { missingInputs } from "../runner/inputs.js";
import { type CampaignOutcome, confirmCampaign, finalText, jsonSummary, type Overrides, repositoryProblems, runCampaign, writeReport } from "./campaign.js";
import { initOptionsOf, runInit } from "./init/command.js";
import { checkSchedule, githubNextSteps, initGithub, initSchedule, TODO_PLACEHOLDER } from "./init.js";
import { createOutput, type Output } from "./output.js";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The example the demo runs. */
export const DEMO_EXAMPLE = join(PACKAGE_ROOT, "examples", "tiny-regression");
/** The demo's spending limit when it uses the claude proposer. */
export const DEMO_CLAUDE_MAX_COST_USD = 1;

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

interface CommonFlags {
  json?: boolean;
  debug?: boolean;
  progress?: boolean;
  maxExperiments?: number;
  parallel?: number;
  timeout?: string;
}

function overridesOf(f: CommonFlags): Overrides {
  return { maxExperiments: f.maxExperiments, parallel: f.parallel, experimentTimeout: f.timeout };
}

/** Ctrl-C once: stop cleanly (runs are killed, the ledger stays consistent). Twice: exit now. */
function interruptSignal(out: Output): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  let count = 0;
  const handler = () => {
    count++;
    if (count === 1) {
      out.say("\nStopping: killing the runs in flight; finished results are kept (Ctrl-C again to exit at once).");
      ac.abort();
    } else process.exit(130);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

/** Exit status of a finished campaign: 0, or 2 when the user must fix something first. */
function campaignExit(o: CampaignOutcome): number {
  if (o.interrupted) return 130;
  const reason = o.state.stopped?.reason ?? "";
  return /^(the baseline failed|proposer:)/.test(reason) ? 2 : 0;
}

async function runIn(
  root: string,
  flags: CommonFlags & { resume?: boolean; campaign?: string; goal?: string; config?: string },
  source: "cli" | "demo",
  out: Output,
  extra: Overrides = {},
): Promise<number> {
  const { signal, dispose } = interruptSignal(out);
  try {
    const outcome = await runCampaign({
      root,
      configPath: flags.config ? resolve(flags.config) : undefined,
      resume: Boolean(flags.resume),
      campaign: flags.campaign,
      goal: flags.goal,
      source,
      overrides: { ...overridesOf(flags), ...extra },
      out,
      signal,
    });
    out.say(finalText(outcome, root, out));
    if (flags.json) out.json(jsonSummary(outcome));
    return campaignExit(outcome);
  } finally {
    dispose();
  }
}

async function findRoot(): Promise<string> {
  return repoRoot(process.cwd());
}

/** Copies the bundled example into a fresh temporary git repository; returns its path. */
export async function prepareDemoRepo(example = DEMO_EXAMPLE): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "autoresearch-demo-"));
  await cp(example, dir, { recursive: true });
  await git(dir, ["init", "-q", "-b", "main"]);
  await git(dir, ["config", "user.name", "autoresearch demo"]);
  await git(dir, ["config", "user.email", "demo@autoresearch.invalid"]);
  await git(dir, ["add", "-A"]);
  await git(dir, ["commit", "-q", "-m", "example: tiny regression"]);
  return dir;
}

export function buildProgram(state: { code: number }): Command {
  const program = new Command()
    .name("autoresearch")
    .description("Propose a change, run a time-boxed experiment, keep it only if the metric really improves; repeat.")
    .option("--debug", "show stack traces and engine details")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  const withCampaignFlags = (c: Command) =>
    c
      .option("--json", "print a machine-readable summary as the last line of stdout (progress goes to stderr)")
      .option("--no-progress", "print plain lines instead of a live display")
      .option("--max-experiments <n>", "override budget.max_experiments", positiveInt)
      .option("--parallel <n>", "override budget.parallel", positiveInt)
      .option("--timeout <duration>", 'override budget.experiment_timeout (e.g. "90s", "5m")');

  withCampaignFlags(
    program
      .command("run")
      .description("run a campaign on the git repository in the current directory (.github/autoresearch.yml)")
      .option("-c, --config <file>", `configuration file (default: ${CONFIG_PATH} in the repository root)`)
      .option("--goal <text>", "what to improve, in your words (shown to the proposer)")
      .option("--resume", "continue an interrupted campaign instead of starting a new one")
      .option("--campaign <id>", "with --resume: which campaign (default: the latest)"),
  ).action(async (flags) => {
    const out = createOutput({ json: Boolean(flags.json), debug: Boolean(program.opts().debug), progress: flags.progress !== false });
    state.code = await runIn(await findRoot(), flags, "cli", out);
  });

  withCampaignFlags(
    program
      .command("demo")
      .description(
        "run a complete campaign on a bundled example in a temporary git repository (offline, no setup; with ANTHROPIC_API_KEY set, the claude proposer)",
      )
      .option("--example <dir>", "run another example folder instead of the bundled one"),
  ).action(async (flags) => {
    const out = createOutput({ json: Boolean(flags.json), debug: Boolean(program.opts().debug), progress: flags.progress !== false });
    const dir = await prepareDemoRepo(flags.example ? resolve(flags.example) : DEMO_EXAMPLE);
    out.say(`Demo repository: ${dir} (a copy of examples/${flags.example ? flags.example : "tiny-regression"}, committed)`);
    // With an API key the demo shows the claude proposer, capped at $1; without one, the offline mutate.
    const claude = Boolean(process.env.ANTHROPIC_API_KEY?.trim());
    if (claude) out.say(`ANTHROPIC_API_KEY is set: proposing with claude (budget.max_cost_usd: ${DEMO_CLAUDE_MAX_COST_USD}).`);
    state.code = await runIn(dir, flags, "demo", out, claude ? { proposerKind: "claude", maxCostUsd: DEMO_CLAUDE_MAX_COST_USD } : {});
    out.say(`\nLook around: cd ${dir} && git log --oneline autoresearch/1/best`);
  });

  program
    .command("confirm")
    .description(
      "confirm a finished campaign's final number: the base and the best commit run interleaved on fresh paired seeds (accept.confirm_repeats), and the report headlines the confirmed change",
    )
    .option("--campaign <id>", "which campaign (default: the latest)")
    .option("--json", "print a machine-readable summary as the last line of stdout (progress goes to stderr)")
    .option("--no-progress", "print plain lines instead of a live display")
    .action(async (flags) => {
      const out = createOutput({ json: Boolean(flags.json), debug: Boolean(program.opts().debug), progress: flags.progress !== false });
      const { signal, dispose } = interruptSignal(out);
      try {
        const outcome = await confirmCampaign({ root: await findRoot(), campaign: flags.campaign, out, signal });
        out.say(finalText(outcome, await findRoot(), out));
        if (flags.json) out.json(jsonSummary(outcome));
        state.code = outcome.state.confirmation?.phase === "done" ? 0 : 130;
      } finally {
        dispose();
      }
    });

  program
    .command("init")
    .description(`write ${CONFIG_PATH} for this repository: it looks before it asks (and, with --run-once, runs the command once)`)
    .option("-y, --yes", "ask nothing: take the best guess for every answer not given as a flag")
    .option("--run-once", "run the command once (in a clean checkout, within the time box) to find the metric and time it")
    .option("--no-run-once", "do not run the command (no question either)")
    .option("--run <command>", "the experiment command")
    .option("--eval <command>", 'the evaluation command ("" for none)')
    .option("--editable <globs>", "the files the proposer may change, separated by commas")
    .option("--metric <name>", "the metric: its name, or the label printed before it")
    .option("--goal <goal>", "minimize or maximize")
    .option("--pattern <regex>", "a regular expression with one group around the metric's number")
    .option("--timeout <duration>", 'the time box of one run (e.g. "90s", "5m"); also the time box of --run-once')
    .option("--inputs <paths>", 'files git does not track that every run needs, separated by commas ("" for none)')
    .option("--knobs <list>", 'what mutate may tune, separated by commas (e.g. "LR,AdamW(lr)")')
    .option("--exclude <list>", "knobs mutate must never change, separated by commas")
    .option("--proposer <kind>", "mutate or claude")
    .option("--claude", "with ANTHROPIC_API_KEY set: let Claude draft the configuration and instructions, shown for approval")
    .option("--force", "overwrite an existing configuration (and, with --github, workflow)")
    .option("--github", "also write the experiment workflow .github/workflows/autoresearch.yml (GitHub-hosted runners)")
    .option("--gpu", "with --github: the workflow for self-hosted GPU runners")
    .option("--strict", "with --github: the two-job workflow (training and evaluation on separate runners)")
    .option("--outputs <paths>", "with --strict: the files training writes and evaluation reads, separated by commas")
    .option("--schedule <cron>", 'with --github: also write a workflow that asks the App to start a campaign on this schedule (UTC cron, e.g. "0 2 * * *")')
    .action(async (flags) => {
      const root = await findRoot();
      if (flags.gpu && flags.strict) throw new ConfigError("--gpu and --strict are different workflows; choose one");
      if ((flags.gpu || flags.strict || flags.outputs || flags.schedule) && !flags.github)
        throw new ConfigError("--gpu, --strict, --outputs and --schedule go with --github");
      if (flags.outputs && !flags.strict) throw new ConfigError("--outputs goes with --strict");
      // Checked before anything is written.
      if (flags.schedule) checkSchedule(String(flags.schedule));
      if (flags.github) {
        const outputs = flags.outputs
          ? String(flags.outputs)
              .split(",")
              .map((o: string) => o.trim())
          : undefined;
        const g = await initGithub(root, {
          kind: flags.strict ? "strict" : flags.gpu ? "gpu" : "hosted",
          force: Boolean(flags.force),
          outputs,
          init: initOptionsOf(flags, { stdout: process.stdout, stdin: process.stdin }),
        });
        process.stdout.write(g.config.written ? `Wrote ${g.config.path}\n` : `Kept ${g.config.path} (--force rewrites it)\n`);
        process.stdout.write(`Wrote ${g.workflow.path} (timeout-minutes ${g.workflow.timeoutMinutes}, runners ${JSON.stringify(g.workflow.runsOn)})\n`);
        if (flags.schedule) {
          const path = await initSchedule(root, String(flags.schedule), Boolean(flags.force));
          process.stdout.write(`Wrote ${path} (a campaign at ${JSON.stringify(String(flags.schedule))} UTC, started by the autoresearch App)\n`);
        }
        process.stdout.write(githubNextSteps(g));
        return;
      }
      state.code = await runInit(root, flags);
    });

  program
    .command("validate")
    .description("check a configuration and print every problem with its key path")
    .argument("[file]", `configuration file (default: ${CONFIG_PATH} in the repository root)`)
    .action(async (file?: string) => {
      const inRepo = await isGitRepo(process.cwd());
      const root = inRepo ? await findRoot() : process.cwd();
      const path = file ? resolve(file) : join(root, CONFIG_PATH);
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch {
        throw new ConfigError(`no configuration at ${path}; run \`autoresearch init\` to write one`);
      }
      const problems: string[] = [];
      try {
        const config = parseConfigText(text, path);
        if (inRepo) problems.push(...(await repositoryProblems(root, config)));
        if (inRepo)
          for (const missing of await missingInputs(root, config.inputs))
            problems.push(`inputs: ${JSON.stringify(missing)} matches nothing in the repository folder; every run needs it`);
        if (TODO_PLACEHOLDER.test(text)) problems.push("the file still has TODO placeholders from `autoresearch init`");
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.issues);
      }
      if (problems.length === 0) {
        process.stdout.write(`${path}: ok\n`);
        return;
      }
      process.stdout.write(`${path}: ${problems.length} problem${problems.length > 1 ? "s" : ""}\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
      state.code = 2;
    });

  program
    .command("report")
    .description("render a campaign's Markdown report from its ledger")
    .option("--campaign <id>", "which campaign (default: the latest)")
    .option("-o, --out <file>", "write the report to this file (default: print it)")
    .option("--json", "print the summary as JSON instead")
    .action(async (flags) => {
      const root = await findRoot();
      const ids = await listCampaigns(root);
      const id = flags.campaign ?? ids.at(-1);
      if (!id || !ids.includes(id))
        throw new RepoStateError(
          id ? `no campaign ${id} here (campaigns: ${ids.join(", ") || "none"})` : "no campaign here yet; start one with `autoresearch run`",
        );
      const ledger = await FileLedgerStore.forCampaign(root, id);
      const { events, problems } = await ledger.read();
      for (const p of problems) process.stderr.write(`warning: ${ledger.file} line ${p.line}: ${p.message} (not included in the report)\n`);
      if (events.length === 0) throw new RepoStateError(`campaign ${id} has no events`);
      const s = fold(events);
      for (const p of s.problems) process.stderr.write(`warning: ${ledger.file}: ${p}\n`);
      const path = await writeReport(root, id, s);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...summarize(s), report: path })}\n`);
      else if (flags.out) {
        await writeFile(resolve(flags.out), await readFile(reportFile(root, id), "utf8"));
        process.stdout.write(`Wrote ${resolve(flags.out)}\n`);
      } else process.stdout.write(await readFile(path, "utf8"));
    });

  return program;
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const state = { code: 0 };
  const program = buildProgram(state);
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync(argv);
    return state.code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`autoresearch: ${msg}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else if (!isUserError(err)) process.stderr.write("(this looks like a bug; run again with --debug for the stack trace)\n");
    return isUserError(err) ? 2 : 1;
  }
}
