/**
 * Writes schema/autoresearch.schema.json from the zod schema (editor completion for
 * .github/autoresearch.yml). `--check` fails when the committed file is stale.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ConfigSchema } from "../src/core/config.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const target = join(root, "schema", "autoresearch.schema.json");

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
  return `${JSON.stringify({ $id: "https://github.com/autoresearch-bot/autoresearch-bot/schema/autoresearch.schema.json", title: "autoresearch configuration", ...schema }, null, 2)}\n`;
}

const text = configJsonSchema();
if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== text) {
    process.stderr.write("schema/autoresearch.schema.json is stale: run `npm run schema` and commit it\n");
    process.exit(1);
  }
  process.stdout.write("schema/autoresearch.schema.json is up to date\n");
} else {
  await writeFile(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
