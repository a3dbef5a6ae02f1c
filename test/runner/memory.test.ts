import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { samplePeakMemory } from "../../src/runner/memory.js";

const run = (script: string) =>
  new Promise<void>((resolve) => spawn("sh", ["-c", `${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}`]).on("close", () => resolve()));

describe.runIf(process.platform === "linux")("samplePeakMemory", () => {
  it("sees the memory of a grandchild that allocates and holds it for a moment", async () => {
    const sampler = samplePeakMemory(process.pid);
    // 200e6 bytes (191 MiB) held for a second, so that even a loaded machine samples it once.
    await run("const b = Buffer.alloc(200e6, 1); setTimeout(() => b.length, 1000);");
    const peak = await sampler.stop();
    expect(peak).toBeGreaterThan(180);
    expect(peak).toBeLessThan(2000);
  });

  it("counts memory that many forks share once, not once per process", async () => {
    const sampler = samplePeakMemory(process.pid);
    const child = spawn("sh", ["-c", "for i in $(seq 400); do sleep 3 & done; wait"], { stdio: "ignore" });
    // While they sleep: what summing each one's resident memory would say.
    await new Promise((r) => setTimeout(r, 1500));
    let rssSumKb = 0;
    for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        const status = readFileSync(`/proc/${p}/status`, "latin1");
        if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === child.pid) rssSumKb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      } catch {
        // gone
      }
    }
    await new Promise((r) => child.on("close", r));
    const peak = await sampler.stop();
    expect(rssSumKb / 1024).toBeGreaterThan(100);
    expect(peak).not.toBeNull();
    expect(peak as number).toBeLessThan(rssSumKb / 1024 / 3);
  });

  it("is null when nothing ran", async () => {
    const sampler = samplePeakMemory(process.pid);
    await new Promise((r) => setTimeout(r, 120));
    expect(await sampler.stop()).toBeNull();
  });
});
