import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEventInput } from "../../src/core/events.js";
import { LedgerError } from "../../src/errors.js";
import { FileLedgerStore, isTornWrite } from "../../src/local/ledger.js";
import { listCampaigns, nextCampaignId } from "../../src/local/paths.js";

let base: string;
let n = 0;
beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "ar-ledger-test-")));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const fixedClock = { now: () => new Date("2026-01-02T03:04:05.678Z") };
function store(): FileLedgerStore {
  return new FileLedgerStore(join(base, `campaign-${++n}`), { clock: fixedClock });
}
const resumed = (reason: string): NewEventInput => ({ type: "campaign_resumed", reason });
function line(seq: number, reason = `r${seq}`): string {
  return JSON.stringify({ v: 1, seq, at: "2026-01-01T00:00:00.000Z", type: "campaign_resumed", reason });
}

describe("FileLedgerStore", () => {
  it("round-trips events: stamped, one JSON line each, read back equal", async () => {
    const s = store();
    expect(await s.read()).toEqual({ events: [], problems: [] });
    const first = await s.append([resumed("a"), { type: "run_started", experiment: 0, commit: "abc", seed: 1 }], 0);
    expect(first).toEqual([
      { v: 1, seq: 1, at: "2026-01-02T03:04:05.678Z", type: "campaign_resumed", reason: "a", restart: true },
      { v: 1, seq: 2, at: "2026-01-02T03:04:05.678Z", type: "run_started", experiment: 0, commit: "abc", seed: 1 },
    ]);
    const second = await s.append([resumed("b")], 2);
    expect(second.map((e) => e.seq)).toEqual([3]);
    expect(await s.read()).toEqual({ events: [...first, ...second], problems: [] });
    const text = readFileSync(s.file, "utf8");
    expect(text.split("\n")).toHaveLength(4);
    expect(text.endsWith("\n")).toBe(true);
    expect(await s.append([], 3)).toEqual([]);
    expect(readFileSync(s.file, "utf8")).toBe(text);
  });

  it("refuses an append whose expected seq is not the last one (compare-and-swap)", async () => {
    const s = store();
    await s.append([resumed("a"), resumed("b")], 0);
    const before = readFileSync(s.file, "utf8");
    const err = await s.append([resumed("late")], 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as Error).message).toMatch(/expected the last event to be #1 but it is #2 \(another writer appended\)/);
    await expect(s.append([resumed("x")], 0)).rejects.toBeInstanceOf(LedgerError);
    expect(readFileSync(s.file, "utf8")).toBe(before);
  });

  it("reports a torn last line, refuses to append after it, and repairs it keeping the torn text", async () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    const torn = '{"v":1,"seq":3,"at":"2026-01-01T00:00:00.000Z","type":"campaign_res';
    writeFileSync(s.file, `${line(1)}\n${line(2)}\n${torn}`);

    const { events, problems } = await s.read();
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.line).toBe(3);
    expect(problems[0]?.message).toMatch(/^torn write: the last line of .*events\.jsonl has no newline/);
    expect(problems.every(isTornWrite)).toBe(true);
    // A torn line alone is repairable, not a reason to stop.
    await expect(s.assertReadable()).resolves.toMatchObject({ events: [{ seq: 1 }, { seq: 2 }] });
    await expect(s.append([resumed("c")], 2)).rejects.toThrow(/line 3 is a torn write; repair the ledger/);

    const r = await s.repair();
    expect(r).toEqual({ backup: `${s.file}.torn-2026-01-02T03-04-05-678Z`, line: 3, text: torn });
    expect(readFileSync(r?.backup ?? "", "utf8")).toBe(torn);
    expect(readFileSync(s.file, "utf8")).toBe(`${line(1)}\n${line(2)}\n`);
    expect((await s.read()).problems).toEqual([]);
    expect(await s.repair()).toBeUndefined();
    expect((await s.append([resumed("c")], 2)).map((e) => e.seq)).toEqual([3]);
  });

  it("treats a last line without newline as torn even when it parses, and never overwrites an earlier backup", async () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(s.file, `${line(1)}\n${line(2)}`);
    const first = await s.read();
    expect(first.events.map((e) => e.seq)).toEqual([1]);
    expect(first.problems.map((p) => [p.line, isTornWrite(p)])).toEqual([[2, true]]);
    const r1 = await s.repair();
    writeFileSync(s.file, `${line(1)}\nxx`);
    const r2 = await s.repair();
    expect(r2?.backup).not.toBe(r1?.backup);
    expect(readFileSync(r1?.backup ?? "", "utf8")).toBe(line(2));
    expect(readFileSync(r2?.backup ?? "", "utf8")).toBe("xx");
  });

  it("does not repair a corrupt line in the middle: assertReadable names the file and line", async () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    const text = `${line(1)}\n{"v":1,"seq":2,garbage\n${line(3)}\n`;
    writeFileSync(s.file, text);
    const { events, problems } = await s.read();
    expect(events.map((e) => e.seq)).toEqual([1, 3]);
    expect(problems.map((p) => [p.line, isTornWrite(p)])).toEqual([[2, false]]);

    const err = await s.assertReadable().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).line).toBe(2);
    expect((err as LedgerError).file).toBe(s.file);
    expect((err as Error).message).toMatch(/events\.jsonl line 2 cannot be read \(not valid JSON\).*Fix or delete that line by hand/);
    expect(await s.repair()).toBeUndefined();
    expect(readFileSync(s.file, "utf8")).toBe(text);
  });

  it("reports an unknown event in the middle as a problem assertReadable refuses", async () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(s.file, `${line(1)}\n{"v":1,"seq":2,"at":"x","type":"from_the_future"}\n${line(3)}\n`);
    await expect(s.assertReadable()).rejects.toThrow(/line 2 cannot be read \(not a known event/);
  });

  it("serializes concurrent appends: each caller's expected seq holds, seqs are consecutive", async () => {
    const s = store();
    // All twenty start before any finishes; without the queue they would all read seq 0.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.append([resumed(`c${i}`)], i)));
    expect(results.map((r) => r[0]?.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const { events, problems } = await s.read();
    expect(problems).toEqual([]);
    expect(events.map((e) => (e.type === "campaign_resumed" ? e.reason : ""))).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
  });

  it("keeps working after a failed append", async () => {
    const s = store();
    const [bad, good] = await Promise.allSettled([s.append([resumed("x")], 5), s.append([resumed("y")], 0)]);
    expect(bad.status).toBe("rejected");
    expect(good.status).toBe("fulfilled");
  });

  it("writes traces atomically and returns their relative path", async () => {
    const s = store();
    expect(await s.writeTrace(3, "# why\n")).toBe("traces/3.md");
    expect(readFileSync(join(s.dir, "traces/3.md"), "utf8")).toBe("# why\n");
    expect(await s.writeTrace(3, "# why, again\n")).toBe("traces/3.md");
    expect(readFileSync(join(s.dir, "traces/3.md"), "utf8")).toBe("# why, again\n");
    expect(readdirSync(join(s.dir, "traces"))).toEqual(["3.md"]);
  });

  it("forCampaign creates .autoresearch/ with a .gitignore holding *", async () => {
    const root = join(base, `root-${++n}`);
    mkdirSync(root);
    const s = await FileLedgerStore.forCampaign(root, 4);
    expect(s.dir).toBe(join(root, ".autoresearch/campaigns/4"));
    expect(readFileSync(join(root, ".autoresearch/.gitignore"), "utf8")).toBe("*\n");
    // A second call leaves a .gitignore the user edited alone.
    writeFileSync(join(root, ".autoresearch/.gitignore"), "*\n# mine\n");
    await FileLedgerStore.forCampaign(root, 5);
    expect(readFileSync(join(root, ".autoresearch/.gitignore"), "utf8")).toBe("*\n# mine\n");
  });

  it("stays readable after a writer is killed with SIGKILL in the middle of many appends", async () => {
    const modules = transpileLedgerModules();
    const dir = join(base, `killed-${++n}`);
    const script = `
      import { FileLedgerStore } from ${JSON.stringify(`${modules}/src/local/ledger.js`)};
      const store = new FileLedgerStore(${JSON.stringify(dir)});
      let seq = 0;
      for (let i = 0; ; i++) {
        // Many small appends, then big ones: a kill during a multi-megabyte write can cut it short.
        const count = i < 40 ? 2 : 8;
        const tail = i < 40 ? "small" : "t".repeat(1_000_000);
        const batch = Array.from({ length: count }, (_, k) => ({ type: "run_finished", experiment: i, commit: "c", seed: k, status: "ok", metric: 1, seconds: 1, exit_code: 0, tail }));
        seq = (await store.append(batch, seq)).at(-1).seq;
      }`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on("exit", (_code, signal) => done(signal)));
    const file = join(dir, "events.jsonl");
    // Kill it as soon as its first big write is under way (it never stops on its own).
    const deadline = Date.now() + 20_000;
    while (!(existsSync(file) && statSync(file).size > 100_000) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setImmediate(r));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    expect(stderr).toBe("");

    const s = new FileLedgerStore(dir);
    const before = await s.read();
    // Only a torn last line may be wrong; nothing in the middle.
    expect(before.problems.filter((p) => !isTornWrite(p))).toEqual([]);
    if (before.problems.length > 0) expect(await s.repair()).toBeDefined();
    const { events } = await s.assertReadable();
    expect(events.length).toBeGreaterThanOrEqual(80);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const last = events.length;
    expect((await s.append([resumed("after the crash")], last))[0]?.seq).toBe(last + 1);
    expect((await s.read()).problems).toEqual([]);
  });
});

