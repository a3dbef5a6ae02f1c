import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COPY_MAX_BYTES, missingInputs, missingInputsMessage, provideInputs, resolveInputs } from "../../src/runner/inputs.js";

let root: string;
let run: string;
beforeEach(async () => {
  const dir = await mkdtemp(join(tmpdir(), "autoresearch-inputs-"));
  root = join(dir, "repo");
  run = join(dir, "run");
  await mkdir(join(root, "data", "raw"), { recursive: true });
  await mkdir(run);
  await writeFile(join(root, "input.txt"), "hello\n");
  await writeFile(join(root, "data", "raw", "a.csv"), "1,2\n");
  await writeFile(join(root, "data", "b.bin"), Buffer.alloc(COPY_MAX_BYTES + 1));
  await writeFile(join(root, "data", "c.bin"), "small");
});
afterEach(async () => {
  await rm(join(root, ".."), { recursive: true, force: true });
});

describe("resolveInputs", () => {
  it.each([
    ["input.txt", ["input.txt"]],
    ["./input.txt", ["input.txt"]],
    ["data/", ["data"]],
    ["data", ["data"]],
    ["data/*.bin", ["data/b.bin", "data/c.bin"]],
    ["data/**/*.csv", ["data/raw/a.csv"]],
    ["**/*.csv", ["data/raw/a.csv"]],
    ["missing.txt", []],
    ["nothere/*.bin", []],
  ])("%s matches %j", async (entry, paths) => {
    expect(await resolveInputs(root, [entry])).toEqual([{ entry, paths }]);
  });

  it("names the entries that match nothing, and says what to do", async () => {
    const missing = await missingInputs(root, ["input.txt", "data/train.bin", "data/*.npy"]);
    expect(missing).toEqual(["data/train.bin", "data/*.npy"]);
    const msg = missingInputsMessage(missing, root);
    expect(msg).toContain('"data/train.bin", "data/*.npy" are not in');
    expect(msg).toContain("docs/troubleshooting.md");
  });
});

describe("provideInputs", () => {
  it("copies small files read-only, links large files and folders, and leaves checked-out files alone", async () => {
    await writeFile(join(run, "tracked.txt"), "from the commit");
    await writeFile(join(root, "tracked.txt"), "from the working tree");
    const done = await provideInputs(root, run, ["input.txt", "data/*.bin", "data/raw", "tracked.txt", "gone.txt"]);
    expect(done).toEqual({ copied: ["input.txt", "data/c.bin"], linked: ["data/b.bin", "data/raw"], present: ["tracked.txt"], missing: ["gone.txt"] });
    expect(await readFile(join(run, "input.txt"), "utf8")).toBe("hello\n");
    expect((await stat(join(run, "input.txt"))).mode & 0o222).toBe(0);
    expect((await lstat(join(run, "data", "raw"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(run, "data", "b.bin"))).toBe(join(root, "data", "b.bin"));
    expect(await readFile(join(run, "data", "raw", "a.csv"), "utf8")).toBe("1,2\n");
    expect(await readFile(join(run, "tracked.txt"), "utf8")).toBe("from the commit");
  });

  it("removing the run directory removes the links, never the originals", async () => {
    await provideInputs(root, run, ["data/"]);
    await rm(run, { recursive: true, force: true });
    expect(await readFile(join(root, "data", "raw", "a.csv"), "utf8")).toBe("1,2\n");
  });

  it("puts an input a run could not follow a link to into the run directory, hard-linked: no data copied, originals untouched", async () => {
    const done = await provideInputs(root, run, ["data/"], { mustMaterialize: (source) => source === join(root, "data") });
    expect(done).toEqual({ copied: ["data"], linked: [], present: [], missing: [] });
    expect((await lstat(join(run, "data"))).isDirectory()).toBe(true);
    // The same file (inode), not a copy: a 1 MiB data set costs nothing to provide.
    expect((await stat(join(run, "data", "b.bin"))).ino).toBe((await stat(join(root, "data", "b.bin"))).ino);
    expect(await readFile(join(run, "data", "raw", "a.csv"), "utf8")).toBe("1,2\n");
    await rm(run, { recursive: true, force: true });
    expect(await readFile(join(root, "data", "raw", "a.csv"), "utf8")).toBe("1,2\n");
    expect((await stat(join(root, "data", "b.bin"))).size).toBe(COPY_MAX_BYTES + 1);
  });

  it("does nothing without inputs", async () => {
    expect(await provideInputs(root, run, [])).toEqual({ copied: [], linked: [], present: [], missing: [] });
    expect(await provideInputs(root, run, undefined)).toEqual({ copied: [], linked: [], present: [], missing: [] });
  });
});
