import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { samplePeakMemory } from "../../src/runner/memory.js";

const run = (script: string) =>
  new Promise<void>((resolve) => spawn("sh", ["-c", `${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}`]).on("close", () => resolve()));

describe.runIf(process.platform === "linux")("samplePeakMemory", () => {
  it("sees the peak of a grandchild that allocates, then frees and idles", async () => {
    const sampler = samplePeakMemory(process.pid);
    // 200 MB touched, dropped, then 400 ms of idling: the high-water mark keeps the peak.
    await run("let b = Buffer.alloc(200e6, 1); b = null; globalThis.gc?.(); setTimeout(() => {}, 400);");
    const peak = await sampler.stop();
    expect(peak).toBeGreaterThan(200);
    expect(peak).toBeLessThan(2000);
  });

  it("is null when nothing ran", async () => {
    const sampler = samplePeakMemory(process.pid);
    await new Promise((r) => setTimeout(r, 120));
    expect(await sampler.stop()).toBeNull();
  });
});
