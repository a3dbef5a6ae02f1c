/**
 * The synthetic repositories of test/fixtures/init-repos, for the init benchmark and tests: each
 * folder holds the committed files and a fixture.json saying what `init` should find (the run
 * command, the metric and its direction) and what git does not track (.gitignore lines, files).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What a fixture expects and needs. */
export interface InitFixture {
  name: string;
  dir: string;
  layout: string;
  output: string;
  run: string;
  eval?: string;
  metric: string;
  goal: "minimize" | "maximize";
  gitignore?: string[];
  untracked?: Record<string, string>;
}

/** test/fixtures/init-repos, found above this module (it runs from test/cli in tests and from dist/test/cli in the bench). */
export const INIT_FIXTURES_DIR = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "test", "fixtures", "init-repos");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error("test/fixtures/init-repos not found");
  }
})();

/** Every fixture, in name order. */
export async function initFixtures(): Promise<InitFixture[]> {
  const names = (await readdir(INIT_FIXTURES_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  const out: InitFixture[] = [];
  for (const name of names.sort()) {
    const dir = join(INIT_FIXTURES_DIR, name);
    out.push({ name, dir, ...(JSON.parse(await readFile(join(dir, "fixture.json"), "utf8")) as Omit<InitFixture, "name" | "dir">) });
  }
  return out;
}

const gitEnv = () => {
  const env = { ...process.env };
  for (const k of ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"]) delete env[k];
  return env;
};

/** Makes the fixture a git repository at `dest`: its files committed, the untracked ones written beside them. */
export async function materialize(f: InitFixture, dest: string): Promise<string> {
  await rm(dest, { recursive: true, force: true });
  await cp(f.dir, dest, { recursive: true, filter: (src) => !src.endsWith("fixture.json") });
  if (f.gitignore) await writeFile(join(dest, ".gitignore"), `${f.gitignore.join("\n")}\n`);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dest, env: gitEnv(), stdio: ["ignore", "pipe", "pipe"] });
  git("init", "-q", "-b", "main");
  git("config", "user.name", "autoresearch fixture");
  git("config", "user.email", "fixture@autoresearch.invalid");
  git("config", "commit.gpgsign", "false");
  git("add", "-A");
  git("commit", "-q", "-m", "fixture");
  for (const [path, text] of Object.entries(f.untracked ?? {})) {
    await mkdir(dirname(join(dest, path)), { recursive: true });
    await writeFile(join(dest, path), text);
  }
  return dest;
}
