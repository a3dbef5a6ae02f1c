/**
 * `autoresearch init --claude` against a loopback Messages API (ANTHROPIC_BASE_URL): the draft is
 * shown field by field, applied with --yes, not applied without approval, and checked against
 * the run's output before it is offered.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/core/config.js";
import { cli, ensureBuilt, makeRepo, tempRoot } from "./helpers.js";

const KEY = "sk-ant-init-test-do-not-leak";
const TRAIN = `import os
LR = 0.3
WD = 0.01
log_every = 1
for step in range(3):
    print(f"step {step}: val loss {(LR - 0.1) ** 2 + 1 / (step + 1) + WD:.5f}")
`;

/** A Messages API that answers with the given submit_config input; records what it received. */
function fakeApi(input: () => Record<string, unknown>, received: { auth: string; body: string }[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      received.push({ auth: String(req.headers["x-api-key"] ?? req.headers.authorization ?? ""), body });
      const reply = {
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "claude-sonnet-5-5",
        content: [{ type: "tool_use", id: "tu_1", name: "submit_config", input: input() }],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: { input_tokens: 2000, output_tokens: 300, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

const DRAFT = {
  run: "python3 train.py",
  eval: null,
  editable: ["train.py"],
  inputs: [],
  metric: { name: "val_loss", goal: "minimize", pattern: "val loss ([0-9.]+)" },
  knobs: ["LR"],
  exclude: ["WD", "log_every"],
  instructions: "Lower the validation loss. Try a smaller learning rate first; weight decay is fixed by the benchmark.",
};

describe("init --claude", { timeout: 60_000 }, () => {
  let root: Awaited<ReturnType<typeof tempRoot>>;
  let api: { url: string; server: Server };
  const received: { auth: string; body: string }[] = [];
  let reply: Record<string, unknown> = DRAFT;

  beforeAll(async () => {
    ensureBuilt();
    root = await tempRoot("init-claude");
    api = await fakeApi(() => reply, received);
  });
  afterAll(async () => {
    await new Promise((r) => api.server.close(r));
    await root.cleanup();
  });

  it("shows the draft's changes and applies them with --yes; the key stays in the header", async () => {
    reply = DRAFT;
    const repo = await makeRepo(root.dir, "yes", { "train.py": TRAIN });
    const r = await cli(root.dir, repo, ["init", "--yes", "--run-once", "--claude"], { env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url } });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("Claude's draft changes:");
    expect(r.stdout).toContain("  proposer.knobs: LR, WD -> LR");
    expect(r.stdout).toContain("  metric.pattern: ");
    expect(r.stdout).toContain("Applied (--yes).");
    const config = parseConfigText(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8"));
    expect(config.proposer).toMatchObject({ knobs: ["LR"], exclude: ["WD", "log_every"], instructions: DRAFT.instructions });
    expect(config.metric.pattern).toBe("val loss ([0-9.]+)");
    // The request carried the script and the run's output; the key only in its header.
    const body = received.at(-1)?.body ?? "";
    expect(body).toContain("LR = 0.3");
    expect(body).toContain("step 2: val loss");
    expect(received.at(-1)?.auth).toContain(KEY);
    expect(body).not.toContain(KEY);
    expect(r.all).not.toContain(KEY);
  });

  it("does not apply the draft without approval, and says how to", async () => {
    reply = DRAFT;
    const repo = await makeRepo(root.dir, "no", { "train.py": TRAIN });
    const r = await cli(root.dir, repo, ["init", "--run-once", "--claude"], { env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url } });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("Claude's draft changes:");
    expect(r.stdout).toContain("Not applied: approve it in a terminal, or run again with --yes.");
    const config = parseConfigText(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8"));
    expect(config.proposer.instructions).toBe("");
    expect(config.proposer.knobs).toEqual(["LR", "WD"]);
  });

  it("keeps init's metric when Claude's reads nothing from the output", async () => {
    reply = { ...DRAFT, metric: { name: "accuracy", goal: "maximize", pattern: "acc ([0-9.]+)" } };
    const repo = await makeRepo(root.dir, "bad-metric", { "train.py": TRAIN });
    const r = await cli(root.dir, repo, ["init", "--yes", "--run-once", "--claude"], { env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url } });
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toContain("Claude's metric (accuracy, pattern acc ([0-9.]+)) reads no number from the run's output; the metric found by init is kept.");
    const config = parseConfigText(await readFile(join(repo, ".github", "autoresearch.yml"), "utf8"));
    expect(config.metric).toMatchObject({ name: "val_loss", goal: "minimize" });
  });

  it("needs a key", async () => {
    const repo = await makeRepo(root.dir, "no-key", { "train.py": TRAIN });
    const r = await cli(root.dir, repo, ["init", "--yes", "--claude"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("autoresearch: init --claude needs ANTHROPIC_API_KEY; set it, or run init without --claude");
  });
});
