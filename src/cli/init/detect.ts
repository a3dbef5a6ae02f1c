/**
 * What `autoresearch init` guesses from a repository before it asks: the run command (from
 * package.json scripts, Makefile targets, a README's code blocks, or the scripts themselves, with
 * an interpreter that exists here), the evaluation command, the editable file, and the files
 * git does not track that the run needs. Pure: a view of the repository in, ranked guesses out.
 */
import { posix } from "node:path";

/** What init knows about a repository. */
export interface RepoView {
  /** Paths committed at HEAD. */
  tracked: string[];
  /** Contents of the tracked files worth reading (scripts, package.json, Makefile, READMEs). */
  texts: Record<string, string>;
  /** Paths git does not track (untracked and ignored), folders with a trailing "/", as `git ls-files --directory` lists them. */
  untracked: string[];
  /** The Python interpreter on the PATH ("python3" or "python"), if any. */
  python?: string;
}

/** A way to run the experiment. */
export interface RunGuess {
  command: string;
  /** The script it runs, when known: the editable file. */
  file?: string;
  /** Where the guess came from, for people ("package.json script train"). */
  source: string;
  score: number;
}

const RUNNABLE = /\.(py|mjs|cjs|js|ts|sh)$/;
const SKIP_FILES =
  /(^|\/)(setup\.py|conftest\.py|__init__\.py|noxfile\.py|manage\.py|[^/]*\.d\.ts|[^/]*\.config\.[cm]?[jt]s|[^/]*\.test\.[cm]?[jt]s|[^/]*\.spec\.[cm]?[jt]s|test_[^/]*\.py|[^/]*_test\.py)$/;
const SKIP_DIRS = /(^|\/)(tests?|__tests__|spec|docs?|node_modules|\.github|vendor|third_party|dist|build)\//;

/** The command that runs a script here. */
export function interpreterFor(path: string, python: string | undefined): string | undefined {
  const ext = posix.extname(path);
  if (ext === ".py") return python;
  if (ext === ".js" || ext === ".mjs" || ext === ".cjs") return "node";
  if (ext === ".ts") return "npx tsx";
  if (ext === ".sh") return "bash";
  return undefined;
}

