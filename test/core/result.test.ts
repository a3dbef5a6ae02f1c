import { describe, expect, it } from "vitest";
import { trustedArtifactId, uploadedLine } from "../../src/core/result.js";

const NAME = "autoresearch-result-3-1";

describe("trustedArtifactId", () => {
  it("takes the id the evaluate job's own line names, not one printed inside a fence", () => {
    const log = [
      "2026-01-01T00:00:00.0000000Z ::group::autoresearch: evaluation of training outputs, experiment 3, seed 1",
      "2026-01-01T00:00:00.1000000Z ::stop-commands::autoresearch-0123456789abcdef0123456789abcdef",
      `2026-01-01T00:00:00.2000000Z   ${uploadedLine(NAME, 7)}`,
      `2026-01-01T00:00:00.2000000Z ${uploadedLine(NAME, 8)}`,
      "2026-01-01T00:00:00.3000000Z ::autoresearch-0123456789abcdef0123456789abcdef::",
      "2026-01-01T00:00:00.4000000Z ::endgroup::",
      `2026-01-01T00:00:01.0000000Z ${uploadedLine(NAME, 12)}`,
    ].join("\n");
    expect(trustedArtifactId(log, NAME)).toBe(12);
  });

  it("names none when the evaluate job uploaded nothing (its upload of a name training took first failed)", () => {
    const log = ["::stop-commands::tok", uploadedLine(NAME, 5), "::tok::", `::error::Failed to CreateArtifact: an artifact with this name already exists`].join(
      "\n",
    );
    expect(trustedArtifactId(log, NAME)).toBeUndefined();
  });

  it("picks the evaluate job's artifact among two of the same name", () => {
    const artifacts = [
      { id: 4, name: NAME, from: "train (stolen token)" },
      { id: 9, name: NAME, from: "evaluate" },
    ];
    const id = trustedArtifactId(uploadedLine(NAME, 9), NAME);
    expect(artifacts.find((a) => a.id === id)?.from).toBe("evaluate");
    expect(trustedArtifactId(uploadedLine(NAME, 9), "autoresearch-result-3-2")).toBeUndefined();
  });
});