describe("campaign folders", () => {
  it("lists campaigns in numeric order and picks the next id", async () => {
    const root = join(base, `root-${++n}`);
    expect(await listCampaigns(root)).toEqual([]);
    expect(await nextCampaignId(root)).toBe("1");
    for (const id of ["2", "10", "1", "notes"]) mkdirSync(join(root, ".autoresearch/campaigns", id), { recursive: true });
    writeFileSync(join(root, ".autoresearch/campaigns/99"), "a file, not a campaign");
    expect(await listCampaigns(root)).toEqual(["1", "2", "10", "notes"]);
    expect(await nextCampaignId(root)).toBe("11");
  });
});

/**
 * The child process runs plain Node, which cannot load TypeScript: transpile the ledger and what it
 * imports into a temporary folder whose node_modules points at ours (for zod).
 */
function transpileLedgerModules(): string {
  const repo = resolve(import.meta.dirname, "../..");
  const out = join(base, `js-${++n}`);
  for (const rel of ["src/errors.ts", "src/core/events.ts", "src/local/ledger.ts", "src/local/paths.ts"]) {
    const js = ts.transpileModule(readFileSync(join(repo, rel), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = join(out, rel.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  symlinkSync(join(repo, "node_modules"), join(out, "node_modules"), "dir");
  return out;
}
