/**
 * The environment an experiment gets, shared by the CLI and the Action: an allow-list, never a
 * deny-list, so a credential nobody thought of (AWS_*, HF_TOKEN, WANDB_API_KEY, ...) stays out
 * unless the configuration's `run_env` names it.
 */

/**
 * Passed to every run: what a shell, a locale and the usual toolchains need to find themselves.
 * Names, or prefixes ending in `*`. Nothing here holds a credential by convention.
 */
export const DEFAULT_RUN_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "LC_*",
  "TERM",
  "TZ",
  "TMPDIR",
  // Python and its environment managers (setup-python sets pythonLocation and Python*_ROOT_DIR).
  "VIRTUAL_ENV",
  "CONDA_PREFIX",
  "CONDA_DEFAULT_ENV",
  "CONDA_EXE",
  "CONDA_PYTHON_EXE",
  "PYENV_ROOT",
  "PYENV_VERSION",
  "pythonLocation",
  "Python_ROOT_DIR",
  "Python2_ROOT_DIR",
  "Python3_ROOT_DIR",
  // Other toolchains' locations.
  "JAVA_HOME",
  "GOROOT",
  "GOPATH",
  "CARGO_HOME",
  "RUSTUP_HOME",
  "NVM_DIR",
  "PKG_CONFIG_PATH",
  "LD_LIBRARY_PATH",
  "CUDA_HOME",
  "CUDA_PATH",
  // Where frameworks keep caches of downloaded models (locations, not tokens).
  "XDG_CACHE_HOME",
  "HF_HOME",
  "TORCH_HOME",
];

/**
 * Names that are this tool's own credentials or the runner's control channels: never passed, and
 * refused in `run_env` (names, or prefixes ending in `_`).
 */
export const REFUSED_RUN_ENV: readonly string[] = [
  "GITHUB_TOKEN",
  "GH_TOKEN",
  "ACTIONS_",
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "INPUT_",
  "STATE_",
  "GITHUB_OUTPUT",
  "GITHUB_ENV",
  "GITHUB_PATH",
  "GITHUB_STATE",
  "GITHUB_STEP_SUMMARY",
  "RUNNER_TEMP",
  // The tool sets these itself, per run.
  "AUTORESEARCH_",
];

/** True for a name matched by a refused entry (a name, or a prefix when it ends in `_`). */
export function isRefusedEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return REFUSED_RUN_ENV.some((r) => (r.endsWith("_") ? upper.startsWith(r) : upper === r));
}

/**
 * Why a `run_env` entry may not be used, or undefined when it may: a name or prefix that is (or
 * could match) one of {@link REFUSED_RUN_ENV}, or that is not a variable name.
 */
export function runEnvEntryProblem(entry: string): string | undefined {
  const prefix = entry.endsWith("*");
  const stem = prefix ? entry.slice(0, -1) : entry;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(stem) && !(prefix && stem === "")) {
    return `expected a variable name, or a prefix ending in "*", got ${JSON.stringify(entry)}`;
  }
  const upper = stem.toUpperCase();
  const clash = REFUSED_RUN_ENV.find((r) =>
    prefix ? r.startsWith(upper) || (r.endsWith("_") && upper.startsWith(r)) : r.endsWith("_") ? upper.startsWith(r) : upper === r,
  );
  if (clash !== undefined) {
    return `${JSON.stringify(entry)} would pass ${clash.endsWith("_") ? `${clash}*` : clash}, a credential or control variable of autoresearch or the runner, which runs never get`;
  }
  return undefined;
}

function matches(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * The variables of `env` an experiment may see: {@link DEFAULT_RUN_ENV} plus `extra` (the
 * configuration's `run_env`), never a refused one.
 */
export function runEnvironment(env: NodeJS.ProcessEnv, extra: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || isRefusedEnvName(k)) continue;
    if (matches(k, DEFAULT_RUN_ENV) || matches(k, extra)) out[k] = v;
  }
  return out;
}
