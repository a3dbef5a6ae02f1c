/** The workflow templates lint clean with actionlint, filled or not, and the check can fail. */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are GitHub Actions expressions, not template strings
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { defaultWorkflowFiles, lintWorkflow } from "../../scripts/actionlint.js";
import {
  renderWorkflow,
  SCHEDULE_TEMPLATE_FILE,
  templatesDir,
  timeoutMinutes,
  WORKFLOW_TEMPLATE_FILES,
  type WorkflowKind,
  workflowTemplate,
} from "../../src/cli/templates.js";
import { ConfigError } from "../../src/errors.js";

const KINDS = Object.keys(WORKFLOW_TEMPLATE_FILES) as WorkflowKind[];
const ROOT = join(templatesDir(), "..", "..");
const CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";

describe("workflow templates", { timeout: 30_000 }, () => {
  it.each(KINDS)("%s lints clean as shipped and as filled in", async (kind) => {
    const file = WORKFLOW_TEMPLATE_FILES[kind];
    expect(await lintWorkflow(workflowTemplate(kind), file)).toEqual([]);
    const filled = renderWorkflow(kind, {
      experimentTimeoutSeconds: 5400,
      runsOn: ["self-hosted", "it's-a-label"],
      outputs: ["m.bin", "out/*.json"],
    });
    expect(await lintWorkflow(filled, file)).toEqual([]);
    expect(JSON.parse(parseYaml(filled).on.workflow_dispatch.inputs.runs_on.default)).toEqual(["self-hosted", "it's-a-label"]);
  });

  it.each(KINDS)("%s is read-only, never cancels, checks out without credentials and pins actions by SHA", (kind) => {
    const wf = parseYaml(workflowTemplate(kind));
    expect(wf.permissions).toEqual({ contents: "read" });
    expect(wf.concurrency["cancel-in-progress"]).toBe(false);
    expect(wf["run-name"]).toBe("autoresearch experiment ${{ inputs.experiment }}");
    for (const job of Object.values(wf.jobs) as Array<{
      strategy: { "fail-fast": boolean; matrix: { seed: string } };
      steps: Array<{ uses?: string; with?: Record<string, unknown> }>;
    }>) {
      expect(job.strategy).toEqual({ "fail-fast": false, matrix: { seed: "${{ fromJSON(inputs.seeds) }}" } });
      const checkout = job.steps.find((s) => s.uses?.startsWith("actions/checkout"));
      expect(checkout?.uses).toBe(CHECKOUT);
      expect(checkout?.with?.["persist-credentials"]).toBe(false);
      for (const s of job.steps) if (s.uses?.startsWith("actions/")) expect(s.uses).toMatch(/@[0-9a-f]{40}$/);
    }
  });

  it("the repository's own workflows and the templates are what CI lints", async () => {
    const files = (await defaultWorkflowFiles(ROOT)).map((f) => f.slice(ROOT.length + 1));
    expect(files).toEqual([
      ".github/workflows/ci.yml",
      ...[...KINDS.map((k) => WORKFLOW_TEMPLATE_FILES[k]), SCHEDULE_TEMPLATE_FILE].map((f) => `templates/workflows/${f}`).sort(),
    ]);
    for (const f of files) expect(await lintWorkflow(await readFile(join(ROOT, f), "utf8"), f), f).toEqual([]);
  });

  it("a broken workflow gives findings, so the check can fail", async () => {
    const broken = workflowTemplate("hosted")
      .replace("seed: ${{ matrix.seed }}", "seed: ${{ matrix.sed }}")
      .replace("timeout-minutes: 20", "timeout-minutes: soon");
    const findings = await lintWorkflow(broken, "broken.yml");
    expect(findings.map((f) => f.kind).sort()).toEqual(["expression", "syntax-check"]);
    expect(findings.find((f) => f.kind === "expression")?.message).toContain('property "sed" is not defined');
  });
});

describe("timeoutMinutes", () => {
  it.each<[WorkflowKind, number, number]>([
    ["hosted", 300, 20],
    ["hosted", 30, 11],
    ["hosted", 61, 13],
    ["gpu", 300, 35],
    ["gpu", 3600, 145],
    ["strict", 300, 15],
    ["strict", 0.5, 11],
  ])("%s with a %s s time box: %s minutes", (kind, seconds, minutes) => {
    expect(timeoutMinutes(kind, seconds)).toBe(minutes);
  });
});

describe("renderWorkflow", () => {
  it("fills only the marked lines", () => {
    const before = workflowTemplate("hosted").split("\n");
    const after = renderWorkflow("hosted", { experimentTimeoutSeconds: 600, runsOn: ["ubuntu-24.04"] }).split("\n");
    const changed = before.flatMap((l, i) => (l === after[i] ? [] : [after[i]]));
    expect(changed).toEqual([`        default: '["ubuntu-24.04"]' # autoresearch:runs-on`, "    timeout-minutes: 30 # autoresearch:timeout-minutes"]);
  });

  it.each([
    ["an expression in the outputs", { outputs: ["${{secrets.X}}"] }, /would evaluate/],
    ["an output path with a space", { outputs: ["my model.bin"] }, /cannot hold one/],
    ["no time box", { experimentTimeoutSeconds: 0 }, /positive duration/],
  ])("refuses %s", (_what, over, message) => {
    expect(() => renderWorkflow("strict", { experimentTimeoutSeconds: 300, ...over })).toThrow(ConfigError);
    expect(() => renderWorkflow("strict", { experimentTimeoutSeconds: 300, ...over })).toThrow(message);
  });
});
