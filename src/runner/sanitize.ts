/**
 * Making process output safe to show and to hand to a model: no terminal escapes, no control or
 * invisible characters, no HTML comments (which hide text in rendered Markdown), bounded size.
 */

/** ANSI/VT escape sequences: CSI (incl. 8-bit), OSC (terminated by BEL or ST), and 2-char escapes. */
const ANSI_RE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u001b[ -/]*[0-~]?/g;

/** C0 and C1 control characters except \n and \t (\r is handled separately, before this). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Characters that render as nothing yet change meaning: zero-width and joiners, bidi embeddings,
 * overrides and isolates (U+202A-202E, U+2066-2069), marks (LRM, RLM, ALM), word joiner and invisible
 * operators, BOM, soft hyphen, Mongolian vowel separator, and Unicode tag characters (used to
 * smuggle hidden text to models).
 */
const INVISIBLE_RE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;

/**
 * Cleans text without bounding it: strips ANSI escapes, control characters (keeping \n and \t),
 * invisible/bidi characters and HTML comments. A carriage return that is not part of \r\n
 * overwrites the line in a terminal (progress bars), so only the text after the last one is kept.
 */
export function cleanText(text: string): string {
  let out = text.replace(ANSI_RE, "");
  out = out.replace(/\r\n/g, "\n");
  if (out.includes("\r")) {
    out = out
      .split("\n")
      .map((line) => {
        const parts = line.split("\r");
        // A trailing \r (e.g. "50%\r") leaves an empty last part: show the last visible state.
        for (let i = parts.length - 1; i >= 0; i--) if (parts[i] !== "") return parts[i];
        return "";
      })
      .join("\n");
  }
  out = out.replace(CONTROL_RE, "").replace(INVISIBLE_RE, "");
  // Removing a comment can join "<!" and "--" from around it into a new marker: repeat until stable.
  let prev: string;
  do {
    prev = out;
    out = stripHtmlComments(out);
  } while (out !== prev);
  return out;
}

/**
 * Cleans `text` (see {@link cleanText}) and keeps its end, at most `maxBytes` bytes of UTF-8, cut on
 * a character boundary and, when the cut is near one, at the start of a line.
 */
export function sanitizeTail(text: string, maxBytes: number): string {
  const max = Math.max(0, Math.floor(maxBytes));
  // Bound the work on huge inputs: cleaning only removes characters, and `max` bytes never need
  // more than `max` characters, so generous slack keeps the visible result the same in practice.
  const window = 4 * max + 4096;
  const input = text.length > window ? text.slice(text.length - window) : text;
  const clean = cleanText(input);
  return tailBytes(clean, max);
}

/** The end of `text`, at most `max` bytes of UTF-8, without splitting a character. */
export function tailBytes(text: string, max: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= max) return text;
  let start = buf.length - max;
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  let out = buf.subarray(start).toString("utf8");
  // Start at a line boundary when one is close, so the tail does not begin mid-word.
  const nl = out.indexOf("\n");
  if (nl >= 0 && nl < 160 && nl < out.length - 1) out = out.slice(nl + 1);
  return out;
}

/**
 * Removes `<!-- ... -->` comments, and the opener of an unterminated one (which would hide
 * everything after it when rendered). Linear, unlike a lazy regex on many unterminated openers.
 */
function stripHtmlComments(text: string): string {
  let out = "";
  let pos = 0;
  for (;;) {
    const open = text.indexOf("<!--", pos);
    if (open < 0) return out + text.slice(pos);
    out += text.slice(pos, open);
    const close = text.indexOf("-->", open + 4);
    if (close < 0)
      return (
        out +
        text
          .slice(open + 4)
          .split("<!--")
          .join("")
      );
    pos = close + 3;
  }
}
