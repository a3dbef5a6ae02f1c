import { describe, expect, it } from "vitest";
import { cleanText, sanitizeTail } from "../../src/runner/sanitize.js";

describe("cleanText", () => {
  it.each([
    ["plain text", "loss: 1.5\n\tok", "loss: 1.5\n\tok"],
    ["ANSI colours", "\u001b[31mred\u001b[0m \u001b[1;32mgreen\u001b[m", "red green"],
    ["cursor movement and erase", "a\u001b[2K\u001b[1Gb\u001b[?25l", "ab"],
    ["OSC hyperlink", "\u001b]8;;https://x.test\u0007link\u001b]8;;\u0007", "link"],
    ["OSC title with ST", "\u001b]0;title\u001b\\text", "text"],
    ["8-bit CSI", "\u009b31mred", "red"],
    ["control characters", "a\u0000b\u0007c\u0008d\u000be\u007ff", "abcdef"],
    ["CRLF", "one\r\ntwo\r\n", "one\ntwo\n"],
    ["progress bar carriage returns keep the last state", "10%\r50%\r100%\nnext", "100%\nnext"],
    ["a trailing carriage return", "50%\r\nx", "50%\nx"],
    ["zero-width characters", "va\u200bl\u200c_\u200dlo\u2060ss\ufeff", "val_loss"],
    ["bidi overrides and isolates", "\u202aa\u202b\u202c\u202d\u202eb\u2066c\u2067\u2068\u2069", "abc"],
    ["Unicode tag characters", "hi\udb40\udc41\udb40\udc42!", "hi!"],
    ["HTML comments", "a<!-- hidden\ninstructions -->b<!---->c", "abc"],
    ["an unterminated HTML comment opener", "a<!-- never closed", "a never closed"],
    ["comment markers rebuilt by a removal", "<!<!-- x -->-- y -->z", "z"],
    ["arrows stay", "1.5 --> 1.4", "1.5 --> 1.4"],
    ["non-ASCII text stays", "naïve – 日本語 😀", "naïve – 日本語 😀"],
  ])("%s", (_name, input, expected) => {
    expect(cleanText(input)).toBe(expected);
  });
});

describe("sanitizeTail", () => {
  it("keeps the end within the byte limit", () => {
    const text = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join("\n");
    const out = sanitizeTail(text, 100);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(100);
    expect(out.endsWith("line 999")).toBe(true);
    // Starts at a line boundary rather than mid-line.
    expect(out).toMatch(/^line \d+\n/);
  });

  it.each([1, 2, 3, 5, 7, 10, 33])("never splits a multi-byte character (limit %i)", (max) => {
    const out = sanitizeTail("日本語😀é".repeat(20), max);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
    expect(out).not.toContain("\ufffd");
    expect("日本語😀é".repeat(20).endsWith(out)).toBe(true);
  });

  it("cleans before cutting, so the limit counts visible text", () => {
    const out = sanitizeTail(`${"\u001b[31mx\u001b[0m".repeat(100)}`, 50);
    expect(out).toBe("x".repeat(50));
  });

  it("returns short text unchanged apart from cleaning", () => {
    expect(sanitizeTail("ok\u200b\n", 4096)).toBe("ok\n");
    expect(sanitizeTail("anything", 0)).toBe("");
  });

  it("is fast on huge adversarial input", () => {
    const t0 = performance.now();
    const out = sanitizeTail("<!--".repeat(2_000_000), 4096);
    expect(out).toBe("");
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
