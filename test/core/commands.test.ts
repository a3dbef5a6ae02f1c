import { describe, expect, it } from "vitest";
import { parseComment } from "../../src/core/commands.js";

describe("parseComment", () => {
  it.each([
    ["/autoresearch stop", [{ kind: "stop" }]],
    ["  /autoresearch PAUSE  ", [{ kind: "pause" }]],
    ["/autoresearch resume", [{ kind: "resume" }]],
    ["/autoresearch status", [{ kind: "status" }]],
    ["/autoresearch confirm", [{ kind: "confirm" }]],
    ["/autoresearch try a cosine schedule with warmup", [{ kind: "try", idea: "a cosine schedule with warmup" }]],
    ["Looks good.\n/autoresearch try lower dropout\nthanks", [{ kind: "try", idea: "lower dropout" }]],
    ["/autoresearch pause\n/autoresearch try x", [{ kind: "pause" }, { kind: "try", idea: "x" }]],
    // Shown, quoted or inside a sentence: not a command.
    ["```\n/autoresearch stop\n```", []],
    ["> /autoresearch stop", []],
    ["please do not /autoresearch stop", []],
    ["/autoresearchstop", []],
  ])("%j", (body, want) => {
    expect(parseComment(body)).toEqual({ commands: want, errors: [] });
  });

  it.each([
    ["/autoresearch", "needs a command"],
    ["/autoresearch destroy", "unknown command `destroy`"],
    ["/autoresearch stop now", "`/autoresearch stop` takes nothing after it"],
    ["/autoresearch try", "needs an idea"],
  ])("%j is an error that says what is allowed", (body, message) => {
    const r = parseComment(body);
    expect(r.commands).toEqual([]);
    expect(r.errors).toEqual([expect.stringContaining(message)]);
  });

  it("bounds an idea", () => {
    const [c] = parseComment(`/autoresearch try ${"x".repeat(5000)}`).commands;
    expect(c?.kind === "try" && c.idea.length).toBe(2000);
  });
});
