/** `autoresearch init --github`: the configuration and the experiment workflow, run as a user would. */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are GitHub Actions expressions, not template strings
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { lintWorkflow } from "../../scripts/actionlint.js";
import { cli, ensureBuilt, makeRepo, tempRoot } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ensureBuilt();
  root = await tempRoot("init-github");
}, 120_000);
afterAll(async () => {
  await root?.cleanup();
});

const TRAIN_PY = `lr = 0.01\nprint(f"val_loss: {lr:.6f}")\n`;
const WORKFLOW = join(".github", "workflows", "autoresearch.yml");

interface Job {
  "timeout-minutes": number;
  "runs-on": string;
  steps: Array<{ uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }>;
}
interface Workflow {
  on: { workflow_dispatch: { inputs: Record<string, { default?: string }> } };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

describe("autoresearch init --github", { timeout: 60_000 }, () => {
  it("writes the configuration and the GitHub-hosted workflow, timed from the configuration, and refuses to overwrite it", async () => {
    const repo = await makeRepo(root.dir, "hosted", { "train.py": TRAIN_PY });
    const r = await cli(root.dir, repo, ["init", "--github"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Wrote ${join(repo, ".github", "autoresearch.yml")}`);
    expect(r.stdout).toContain("timeout-minutes 20");
    expect(r.stdout).toContain("branches-ignore: ['autoresearch/**']");

    const config = parseYaml(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8"));
    expect(config.runner).toEqual({ workflow: "autoresearch.yml", runs_on: ["ubuntu-latest"] });
    const text = await readFile(join(repo, WORKFLOW), "utf8");
    const wf = parseYaml(text) as Workflow;
    // The written config has experiment_timeout: 5m: 2 x 5 + 10 minutes of setup.
    expect(wf.jobs.experiment?.["timeout-minutes"]).toBe(20);
    expect(wf.permissions).toEqual({ contents: "read" });
    expect(wf.jobs.experiment?.steps.at(-1)?.with).toEqual({
      experiment: "${{ inputs.experiment }}",
      parent: "${{ inputs.parent || 'HEAD^' }}",
      seed: "${{ matrix.seed }}",
    });
    // The App passes the parent explicitly (the baseline is its own parent); by hand it is HEAD^.
    expect(wf.on.workflow_dispatch.inputs.parent?.default).toBe("");
    expect(await lintWorkflow(text, WORKFLOW)).toEqual([]);

    const again = await cli(root.dir, repo, ["init", "--github"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(".github/workflows/autoresearch.yml already exists; use --force to overwrite it");
    expect(await readFile(join(repo, WORKFLOW), "utf8")).toBe(text);
  });

  it("keeps an existing configuration and takes the time box and runner labels from it (--gpu); --force rewrites", async () => {
    const repo = await makeRepo(root.dir, "gpu", { "train.py": TRAIN_PY });
    const config = `metric: {name: val_loss, goal: minimize}
run: python train.py
editable: [train.py]
budget:
  experiment_timeout: 1050s
runner:
  runs_on: [self-hosted, linux, a100]
`;
    await mkdir(join(repo, ".github"), { recursive: true });
    await writeFile(join(repo, ".github", "autoresearch.yml"), config);
    const r = await cli(root.dir, repo, ["init", "--github", "--gpu"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Kept ");
    expect(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8")).toBe(config);
    const text = await readFile(join(repo, WORKFLOW), "utf8");
    const wf = parseYaml(text) as Workflow;
    // 1050 s: 2 x 17.5 = 35 minutes + 25 minutes of GPU setup.
    expect(wf.jobs.experiment?.["timeout-minutes"]).toBe(60);
    expect(wf.jobs.experiment?.["runs-on"]).toBe("${{ fromJSON(inputs.runs_on) }}");
    expect(JSON.parse(wf.on.workflow_dispatch.inputs.runs_on?.default ?? "")).toEqual(["self-hosted", "linux", "a100"]);
    expect(await lintWorkflow(text, WORKFLOW)).toEqual([]);

    const forced = await cli(root.dir, repo, ["init", "--github", "--force"]);
    expect(forced.code).toBe(0);
    expect(parseYaml(await readFile(join(repo, WORKFLOW), "utf8")).jobs.experiment["timeout-minutes"]).toBe(20);
    expect(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8")).not.toBe(config);
  });

  it("--strict fills the outputs into the two-job workflow, whose train job runs the Action in mode train", async () => {
    const repo = await makeRepo(root.dir, "strict", { "train.py": TRAIN_PY });
    const r = await cli(root.dir, repo, ["init", "--github", "--strict", "--outputs", "model.safetensors,out/*.json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const text = await readFile(join(repo, WORKFLOW), "utf8");
    const wf = parseYaml(text) as Workflow & { env: Record<string, string> };
    expect(wf.env.TRAIN_OUTPUTS).toBe("model.safetensors out/*.json");
    expect(wf.jobs.train?.["timeout-minutes"]).toBe(15);
    expect(wf.jobs.evaluate?.["timeout-minutes"]).toBe(15);
    const train = wf.jobs.train?.steps.find((s) => s.with?.mode === "train");
    expect(train?.with).toMatchObject({ mode: "train", outputs: "${{ env.TRAIN_OUTPUTS }}" });
    expect(wf.jobs.evaluate?.steps.at(-1)?.with).toMatchObject({ mode: "eval", "training-outputs": "${{ runner.temp }}/train-outputs" });
    expect(await lintWorkflow(text, WORKFLOW)).toEqual([]);
  });

  it("rejects flags that do not go together, writing nothing", async () => {
    const repo = await makeRepo(root.dir, "flags", { "train.py": TRAIN_PY });
    const r = await cli(root.dir, repo, ["init", "--gpu"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("go with --github");
    const both = await cli(root.dir, repo, ["init", "--github", "--gpu", "--strict"]);
    expect(both.code).toBe(2);
    await expect(readFile(join(repo, ".github", "autoresearch.yml"))).rejects.toThrow();
  });
});

describe("init --github with init's flags", () => {
  it("passes --run-once and the answers on to the configuration it writes", async () => {
    const repo = await makeRepo(root.dir, "github-run-once", { "train.py": 'LR = 0.1\nprint(f"val loss {LR:.3f}")\n' });
    const r = await cli(root.dir, repo, ["init", "--github", "--yes", "--run-once", "--knobs", "LR"]);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("It finished in");
    const text = await readFile(join(repo, ".github", "autoresearch.yml"), "utf8");
    expect(text).toMatch(/^ {2}pattern: /m);
    expect(text).toMatch(/^ {2}knobs: \[LR\]$/m);
    expect(text).toMatch(/^ {2}runs_on: \["ubuntu-latest"\]$/m);
  });

  it("--schedule writes the workflow that asks the App to start a campaign on that schedule; a bad expression writes nothing", async () => {
    const repo = await makeRepo(root.dir, "schedule", { "train.py": TRAIN_PY });
    const bad = await cli(root.dir, repo, ["init", "--github", "--schedule", "0 25 * * *"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--schedule: not a cron expression: Constraint error, got value 25 expected range 0-23");
    await expect(readFile(join(repo, WORKFLOW), "utf8")).rejects.toThrow(/ENOENT/);
    await expect(readFile(join(repo, ".github", "autoresearch.yml"), "utf8")).rejects.toThrow(/ENOENT/);

    const r = await cli(root.dir, repo, ["init", "--github", "--schedule", "30 3 * * 1-5"]);
    expect(r.code, r.stderr).toBe(0);
    const path = join(".github", "workflows", "autoresearch-schedule.yml");
    expect(r.stdout).toContain(`Wrote ${join(repo, path)}`);
    const text = await readFile(join(repo, path), "utf8");
    const wf = parseYaml(text) as { on: { schedule: { cron: string }[] }; permissions: Record<string, string>; jobs: Record<string, Job> };
    expect(wf.on.schedule).toEqual([{ cron: "30 3 * * 1-5" }]);
    expect(wf.permissions).toEqual({ contents: "write" });
    expect(wf.jobs.start?.steps[0]?.run).toContain("-f event_type=autoresearch");
    expect(await lintWorkflow(text, path)).toEqual([]);
    const flags = await cli(root.dir, repo, ["init", "--schedule", "0 2 * * *"]);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain("--schedule go with --github");
  });
});
