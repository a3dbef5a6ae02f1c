/**
 * init_guess_rate: on the synthetic repositories of test/fixtures/init-repos (different layouts
 * and output formats), the share where `autoresearch init --yes --run-once` writes a
 * configuration whose campaign runs with no edit: init exits 0, `validate` accepts the file, the
 * run (and eval) command and the metric with its direction are the ones the fixture names, and `autoresearch run
 * --max-experiments 2` (after committing the file, as the README says) exits 0 with a measured
 * baseline. The built CLI runs as a user would run it, one repository at a time.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { initFixtures, materialize } from "../test/cli/init-fixtures.js";
import { type BenchResult, round } from "./result.js";

const BIN = fileURLToPath(new URL("../../bin/autoresearch.js", import.meta.url));

function cli(cwd: string, args: string[], tmp: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "1", NO_COLOR: "1", TMPDIR: tmp };
    for (const k of ["ANTHROPIC_API_KEY", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"]) delete env[k];
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code as number) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Why a fixture failed, or undefined when its campaign ran with no edit. */
async function attempt(repo: string, tmp: string, expect: { metric: string; goal: string; run: string; eval?: string }): Promise<string | undefined> {
  const init = await cli(repo, ["init", "--yes", "--run-once"], tmp);
  if (init.code !== 0) return `init exited ${init.code}: ${(init.stdout + init.stderr).trim().split("\n").slice(-3).join(" / ")}`;
  const config = parseYaml(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8")) as {
    run?: string;
    eval?: string;
    metric?: { name?: string; goal?: string };
  };
  if (config.run !== expect.run || config.eval !== expect.eval) return `run ${config.run} / eval ${config.eval}, expected ${expect.run} / ${expect.eval}`;
  if (config.metric?.name !== expect.metric || config.metric?.goal !== expect.goal)
    return `metric ${config.metric?.name} (${config.metric?.goal}), expected ${expect.metric} (${expect.goal})`;
  const validate = await cli(repo, ["validate"], tmp);
  if (validate.code !== 0) return `validate: ${validate.stdout.trim()}`;
  execFileSync("git", ["add", ".github/autoresearch.yml"], { cwd: repo });
  execFileSync("git", ["commit", "-q", "-m", "autoresearch config"], { cwd: repo });
  const run = await cli(repo, ["run", "--json", "--no-progress", "--max-experiments", "2"], tmp);
  if (run.code !== 0) return `run exited ${run.code}: ${(run.stdout + run.stderr).trim().split("\n").slice(-3).join(" / ")}`;
  const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as { baseline?: number | null; experiments?: number };
  if (summary.baseline === null || summary.baseline === undefined) return "no baseline measured";
  return undefined;
}

export async function initBenchmarks(): Promise<BenchResult[]> {
  const fixtures = await initFixtures();
  const root = await mkdtemp(join(tmpdir(), "autoresearch-bench-init-"));
  const failed: string[] = [];
  const seconds: number[] = [];
  try {
    for (const f of fixtures) {
      const t = performance.now();
      const repo = await materialize(f, join(root, f.name));
      const why = await attempt(repo, root, f).catch((err: unknown) => `threw: ${err instanceof Error ? err.message : String(err)}`);
      seconds.push((performance.now() - t) / 1000);
      if (why) failed.push(`${f.name}: ${why}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const rate = (fixtures.length - failed.length) / fixtures.length;
  const sorted = [...seconds].sort((a, b) => a - b);
  return [
    {
      name: "init_guess_rate",
      value: round(rate),
      unit: "share",
      better: "higher",
      goal: ">= 0.9",
      pass: rate >= 0.9,
      repos: fixtures.length,
      failed,
      median_seconds_per_repo: round(sorted[Math.floor(sorted.length / 2)] ?? 0, 3),
    },
  ];
}
