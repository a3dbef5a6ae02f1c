/**
 * Helpers for the Action's end-to-end tests: a loopback artifact service speaking the protocol of
 * @actions/artifact (twirp CreateArtifact / FinalizeArtifact and an Azure-style blob upload), a
 * runner-like environment, temporary git repositories, and a reader of workflow commands that
 * treats the Action's stdout as the runner would.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import { parseFileCommand } from "../github/fake/runner.js";

/** The package root: the nearest folder above this file with a package.json (from test/ and from dist/test/). */
export const PACKAGE_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const BUNDLE = join(PACKAGE_ROOT, "dist", "action", "index.js");

/** Builds the bundle when it is missing (`.ci/run` builds and checks it before the tests). */
export function ensureBundled(): void {
  if (existsSync(BUNDLE)) return;
  execFileSync("npm", ["run", "build:action", "--silent"], { cwd: PACKAGE_ROOT, stdio: "inherit" });
}

/** One artifact the fake service received. */
export interface ReceivedArtifact {
  name: string;
  /** The uploaded blob (a zip), assembled from its blocks. */
  blob: Buffer;
  finalized: boolean;
  authorization: string | undefined;
  backendIds: { run: string; job: string };
}

const TWIRP = "/twirp/github.actions.results.api.v1.ArtifactService/";

/** A loopback artifact service; `url` goes into ACTIONS_RESULTS_URL. */
export interface FakeArtifactService {
  url: string;
  artifacts: ReceivedArtifact[];
  /** Requests it did not understand (a test fails when any). */
  unexpected: string[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startArtifactService(): Promise<FakeArtifactService> {
  const artifacts: ReceivedArtifact[] = [];
  const unexpected: string[] = [];
  const blocks = new Map<string, Map<string, Buffer>>();
  let base = "";
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", base);
    const data = await body(req);
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    if (req.method === "POST" && url.pathname === `${TWIRP}CreateArtifact`) {
      const r = JSON.parse(data.toString("utf8")) as Record<string, string>;
      // As GitHub's service: names are unique within a workflow run.
      if (artifacts.some((a) => a.name === r.name && a.backendIds.run === (r.workflow_run_backend_id ?? "")))
        return json(409, { code: "already_exists", msg: "an artifact with this name already exists on the workflow run" });
      artifacts.push({
        name: r.name ?? "",
        blob: Buffer.alloc(0),
        finalized: false,
        authorization: req.headers.authorization,
        backendIds: { run: r.workflow_run_backend_id ?? "", job: r.workflow_job_run_backend_id ?? "" },
      });
      return json(200, { ok: true, signed_upload_url: `${base}/blob/${encodeURIComponent(r.name ?? "")}?sig=fake-signature` });
    }
    if (req.method === "POST" && url.pathname === `${TWIRP}FinalizeArtifact`) {
      const r = JSON.parse(data.toString("utf8")) as Record<string, string>;
      const a = artifacts.find((x) => x.name === r.name);
      if (!a) return json(404, { msg: "no such artifact" });
      a.finalized = true;
      return json(200, { ok: true, artifact_id: String(artifacts.indexOf(a) + 1) });
    }
    if (req.method === "PUT" && url.pathname.startsWith("/blob/")) {
      const name = decodeURIComponent(url.pathname.slice("/blob/".length));
      const a = artifacts.find((x) => x.name === name);
      const comp = url.searchParams.get("comp");
      const headers = { "x-ms-request-id": "fake", "x-ms-version": "2025-01-05", "content-md5": "", etag: '"0x1"', "last-modified": new Date().toUTCString() };
      if (!a) {
        res.writeHead(404, headers).end();
        return;
      }
      if (comp === "block") {
        const id = url.searchParams.get("blockid") ?? "";
        const map = blocks.get(name) ?? new Map<string, Buffer>();
        map.set(id, data);
        blocks.set(name, map);
        res.writeHead(201, headers).end();
        return;
      }
      if (comp === "blocklist") {
        const ids = [...data.toString("utf8").matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)].map((m) => m[1] ?? "");
        const map = blocks.get(name) ?? new Map<string, Buffer>();
        a.blob = Buffer.concat(ids.map((id) => map.get(id) ?? Buffer.alloc(0)));
        res.writeHead(201, headers).end();
        return;
      }
      if (comp === null) {
        a.blob = data;
        res.writeHead(201, headers).end();
        return;
      }
    }
    unexpected.push(`${req.method} ${url.pathname}${url.search}`);
    json(404, { msg: "unexpected request" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    artifacts,
    unexpected,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The files of a zip archive (stored or deflated), read through its central directory. */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip archive");
  const count = zip.readUInt16LE(eocd + 10);
  let pos = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(pos + 10);
    const size = zip.readUInt32LE(pos + 20);
    const nameLen = zip.readUInt16LE(pos + 28);
    const extraLen = zip.readUInt16LE(pos + 30);
    const commentLen = zip.readUInt16LE(pos + 32);
    const local = zip.readUInt32LE(pos + 42);
    const name = zip.subarray(pos + 46, pos + 46 + nameLen).toString("utf8");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + size);
    files.set(name, method === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    pos += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

/** A JWT-shaped runtime token whose scope carries the backend ids, as @actions/artifact reads them. */
export function runtimeToken(): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ scp: "Actions.GenericRead Actions.Results:run-backend-1:job-backend-2" })}.c2ln`;
}

/** A temporary folder; `cleanup()` removes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `autoresearch-action-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, env: { ...process.env, ...GIT_ENV, HOME: repo }, encoding: "utf8" }).trim();
}

/**
 * A git repository in `dir` with `base` committed, then `experiment` (path -> content, null
 * deletes) committed on top: HEAD is the experiment, HEAD^ its parent.
 */
