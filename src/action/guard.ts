/**
 * What the Action keeps a run away from on a runner: the runner's file-command files (which set
 * environment, PATH and outputs for the job's later steps) and the paths a sandbox hides.
 */
import { lstat, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The file-command variables the runner sets for each step. */
const FILE_COMMANDS = ["GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"] as const;

/**
 * A snapshot of every file in the folders that hold the runner's file commands
 * (`$RUNNER_TEMP/_runner_file_commands`, and wherever GITHUB_OUTPUT and its siblings point), taken
 * before a run and put back after it: a run that appends `NODE_OPTIONS=--require ...` to
 * GITHUB_ENV, or writes a file there for a later step, has it undone before the runner reads it.
 */
export class FileCommandGuard {
  private constructor(
    private readonly dirs: string[],
    private readonly files: Map<string, Buffer>,
  ) {}

  /** Takes the snapshot; folders that do not exist are skipped. */
  static async snapshot(env: NodeJS.ProcessEnv): Promise<FileCommandGuard> {
    const dirs = new Set<string>();
    if (env.RUNNER_TEMP) dirs.add(join(env.RUNNER_TEMP, "_runner_file_commands"));
    for (const k of FILE_COMMANDS) if (env[k]) dirs.add(dirname(env[k] as string));
    const files = new Map<string, Buffer>();
    const present: string[] = [];
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      present.push(dir);
      for (const name of names) {
        const path = join(dir, name);
        if ((await lstat(path).catch(() => undefined))?.isFile()) files.set(path, await readFile(path));
      }
    }
    return new FileCommandGuard(present, files);
  }

  /**
   * Puts every snapshotted file back byte for byte and deletes files (not folders) that appeared
   * in those folders; returns the names of what had changed (empty when nothing had). Call once every
   * process of the run is gone.
   */
  async restore(): Promise<string[]> {
    const changed: string[] = [];
    for (const dir of this.dirs) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const path = join(dir, name);
        if (this.files.has(path)) continue;
        // Folders are not file commands (and RUNNER_TEMP, holding the run's own folder, may sit here).
        if ((await lstat(path).catch(() => undefined))?.isDirectory() !== false) continue;
        changed.push(name);
        await rm(path, { force: true });
      }
    }
    for (const [path, before] of this.files) {
      const now = await readFile(path).catch(() => undefined);
      if (now?.equals(before)) continue;
      changed.push(path.split("/").at(-1) ?? path);
      // Unlink first: the run may have replaced the file with a link to somewhere else.
      await rm(path, { force: true });
      await writeFile(path, before);
    }
    return changed;
  }
}

/**
 * What a sandboxed run must not see on a runner: the checkout (the run works on a copy), the
 * runner's temporary folder (file commands, other steps' scripts) and the other checkouts of
 * the runner's work folder. The run's own folders, inside RUNNER_TEMP, are bound back.
 */
export function hiddenPaths(workspace: string, env: NodeJS.ProcessEnv): string[] {
  const out = [workspace];
  if (env.RUNNER_TEMP) {
    out.push(env.RUNNER_TEMP);
    // The work folder (other checkouts, downloaded actions) and, where the runner is installed
    // above it (self-hosted: <runner>/_work/_temp), the runner's credentials and diagnostics.
    // Toolchains on the PATH inside them (<runner>/_work/_tool) are shown again, read-only.
    const work = dirname(env.RUNNER_TEMP);
    const runner = dirname(work);
    out.push(work, ...[".credentials", ".credentials_rsaparams", ".runner", "_diag"].map((f) => join(runner, f)));
  }
  for (const k of FILE_COMMANDS) if (env[k]) out.push(dirname(env[k] as string));
  return [...new Set(out)];
}
