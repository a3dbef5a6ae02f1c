/**
 * `autoresearch demo` with ANTHROPIC_API_KEY set proposes with claude, against a loopback
 * Messages API (ANTHROPIC_BASE_URL): the campaign runs, its spend is counted, and the key never
 * leaves the Authorization header.
 */
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt, lastLine, tempRoot } from "./helpers.js";

const KEY = "sk-ant-test-0123456789-do-not-leak";

interface Received {
  auth: string;
  body: string;
}

/** A Messages API that answers every request with a submission doubling LEARNING_RATE. */
function fakeAnthropic(received: Received[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      received.push({ auth: String(req.headers.authorization ?? req.headers["x-api-key"] ?? ""), body });
      if (req.url !== "/v1/messages") {
        res.writeHead(404).end();
        return;
      }
      // The editable file is in the request; propose against the value it holds now.
      const m = /const LEARNING_RATE = ([0-9.e-]+);/.exec(
        JSON.parse(body)
          .system?.map((b: { text: string }) => b.text)
          .join("\n") ?? "",
      );
      const lr = m?.[1] ?? "0.002";
      const reply = {
        id: `msg_${received.length}`,
        type: "message",
        role: "assistant",
        model: "claude-sonnet-5-5",
        content: [
          { type: "thinking", thinking: "The loss is still falling at the end: a larger step should help.", signature: "sig" },
          {
            type: "tool_use",
            id: `tu_${received.length}`,
            name: "submit_experiment",
            input: {
              title: "Double the learning rate",
              hypothesis: "Training has not converged within the time box, so a larger step lowers the loss.",
              expected_effect: "lower val_loss",
              edits: [{ kind: "replace", path: "train.mjs", search: `const LEARNING_RATE = ${lr};`, replace: `const LEARNING_RATE = ${Number(lr) * 2};` }],
            },
          },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

describe("autoresearch demo with ANTHROPIC_API_KEY", () => {
  let root: Awaited<ReturnType<typeof tempRoot>>;
  let api: { url: string; server: Server };
  const received: Received[] = [];

  beforeAll(async () => {
    ensureBuilt();
    root = await tempRoot("demo-claude");
    api = await fakeAnthropic(received);
  });
  afterAll(async () => {
    await new Promise((r) => api.server.close(r));
    await root.cleanup();
  });

  it("proposes with claude, counts its cost, and keeps the key out of request bodies, output and files", async () => {
    const r = await cli(root.dir, root.dir, ["demo", "--json", "--no-progress", "--max-experiments", "2"], {
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url },
      timeoutMs: 110_000,
    });
    expect(r.code, r.all).toBe(0);
    expect(r.stderr + r.stdout).toContain("proposing with claude");
    const summary = JSON.parse(lastLine(r.stdout)) as Record<string, number>;
    expect(summary.experiments).toBe(2);
    // Two proposals, one call each, at the default model's price: a positive, counted spend.
    expect(received.filter((q) => q.body.includes('"submit_experiment"')).length).toBe(2);
    expect(summary.cost_usd).toBeGreaterThan(0);

    for (const q of received) {
      expect(q.auth).toContain(KEY);
      expect(q.body).not.toContain(KEY);
    }
    expect(r.all).not.toContain(KEY);
    const dir = /Demo repository: (\S+)/.exec(r.all)?.[1];
    expect(dir).toBeTruthy();
    const files = await filesUnder(join(dir as string, ".autoresearch"));
    expect(files.some((f) => f.endsWith(".md") && f.includes("trace"))).toBe(true);
    for (const f of files) expect(await readFile(f, "utf8"), f).not.toContain(KEY);
    // The trace keeps the model's thinking.
    const traces = await Promise.all(files.filter((f) => f.includes("trace")).map((f) => readFile(f, "utf8")));
    expect(traces.join("\n")).toContain("a larger step should help");
  }, 120_000);
});
