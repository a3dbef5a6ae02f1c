/**
 * Bundles the Action (src/action/main.ts) into dist/action/index.js: one ESM file with every
 * dependency, for Node 20+ (action.yml runs it on node24). Deterministic, so CI can rebuild it
 * and fail when the committed bundle is stale (`git diff --exit-code dist/action`).
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };

await build({
  absWorkingDir: root,
  entryPoints: ["src/action/main.ts"],
  outdir: "dist/action",
  entryNames: "index",
  // The artifact client, imported only when uploading, goes to a chunk of its own.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Some bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  define: { __AUTORESEARCH_VERSION__: JSON.stringify(pkg.version) },
  legalComments: "eof",
  // Smaller source parses faster: startup is most of the Action's overhead on a short run.
  minify: true,
  sourcemap: false,
  logLevel: "warning",
});
process.stdout.write("wrote dist/action/index.js\n");
