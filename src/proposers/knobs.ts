/**
 * Knobs: the numeric constants a training script assigns at its top level, as people write them
 * (`const LEARNING_RATE = 0.002;`, `learning_rate = 3e-4  # comment`). The mutate proposer tunes
 * them. Pure text analysis: no I/O.
 */
import { ProposerError } from "../errors.js";

/** A top-level numeric constant of an editable file. */
export interface Knob {
  /** Repository-relative path of the file. */
  file: string;
  name: string;
  value: number;
  /** True when the literal is an integer (no "." and no exponent): its mutations stay integers. */
  isInt: boolean;
  /** 1-based line number. */
  line: number;
  /** The whole original line, without its line break. */
  text: string;
  /** The number as written (sign and underscores included). */
  literal: string;
  /** Offset of `literal` inside `text`. */
  column: number;
}

type Lang = "js" | "py";

const JS_EXT = /\.(?:[cm]?[jt]s|[jt]sx)$/i;

/** JavaScript and TypeScript files use `const`/`let`/`var` and C-style comments; others Python rules. */
export function languageOf(path: string): Lang {
  return JS_EXT.test(path) ? "js" : "py";
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const NUM = String.raw`[-+]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][-+]?${DIGITS})?`;
const JS_ASSIGN = new RegExp(
  String.raw`^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*number\s*)?=\s*(${NUM})\s*;?\s*(?:\/\/.*|\/\*.*\*\/\s*)?$`,
  "d",
);
const PY_ASSIGN = new RegExp(String.raw`^([A-Za-z_]\w*)\s*(?::\s*(?:int|float)\s*)?=\s*(${NUM})\s*(?:#.*)?$`, "d");

/**
 * For each line, whether it starts in plain code at bracket depth 0: not inside a string, a
 * comment, or an open (, [ or {. A small lexer, good enough for real scripts; JavaScript regex
 * literals are not recognised (a quote inside one may hide the lines after it).
 */
export function topLevelLines(content: string, lang: Lang): boolean[] {
  const out: boolean[] = [];
  type State = { kind: "code" } | { kind: "line_comment" } | { kind: "block_comment" } | { kind: "string"; quote: string; triple: boolean };
  let state: State = { kind: "code" };
  let depth = 0;
  let atLineStart = true;
  for (let i = 0; i < content.length; i++) {
    if (atLineStart) {
      out.push(state.kind === "code" && depth === 0);
      atLineStart = false;
    }
    const c = content[i] as string;
    if (c === "\n") {
      atLineStart = true;
      if (state.kind === "line_comment") state = { kind: "code" };
      // An unterminated one-line string ends with its line (a syntax error we should not spread).
      if (state.kind === "string" && !state.triple && state.quote !== "`") state = { kind: "code" };
      continue;
    }
    switch (state.kind) {
      case "line_comment":
        break;
      case "block_comment":
        if (c === "*" && content[i + 1] === "/") {
          state = { kind: "code" };
          i++;
        }
        break;
      case "string":
        if (c === "\\") {
          if (content[i + 1] !== "\n") i++;
        } else if (state.triple ? content.startsWith(state.quote.repeat(3), i) : c === state.quote) {
          if (state.triple) i += 2;
          state = { kind: "code" };
        }
        break;
      case "code":
        if (lang === "py" && c === "#") state = { kind: "line_comment" };
        else if (lang === "js" && c === "/" && content[i + 1] === "/") state = { kind: "line_comment" };
        else if (lang === "js" && c === "/" && content[i + 1] === "*") {
          state = { kind: "block_comment" };
          i++;
        } else if (c === '"' || c === "'" || (lang === "js" && c === "`")) {
          const triple = lang === "py" && content.startsWith(c.repeat(3), i);
          state = { kind: "string", quote: c, triple };
          if (triple) i += 2;
        } else if (c === "(" || c === "[" || c === "{") depth++;
        else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
        break;
    }
  }
  if (atLineStart) out.push(state.kind === "code" && depth === 0);
  return out;
}

/** Parses a numeric literal as written ("1_000", "-3e-4"). */
export function parseLiteral(literal: string): { value: number; isInt: boolean } {
  return { value: Number(literal.replaceAll("_", "")), isInt: !/[.eE]/.test(literal) };
}

/** The top-level numeric constants of one file, in line order (the last assignment of a name wins). */
export function findKnobsInFile(file: string, content: string): Knob[] {
  const lang = languageOf(file);
  const pattern = lang === "js" ? JS_ASSIGN : PY_ASSIGN;
  const top = topLevelLines(content, lang);
  const byName = new Map<string, Knob>();
  content.split("\n").forEach((raw, index) => {
    if (!top[index]) return;
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const m = pattern.exec(text);
    const name = m?.[1];
    const literal = m?.[2];
    const at = m?.indices?.[2]?.[0];
    if (name === undefined || literal === undefined || at === undefined) return;
    const { value, isInt } = parseLiteral(literal);
    if (!Number.isFinite(value)) return;
    byName.delete(name); // keep line order for a reassigned name
    byName.set(name, { file, name, value, isInt, line: index + 1, text, literal, column: at });
  });
  return [...byName.values()].sort((a, b) => a.line - b.line);
}

/** The top-level numeric constants of every file, files in path order. */
export function findKnobs(files: Record<string, string>): Knob[] {
  return Object.keys(files)
    .sort()
    .flatMap((file) => findKnobsInFile(file, files[file] ?? ""));
}

/**
 * The knobs to tune: all of them when `names` is empty, otherwise those named. Throws a
 * ProposerError naming what was asked for and not found.
 */
export function selectKnobs(all: readonly Knob[], names: readonly string[], files: readonly string[] = []): Knob[] {
  const where = files.length > 0 ? files.join(", ") : "the editable files";
  if (names.length === 0) {
    if (all.length === 0) {
      throw new ProposerError(`mutate found no top-level numeric constants in ${where}; list them in proposer.knobs or use proposer.kind: claude`);
    }
    return [...all];
  }
  const wanted = new Set(names);
  const missing = [...wanted].filter((n) => !all.some((k) => k.name === n));
  if (missing.length > 0) {
    const found = all.length > 0 ? `found: ${[...new Set(all.map((k) => k.name))].join(", ")}` : "found none";
    throw new ProposerError(`proposer.knobs names constants that are not top-level numeric constants of ${where}: ${missing.join(", ")} (${found})`);
  }
  return all.filter((k) => wanted.has(k.name));
}

/**
 * Writes a number in the style of the literal it replaces: integers stay integers (with `_`
 * separators if the original had them), exponent notation stays exponent notation, and a float
 * keeps a "." so Python does not turn it into an int.
 */
export function formatValue(value: number, like: Pick<Knob, "isInt" | "literal">, precision = 2): string {
  if (like.isInt) {
    const n = Math.round(value);
    const s = String(Math.abs(n));
    const body = like.literal.includes("_") ? s.replace(/\B(?=(\d{3})+$)/g, "_") : s;
    return n < 0 ? `-${body}` : body;
  }
  const rounded = Number(value.toPrecision(precision));
  if (/[eE]/.test(like.literal)) {
    const [mantissa = "0", exp = "0"] = rounded.toExponential().split("e");
    const e = Number(exp);
    return `${mantissa}e${e}`;
  }
  let s = String(rounded);
  if (!/[.eE]/.test(s)) s += ".0";
  return s;
}

/** The knob's line with its literal replaced. */
export function lineWithValue(knob: Knob, literal: string): string {
  return knob.text.slice(0, knob.column) + literal + knob.text.slice(knob.column + knob.literal.length);
}
