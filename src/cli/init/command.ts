/** `autoresearch init` (without --github): flags into answers, the terminal into questions, the result into text. */
import { ConfigError } from "../../errors.js";
import { runEnvironment } from "../../runner/env.js";
import { type InitAnswers, type InitOptions, init } from "../init.js";
import { terminalAsker } from "./ask.js";
import { claudeRefiner } from "./claude.js";

/** The flags of `autoresearch init`, as commander gives them. */
export interface InitFlags {
  yes?: boolean;
  runOnce?: boolean;
  run?: string;
  eval?: string;
  editable?: string;
  metric?: string;
  goal?: string;
  pattern?: string;
  timeout?: string;
  inputs?: string;
  knobs?: string;
  exclude?: string;
  proposer?: string;
  claude?: boolean;
  force?: boolean;
}

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);

/** The answers the flags give; throws ConfigError for a bad value. */
export function answersOf(f: InitFlags): InitAnswers {
  if (f.goal !== undefined && f.goal !== "minimize" && f.goal !== "maximize")
    throw new ConfigError(`--goal: expected minimize or maximize, got ${JSON.stringify(f.goal)}`);
  if (f.proposer !== undefined && f.proposer !== "mutate" && f.proposer !== "claude")
    throw new ConfigError(`--proposer: expected mutate or claude, got ${JSON.stringify(f.proposer)}`);
  if (f.pattern !== undefined) {
    try {
      const groups = (new RegExp(`${f.pattern}|`).exec("")?.length ?? 1) - 1;
      if (groups !== 1) throw new ConfigError(`--pattern: expected exactly one capture group, found ${groups}`);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`--pattern: invalid regular expression: ${(err as Error).message}`);
    }
  }
  const a: InitAnswers = {};
  if (f.run !== undefined) a.run = f.run;
  if (f.eval !== undefined) a.eval = f.eval;
  if (f.editable !== undefined) a.editable = list(f.editable);
  if (f.metric !== undefined) a.metric = f.metric;
  if (f.goal !== undefined) a.goal = f.goal as InitAnswers["goal"];
  if (f.pattern !== undefined) a.pattern = f.pattern;
  if (f.timeout !== undefined) a.timeout = f.timeout;
  if (f.inputs !== undefined) a.inputs = list(f.inputs);
  if (f.knobs !== undefined) a.knobs = list(f.knobs);
  if (f.exclude !== undefined) a.exclude = list(f.exclude);
  if (f.proposer !== undefined) a.proposer = f.proposer as InitAnswers["proposer"];
  return a;
}

/** The init options the flags and the terminal give (questions only in a terminal without --yes). */
export function initOptionsOf(flags: InitFlags, io: { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream }): Omit<InitOptions, "root" | "force"> {
  const say = (t: string) => io.stdout.write(`${t}\n`);
  const interactive = !flags.yes && Boolean(io.stdin.isTTY && io.stdout.isTTY);
  if (!flags.yes && !interactive) say("Not a terminal: taking the best guess for every answer not given as a flag (as with --yes).");
  const apiKey = process.env.ANTHROPIC_API_KEY?.trim();
  if (flags.claude && !apiKey) throw new ConfigError("init --claude needs ANTHROPIC_API_KEY; set it, or run init without --claude");
  return {
    answers: answersOf(flags),
    ...(flags.runOnce !== undefined ? { runOnce: flags.runOnce } : {}),
    ...(interactive ? { asker: terminalAsker } : {}),
    env: runEnvironment(process.env),
    say,
    ...(flags.claude && apiKey
      ? {
          refine: claudeRefiner({
            apiKey,
            baseURL: process.env.ANTHROPIC_BASE_URL?.trim() || undefined,
            approve: interactive ? "ask" : flags.yes ? "yes" : "no",
            say,
          }),
        }
      : {}),
  };
}

/** Runs `autoresearch init` in `root`; resolves with the exit status (2 when --run-once failed). */
export async function runInit(root: string, flags: InitFlags, io: { stdout?: NodeJS.WriteStream; stdin?: NodeJS.ReadStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const say = (t: string) => stdout.write(`${t}\n`);
  const result = await init({ ...initOptionsOf(flags, { stdout, stdin: io.stdin ?? process.stdin }), root, force: Boolean(flags.force) });
  say(`Wrote ${result.path}`);
  if (result.todo) say("Fill in the lines marked TODO, then check it with `autoresearch validate`.");
  else
    say(
      `Next: autoresearch validate && git add .github/autoresearch.yml && git commit -m "autoresearch config" && autoresearch run${result.draft.inputs.length ? `\n(inputs ${result.draft.inputs.join(", ")} stay untracked: each run gets them from this folder)` : ""}`,
    );
  return result.ranOnce && !result.ranOnce.ok ? 2 : 0;
}
