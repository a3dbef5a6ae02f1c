/**
 * Helpers for the CLI end-to-end tests: build the CLI once if needed, make small temporary git
 * repositories, and run `node bin/autoresearch.js` in them as a user would.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "vitest";

const execFileP = promisify(execFile);

/** The package root (where bin/ and dist/ are). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(PACKAGE_ROOT, "bin", "autoresearch.js");

/** Builds dist/ when it is missing (`.ci/run` builds before the tests; a bare `npx vitest` may not have). */
export function ensureBuilt(): void {
  if (existsSync(join(PACKAGE_ROOT, "dist", "src", "cli", "main.js"))) return;
  execFileSync("npm", ["run", "build", "--silent"], { cwd: PACKAGE_ROOT, stdio: "inherit" });
}

/** A temporary folder for one test file; `cleanup()` removes it with every repository in it. */
export async function tempRoot(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `autoresearch-cli-${prefix}-`));
  // The CLI makes its run worktrees under TMPDIR: keep them inside this folder too.
  await mkdir(join(dir, "tmp"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

/** The environment of every CLI child: no colours, no live display, no git variables of the caller. */
function childEnv(root: string | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "1", NO_COLOR: "1", ...(root ? { TMPDIR: join(root, "tmp") } : {}) };
  for (const k of ["FORCE_COLOR", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]) delete env[k];
  // A test's own variables win, an API key included.
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  all: string;
  ms: number;
}

export interface RunningCli {
  child: ChildProcess;
  pid: number;
  /** Output so far (stdout and stderr). */
  output(): string;
  done: Promise<CliResult>;
}

/** Starts `autoresearch <args>` in `cwd`; it is killed after `timeoutMs` so a hang fails the test instead of stalling it. */
export function startCli(root: string, cwd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv(root, opts.env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let all = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    all += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    all += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, all, ms: Date.now() - started });
    });
  });
  if (child.pid === undefined) throw new Error("could not start the CLI");
  return { child, pid: child.pid, output: () => all, done };
}

/** Runs `autoresearch <args>` in `cwd` to the end. */
export function cli(root: string, cwd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return startCli(root, cwd, args, opts).done;
}

/** Runs git in `cwd`; returns its trimmed stdout. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP("git", args, { cwd, env: childEnv(undefined) });
  return stdout.trim();
}

/** The experiment of these tests: `LR` drives the loss, the seed adds a tiny, deterministic noise. */
export function trainScript(sleepMs = 0): string {
  return [
    "const LR = 0.5;",
    sleepMs > 0 ? `await new Promise((resolve) => setTimeout(resolve, ${sleepMs}));` : "",
    'console.log("loss: " + ((LR - 0.1) ** 2 + Number(process.env.AUTORESEARCH_SEED) * 1e-4));',
    "",
  ].join("\n");
}

export interface ConfigOptions {
  name?: string;
  run?: string;
  editable?: string;
  maxExperiments?: number;
  parallel?: number;
  timeout?: string;
  baselineRepeats?: number;
  /** Extra top-level YAML lines. */
  extra?: string;
}

/** A small `.github/autoresearch.yml`: mutate proposer (offline, seeded), greedy judging. */
export function configYaml(o: ConfigOptions = {}): string {
  return `metric:
  name: ${o.name ?? "loss"}
  goal: minimize
run: ${o.run ?? "node train.mjs"}
editable: [${JSON.stringify(o.editable ?? "train.mjs")}]
budget:
  experiment_timeout: ${o.timeout ?? "20s"}
  max_experiments: ${o.maxExperiments ?? 3}
  max_hours: 1
  parallel: ${o.parallel ?? 2}
  patience: 20
accept:
  repeats: 1
  baseline_repeats: ${o.baselineRepeats ?? 1}
proposer:
  kind: mutate
  seed: 1
${o.extra ?? ""}`;
}

/**
 * Makes a git repository `root/name` with the given files (default: train.mjs and a config),
 * committed on `main` unless `commit` is false.
 */
export async function makeRepo(root: string, name: string, files: Record<string, string> = {}, commit = true): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await git(dir, ["init", "-q", "-b", "main"]);
  await git(dir, ["config", "user.name", "autoresearch test"]);
  await git(dir, ["config", "user.email", "test@autoresearch.invalid"]);
  await git(dir, ["config", "commit.gpgsign", "false"]);
  const all = Object.keys(files).length ? files : { "train.mjs": trainScript(), ".github/autoresearch.yml": configYaml() };
  for (const [path, text] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  if (commit) {
    await git(dir, ["add", "-A"]);
    await git(dir, ["commit", "-q", "-m", "initial"]);
  }
  return dir;
}

/** The ledger file of a campaign. */
export function ledgerPath(repo: string, id = "1"): string {
  return join(repo, ".autoresearch", "campaigns", id, "events.jsonl");
}

/** A ledger event, as the tests look at it. */
export interface Event {
  seq: number;
  type: string;
  experiment?: number;
  commit?: string;
  seed?: number;
  status?: string;
  reason?: string;
  tail?: string;
  [k: string]: unknown;
}

/** Parses every line of a ledger; throws (failing the test) on a line that is not JSON. */
export async function readLedger(repo: string, id = "1"): Promise<Event[]> {
  const text = await readFile(ledgerPath(repo, id), "utf8");
  expect(text.endsWith("\n"), "the ledger ends with a newline").toBe(true);
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as Event;
      } catch {
        throw new Error(`ledger line ${i + 1} is not JSON: ${l.slice(0, 120)}`);
      }
    });
}

/** Number of run_finished lines in a ledger so far (0 before it exists); tolerant of a line being written. */
export async function countFinished(repo: string, id = "1"): Promise<number> {
  const text = await readFile(ledgerPath(repo, id), "utf8").catch(() => "");
  return text.split("\n").filter((l) => l.includes('"type":"run_finished"')).length;
}

/**
 * Waits until `cond()` holds, polling; throws after `timeoutMs`. With `running`, it fails at once
 * when that CLI exits first, and either failure shows the CLI's output so far.
 */
export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 60_000, running?: RunningCli): Promise<void> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  void running?.done.then(() => {
    exited = true;
  });
  const output = () => (running ? `; its output so far:\n${running.output()}` : "");
  while (Date.now() < end) {
    if (await cond()) return;
    if (exited) throw new Error(`the CLI exited before ${what}${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${output()}`);
}

/** (experiment, commit, seed) runs with more than one run_finished event: a run recorded twice. */
export function duplicateRuns(events: Event[]): string[] {
  const seen = new Map<string, number>();
  for (const e of events) {
    // A run an interrupt cancelled is recorded as such and its seed run again: one result.
    if (e.type !== "run_finished" || e.status === "cancelled") continue;
    const k = `#${e.experiment} ${e.commit}:${e.seed}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1) ?? "";
}

/** True when a text holds a JavaScript stack trace. */
export function hasStack(text: string): boolean {
  return /^\s+at .+[(:]\S+:\d+/m.test(text);
}