const shellQuote = (s: string) => (/^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** How much a script looks like the training run, from its name, place and content. */
export function scriptScore(path: string, text: string): number {
  if (SKIP_FILES.test(path) || SKIP_DIRS.test(path)) return -100;
  const base = posix
    .basename(path)
    .replace(/\.[^.]+$/, "")
    .toLowerCase();
  let score = 0;
  if (/^train/.test(base)) score += 10;
  else if (/train/.test(base)) score += 6;
  if (/^(main|run|experiment|exp)$/.test(base)) score += 5;
  if (/(model|nn|net|network|gpt|mlp|regression|classif|autograd|micrograd|neural|learn|fit|optim|sgd|mnist|cifar)/.test(base)) score += 4;
  if (/(bench|demo|example|solve)/.test(base)) score += 2;
  if (/^(eval|evaluate|test_model|score)/.test(base)) score -= 3;
  if (
    /(prepare|download|setup|install|preprocess|fetch|make_data|gen_data|data|util|helper|config|plot|viz|visual|lint|format|clean|serve|server|app|cli)/.test(
      base,
    )
  )
    score -= 8;
  const depth = path.split("/").length - 1;
  score += depth === 0 ? 2 : depth === 1 ? 0 : -1;
  if (/\bif __name__ == ['"]__main__['"]/.test(text)) score += 2;
  if (/(loss|acc|accuracy|error|cost|perplexity|score|reward)/i.test(text) && /\b(print|console\.log|logging\.info|logger\.info|echo)\b/.test(text)) score += 3;
  if (/^(export\s+)?(const|let|var)?\s*[A-Za-z_]\w*\s*=\s*[-+]?\d/m.test(text)) score += 1;
  return score;
}

/** The runnable tracked file a command line names, if any ("node src/nn.js --epochs 3" -> "src/nn.js"). */
function fileIn(command: string, tracked: ReadonlySet<string>): string | undefined {
  for (const word of command.split(/\s+/)) {
    const w = word.replace(/^['"]|['"]$/g, "").replace(/^\.\//, "");
    if (tracked.has(w) && RUNNABLE.test(w)) return w;
    // python -m pkg.train
    const asModule = `${w.replaceAll(".", "/")}.py`;
    if (/^[\w.]+$/.test(w) && w.includes(".") && tracked.has(asModule)) return asModule;
  }
  return undefined;
}

const TARGET_SCORES: [RegExp, number][] = [
  [/^train/, 10],
  [/^(experiment|exp)$/, 8],
  [/^(run|main|start)$/, 4],
  [/^(bench|benchmark)$/, 3],
];
const NOT_TARGETS =
  /^(test|tests|lint|format|fmt|build|clean|install|setup|prepare|preinstall|postinstall|prepublish|publish|dev|watch|serve|docs|typecheck|check|all|help|deploy|release|download|data|fetch|eval|evaluate)$/;

function targetScore(name: string): number {
  if (NOT_TARGETS.test(name)) return -100;
  for (const [re, s] of TARGET_SCORES) if (re.test(name)) return s;
  return -2;
}

/** A README's shell lines: fenced blocks of sh / bash / console (or no language), "$ " prompts removed. */
function readmeCommands(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^(`{3,}|~{3,})[ \t]*([\w-]*)[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm)) {
    const lang = (m[2] ?? "").toLowerCase();
    if (!["", "sh", "bash", "shell", "console", "zsh", "shell-session", "text"].includes(lang)) continue;
    for (const raw of (m[3] ?? "").split("\n")) {
      const line = raw
        .replace(/^\s*[$>]\s+/, "")
        .replace(/\s+#.*$/, "")
        .trim();
      if (line !== "") out.push(line);
    }
  }
  return out;
}

/** A README line rewritten for this machine: `python` where only `python3` exists, and the other way round. */
function withPython(line: string, python: string | undefined): string {
  if (!python) return line;
  return line.replace(/^(python3?)(?=\s)/, python);
}

/**
 * Ways to run the experiment, best first: package.json scripts and Makefile targets that look
 * like training, commands in the README that run a tracked script, and the scripts themselves.
 */
export function runGuesses(view: RepoView): RunGuess[] {
  const tracked = new Set(view.tracked);
  const guesses: RunGuess[] = [];
  const scripts = view.tracked.filter((p) => RUNNABLE.test(p));
  const fileScore = (p: string) => scriptScore(p, view.texts[p] ?? "");

  const pkg = view.texts["package.json"];
  if (pkg !== undefined) {
    try {
      const scriptsOf = (JSON.parse(pkg) as { scripts?: Record<string, unknown> }).scripts ?? {};
      for (const [name, body] of Object.entries(scriptsOf)) {
        if (typeof body !== "string") continue;
        const s = targetScore(name);
        if (s < -50) continue;
        const file = fileIn(body, tracked);
        guesses.push({
          command: `npm run --silent ${name}`,
          file,
          source: `package.json script "${name}"`,
          score: s + 3 + (file ? Math.max(0, fileScore(file)) : 0),
        });
      }
    } catch {
      // A package.json that is not JSON offers nothing.
    }
  }

  const make = view.texts.Makefile ?? view.texts.makefile ?? view.texts.GNUmakefile;
  if (make !== undefined) {
    const lines = make.split("\n");
    lines.forEach((line, i) => {
      const m = /^([A-Za-z][\w.-]*)\s*:(?!=)/.exec(line);
      if (!m?.[1]) return;
      const s = targetScore(m[1]);
      if (s < -50) return;
      const recipe: string[] = [];
      for (let j = i + 1; j < lines.length && /^\t/.test(lines[j] ?? ""); j++) recipe.push((lines[j] ?? "").trim());
      const file = recipe.map((r) => fileIn(r, tracked)).find((f) => f !== undefined);
      guesses.push({ command: `make -s ${m[1]}`, file, source: `Makefile target "${m[1]}"`, score: s + 3 + (file ? Math.max(0, fileScore(file)) : 0) });
    });
  }

  for (const readme of view.tracked.filter((p) => /^readme(\.\w+)?$/i.test(posix.basename(p)) && !p.includes("/"))) {
    for (const line of readmeCommands(view.texts[readme] ?? "")) {
      if (/^(pip|pip3|npm (install|i|ci)|yarn( add| install)?|git|cd|cp|mv|mkdir|wget|curl|export|source|conda|apt|brew|docker)\b/.test(line)) continue;
      const file = fileIn(line, tracked);
      if (!file) continue;
      if (/^(python3?|node|bash|sh|npx tsx|tsx|deno run|bun|uv run|poetry run)\b/.test(line) || line.startsWith(`./${file}`)) {
        const command = withPython(line, view.python);
        if (/^python3?\b/.test(line) && !view.python) continue;
        guesses.push({ command, file, source: `${readme}`, score: fileScore(file) + 2 });
      }
    }
  }

  for (const file of scripts) {
    const interpreter = interpreterFor(file, view.python);
    if (!interpreter) continue;
    const score = fileScore(file);
    if (score < -50) continue;
    guesses.push({ command: `${interpreter} ${shellQuote(file)}`, file, source: `script ${file}`, score });
  }

  const byCommand = new Map<string, RunGuess>();
  for (const g of guesses) {
    const had = byCommand.get(g.command);
    if (!had || had.score < g.score) byCommand.set(g.command, g);
  }
  return [...byCommand.values()].sort((a, b) => b.score - a.score || a.command.length - b.command.length);
}

/** An evaluation script beside the run's script (eval.py, evaluate.mjs), as a command; undefined when there is none. */
export function evalGuess(view: RepoView, run: RunGuess | undefined): string | undefined {
  if (!run?.file) return undefined;
  const dir = posix.dirname(run.file);
  const candidates = view.tracked.filter((p) => posix.dirname(p) === dir && /^(eval|evaluate)\.(py|mjs|cjs|js|ts)$/.test(posix.basename(p)) && p !== run.file);
  const file = candidates.sort()[0];
  const interpreter = file ? interpreterFor(file, view.python) : undefined;
  return file && interpreter ? `${interpreter} ${shellQuote(file)}` : undefined;
}

/** Untracked paths that are caches, environments or build output, never inputs. */
const NOISE =
  /(^|\/)(__pycache__|\.venv|venv|env|node_modules|\.git|\.autoresearch|\.ipynb_checkpoints|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox|\.idea|\.vscode|\.DS_Store|dist|build|[^/]*\.egg-info|wandb|mlruns|lightning_logs|\.cache)(\/|$)|\.(pyc|pyo|log|swp)$/;

/** The string literals of a script ("input.txt", 'data/train.csv', `./data`). */
function stringLiterals(text: string): string[] {
  return [...text.matchAll(/(['"`])((?:(?!\1)[^\\\n]|\\.){1,200})\1/g)].map((m) => (m[2] ?? "").replace(/^\.\//, ""));
}

/**
 * The untracked files and folders the run's scripts name in a string literal: the inputs every
 * run needs ("input.txt", "data/" for 'data/train.csv' or os.path.join("data", ...)).
 */
export function inputGuesses(view: RepoView, scripts: readonly string[], command = ""): string[] {
  const literals = new Set([...scripts.flatMap((p) => stringLiterals(view.texts[p] ?? "")), ...command.split(/\s+/).map((w) => w.replace(/^\.\//, ""))]);
  const found: string[] = [];
  for (const entry of view.untracked) {
    if (NOISE.test(entry)) continue;
    const isDir = entry.endsWith("/");
    const path = entry.replace(/\/+$/, "");
    const named = [...literals].some((l) => {
      const lit = l.replace(/\/+$/, "");
      return lit === path || lit.startsWith(`${path}/`) || (isDir && lit === posix.basename(path) && !path.includes("/"));
    });
    if (named) found.push(isDir ? `${path}/` : path);
  }
  return found.sort();
}
