/**
 * Renders the Action's inputs and outputs from action.yml into README.md, between
 * `<!-- action-docs:start -->` and `<!-- action-docs:end -->`, so they are never retyped.
 * `--check` fails when the README is stale.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const START = "<!-- action-docs:start -->";
const END = "<!-- action-docs:end -->";

const ActionYamlSchema = z.object({
  inputs: z.record(z.string(), z.object({ description: z.string(), required: z.boolean().default(false), default: z.string().optional() })),
  outputs: z.record(z.string(), z.object({ description: z.string() })),
});

function cell(s: string): string {
  return s.trim().replace(/\s+/g, " ").replace(/\|/g, "\\|");
}

/** The Markdown tables of action.yml's inputs and outputs. */
export function renderActionDocs(actionYaml: string): string {
  const action = ActionYamlSchema.parse(parse(actionYaml));
  const inputs = Object.entries(action.inputs).map(
    ([name, i]) =>
      `| \`${name}\` | ${i.required ? "yes" : "no"} | ${i.default === undefined || i.default === "" ? "" : `\`${i.default}\``} | ${cell(i.description)} |`,
  );
  const outputs = Object.entries(action.outputs).map(([name, o]) => `| \`${name}\` | ${cell(o.description)} |`);
  return [
    "<!-- generated from action.yml by scripts/action-docs.ts; do not edit by hand -->",
    "",
    "| Input | Required | Default | Description |",
    "| --- | --- | --- | --- |",
    ...inputs,
    "",
    "| Output | Description |",
    "| --- | --- |",
    ...outputs,
  ].join("\n");
}

/** `readme` with the section between the markers replaced by `docs`. */
export function spliceDocs(readme: string, docs: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${docs}\n${readme.slice(end)}`;
}

const readmePath = join(root, "README.md");
const readme = await readFile(readmePath, "utf8");
const updated = spliceDocs(readme, renderActionDocs(await readFile(join(root, "action.yml"), "utf8")));
if (process.argv.includes("--check")) {
  if (updated !== readme) {
    process.stderr.write("README.md's Action inputs/outputs are stale: run `node dist/scripts/action-docs.js` and commit it\n");
    process.exit(1);
  }
  process.stdout.write("README.md's Action docs are up to date\n");
} else if (updated !== readme) {
  await writeFile(readmePath, updated);
  process.stdout.write("updated README.md from action.yml\n");
}
