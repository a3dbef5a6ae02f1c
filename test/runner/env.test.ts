import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config.js";
import { ConfigError } from "../../src/errors.js";
import { runEnvEntryProblem, runEnvironment } from "../../src/runner/env.js";

const JOB = {
  PATH: "/usr/bin",
  HOME: "/home/u",
  LANG: "C.UTF-8",
  LC_ALL: "C",
  VIRTUAL_ENV: "/venv",
  pythonLocation: "/opt/py",
  CUDA_VISIBLE_DEVICES: "0",
  NCCL_DEBUG: "INFO",
  AWS_SECRET_ACCESS_KEY: "aws",
  HF_TOKEN: "hf",
  WANDB_API_KEY: "wandb",
  ANTHROPIC_API_KEY: "sk-ant",
  ANTHROPIC_AUTH_TOKEN: "tok",
  GITHUB_TOKEN: "ghs",
  ACTIONS_RUNTIME_TOKEN: "rt",
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc",
  INPUT_SEED: "1",
  GITHUB_ENV: "/runner/env",
  NODE_OPTIONS: "--require /x.js",
};

describe("runEnvironment", () => {
  it("passes the safe default and nothing else", () => {
    expect(runEnvironment(JOB)).toEqual({ PATH: "/usr/bin", HOME: "/home/u", LANG: "C.UTF-8", LC_ALL: "C", VIRTUAL_ENV: "/venv", pythonLocation: "/opt/py" });
  });

  it("passes what run_env names, by name or prefix", () => {
    const env = runEnvironment(JOB, ["CUDA_VISIBLE_DEVICES", "NCCL_*", "WANDB_API_KEY"]);
    expect(env).toMatchObject({ CUDA_VISIBLE_DEVICES: "0", NCCL_DEBUG: "INFO", WANDB_API_KEY: "wandb" });
    expect(Object.keys(env)).not.toContain("HF_TOKEN");
  });

  it("never passes a credential of the tool or the runner, even when a pattern would match it", () => {
    const env = runEnvironment(JOB, ["ANTHROPIC_API_KEY", "ACTIONS_*", "GITHUB_*", "INPUT_*"]);
    for (const k of ["ANTHROPIC_API_KEY", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_TOKEN", "GITHUB_ENV", "INPUT_SEED"])
      expect(env[k]).toBeUndefined();
  });
});

describe("run_env in the configuration", () => {
  it.each([
    ["GITHUB_TOKEN", /run_env\[0\]: "GITHUB_TOKEN" would pass GITHUB_TOKEN/],
    ["ACTIONS_RUNTIME_TOKEN", /run_env\[0\]: .*ACTIONS_\*/],
    ["ANTHROPIC_*", /run_env\[0\]: .*ANTHROPIC_API_KEY/],
    ["A*", /run_env\[0\]: /],
    ["*", /run_env\[0\]: /],
    ["INPUT_SEED", /run_env\[0\]: /],
    ["NOT A NAME", /run_env\[0\]: expected a variable name/],
  ])("refuses %s with the key path", (entry, message) => {
    const parse = () => parseConfig({ metric: { name: "m", goal: "minimize" }, run: "x", editable: ["x"], run_env: [entry] });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(message);
  });

  it.each(["CUDA_VISIBLE_DEVICES", "NCCL_*", "WANDB_API_KEY", "HF_TOKEN"])("accepts %s", (entry) => {
    expect(runEnvEntryProblem(entry)).toBeUndefined();
  });
});
