/** init's guesses from the repository alone (no run), on tables of small repositories. */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evalGuess, inputGuesses, type RepoView, runGuesses, scriptScore } from "../../src/cli/init/detect.js";
import { knobLists } from "../../src/cli/init/draft.js";
import { readRepo } from "../../src/cli/init.js";
import { type InitFixture, initFixtures, materialize } from "./init-fixtures.js";

const view = (tracked: Record<string, string>, untracked: string[] = [], python: string | undefined = "python3"): RepoView => ({
  tracked: Object.keys(tracked),
  texts: tracked,
  untracked,
  ...(python ? { python } : {}),
});

describe("runGuesses", () => {
  it.each([
    ["a train.py beside helpers and tests", { "train.py": "print('loss', 1)", "utils.py": "", "tests/test_train.py": "", "setup.py": "" }, "python3 train.py"],
    ["python where only python exists", { "train.py": "" }, "python train.py", "python"],
    [
      "a package.json train script over the file it runs",
      { "package.json": '{"scripts":{"train":"node src/train.mjs","test":"vitest"}}', "src/train.mjs": "" },
      "npm run --silent train",
    ],
    ["a Makefile target", { Makefile: "train:\n\tpython3 fit.py\nlint:\n\truff .\n", "fit.py": "" }, "make -s train"],
    [
      "a README command with its arguments, python rewritten to python3",
      { "README.md": "```sh\n$ pip install -r req.txt\n$ python main.py --epochs 3\n```\n", "main.py": "" },
      "python3 main.py --epochs 3",
    ],
    ["a README python -m command", { "README.md": "```bash\npython -m pkg.train\n```\n", "pkg/train.py": "", "pkg/__init__.py": "" }, "python3 -m pkg.train"],
    ["a network script over a data preparation script", { "prepare.py": "", "nn.js": "console.log('cost', 1)" }, "node nn.js"],
  ] as [string, Record<string, string>, string, string?][])("%s", (_what, files, command, python = "python3") => {
    expect(runGuesses(view(files, [], python))[0]?.command).toBe(command);
  });

  it("offers nothing without a runnable file, and never a test or a config file", () => {
    expect(runGuesses(view({ "README.md": "# notes" }))).toEqual([]);
    expect(runGuesses(view({ "test_model.py": "", "vite.config.js": "", "conftest.py": "" }))).toEqual([]);
    expect(scriptScore("tests/train.py", "")).toBeLessThan(-50);
  });
});

describe("evalGuess and inputGuesses", () => {
  it("finds an eval script beside the run's script", () => {
    const v = view({ "train.py": "", "eval.py": "", "other/evaluate.py": "" });
    expect(evalGuess(v, runGuesses(v)[0])).toBe("python3 eval.py");
  });

  it("offers the untracked files and folders the script names, never caches", () => {
    const v = view({ "train.py": 'open("input.txt")\npath = os.path.join("data", "x.bin")\nlog = "runs/1"\n' }, [
      "input.txt",
      "data/",
      "__pycache__/",
      "runs/",
      ".venv/",
      "notes.md",
    ]);
    expect(inputGuesses(v, ["train.py"])).toEqual(["data/", "input.txt", "runs/"]);
  });
});

describe("knobLists", () => {
  it("splits tunable knobs from measurement settings and leaves out run variables and printing calls", () => {
    const files = {
      "train.py": "lr = 0.1\neval_iters = 200\nloss = 0.0\nfor i in range(3):\n    loss += i\nopt = AdamW(p, lr=3e-4)\nprint(x, end=0)\nround(x, ndigits=3)\n",
    };
    expect(knobLists(files)).toEqual({ knobs: ["lr", "AdamW(lr)"], exclude: ["eval_iters"] });
  });
});

describe("the init fixtures", () => {
  let fixtures: InitFixture[];
  let root: string;
  beforeAll(async () => {
    fixtures = await initFixtures();
    root = await mkdtemp(join(tmpdir(), "autoresearch-init-detect-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("are at least 12, each with a different layout", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
    expect(new Set(fixtures.map((f) => f.layout)).size).toBe(fixtures.length);
  });

  it("each get the expected run command from the repository alone", async () => {
    const python = (() => {
      try {
        execFileSync("python3", ["--version"]);
        return "python3";
      } catch {
        return undefined;
      }
    })();
    expect(python, "the Python fixtures need python3 on the PATH, as on this project's machines").toBe("python3");
    for (const f of fixtures) {
      const repo = await materialize(f, join(root, f.name));
      const v = await readRepo(repo);
      const guesses = runGuesses(v);
      expect(guesses[0]?.command, f.name).toBe(f.run);
      expect(evalGuess(v, guesses[0]), f.name).toBe(f.eval);
      const inputs = Object.keys(f.untracked ?? {}).map((p) => (p.includes("/") ? `${p.split("/")[0]}/` : p));
      expect(inputGuesses(v, [guesses[0]?.file ?? ""], guesses[0]?.command), f.name).toEqual([...new Set(inputs)].sort());
    }
  }, 60_000);
});