export async function makeRepo(dir: string, base: Record<string, string>, experiment: Record<string, string | null>): Promise<string> {
  const repo = join(dir, "repo");
  await mkdir(repo, { recursive: true });
  gitIn(repo, "init", "-q", "-b", "main");
  for (const [p, c] of Object.entries(base)) {
    await mkdir(dirname(join(repo, p)), { recursive: true });
    await writeFile(join(repo, p), c);
  }
  gitIn(repo, "add", "-A");
  gitIn(repo, "commit", "-q", "-m", "base");
  for (const [p, c] of Object.entries(experiment)) {
    if (c === null) await rm(join(repo, p));
    else {
      await mkdir(dirname(join(repo, p)), { recursive: true });
      await writeFile(join(repo, p), c);
    }
  }
  gitIn(repo, "add", "-A");
  gitIn(repo, "commit", "-q", "--allow-empty", "-m", "experiment");
  return repo;
}

/** What one run of the bundled Action did. */
export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** GITHUB_OUTPUT parsed (name -> value). */
  outputs: Record<string, string>;
  /** Raw GITHUB_ENV / GITHUB_PATH contents after the run. */
  githubEnv: string;
  githubPath: string;
  summary: string;
  runnerTemp: string;
}

/** Inputs and environment of one Action run. */
export interface RunOptions {
  repo: string;
  inputs: Record<string, string>;
  /** ACTIONS_RESULTS_URL; without it, pass `upload: "false"`. */
  resultsUrl?: string;
  env?: Record<string, string>;
  /** The runner's work folder (made by {@link runnerLayout}); a fresh one by default. */
  work?: string;
}

/** The runner's file-command files, as the runner lays them out under RUNNER_TEMP. */
const FILE_COMMANDS = {
  GITHUB_OUTPUT: "set_output_0f1e",
  GITHUB_ENV: "set_env_0f1e",
  GITHUB_PATH: "add_path_0f1e",
  GITHUB_STATE: "save_state_0f1e",
  GITHUB_STEP_SUMMARY: "step_summary_0f1e",
};

/** Where a run of {@link runBundledAction} in `work` finds its runner's files. */
export function runnerLayout(work: string): { runnerTemp: string; fileEnv: Record<string, string> } {
  const runnerTemp = join(work, "_temp");
  const fileEnv: Record<string, string> = {};
  for (const [k, f] of Object.entries(FILE_COMMANDS)) fileEnv[k] = join(runnerTemp, "_runner_file_commands", f);
  return { runnerTemp, fileEnv };
}

/** Runs `node dist/action/index.js` as the runner would: INPUT_*, file commands, runner variables. */
export async function runBundledAction(opts: RunOptions): Promise<ActionRun> {
  const work = opts.work ?? (await mkdtemp(join(tmpdir(), "autoresearch-runner-")));
  const { runnerTemp, fileEnv } = runnerLayout(work);
  await mkdir(join(runnerTemp, "_runner_file_commands"), { recursive: true });
  for (const f of Object.values(fileEnv)) await writeFile(f, "");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? work,
    LANG: "C.UTF-8",
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: opts.repo,
    RUNNER_TEMP: runnerTemp,
    RUNNER_NAME: "test-runner",
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    ACTIONS_RUNTIME_TOKEN: runtimeToken(),
    ACTIONS_RESULTS_URL: opts.resultsUrl ?? "http://127.0.0.1:9/",
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc-secret",
    ACTIONS_ID_TOKEN_REQUEST_URL: "http://127.0.0.1:9/oidc",
    ACTIONS_CACHE_URL: "http://127.0.0.1:9/cache",
    GITHUB_TOKEN: "ghs_secret",
    // Fail fast instead of retrying for minutes if the upload goes wrong.
    ACTIONS_ARTIFACT_UPLOAD_TIMEOUT_MS: "20000",
    ...fileEnv,
    ...opts.env,
  };
  for (const [k, v] of Object.entries(opts.inputs)) env[`INPUT_${k.replace(/ /g, "_").toUpperCase()}`] = v;
  const start = performance.now();
  const child = spawn(process.execPath, [BUNDLE], { cwd: opts.repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  const seconds = (performance.now() - start) / 1000;
  const read = (k: string) => readFile(fileEnv[k] ?? "", "utf8");
  return {
    code,
    stdout,
    stderr,
    seconds,
    outputs: parseFileCommand(await read("GITHUB_OUTPUT")),
    githubEnv: await read("GITHUB_ENV"),
    githubPath: await read("GITHUB_PATH"),
    summary: await read("GITHUB_STEP_SUMMARY"),
    runnerTemp,
  };
}

/**
 * The workflow commands the runner would act on in `stdout`: `::name ...::` lines (leading
 * whitespace trimmed, to be safe) and legacy `##[name]` anywhere in a line, skipping everything
 * between `::stop-commands::<token>` and `::<token>::`.
 */
export function activeCommands(stdout: string): { command: string; line: string }[] {
  const out: { command: string; line: string }[] = [];
  let stopToken: string | null = null;
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trim();
    if (stopToken !== null) {
      if (line === `::${stopToken}::`) stopToken = null;
      continue;
    }
    const m = /^::([A-Za-z-]+)[\s:]/.exec(line);
    if (m?.[1]) {
      out.push({ command: m[1], line });
      if (m[1] === "stop-commands") stopToken = line.slice("::stop-commands::".length);
      continue;
    }
    const legacy = /##\[([A-Za-z-]+)/.exec(line);
    if (legacy?.[1]) out.push({ command: `##${legacy[1]}`, line });
  }
  return out;
}

/** True while `pid` is a live process (zombies count as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
