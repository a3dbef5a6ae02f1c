/**
 * Knobs: the numbers a training script's hyperparameters are written as. Constants assigned at
 * the top level (`const LEARNING_RATE = 0.002;`, `learning_rate = 3e-4  # comment`), and numeric
 * keyword or named arguments of calls (`AdamW(model.parameters(), lr=3e-4)`,
 * `new Adam({ learningRate: 0.01 })`), which are tuned only when the configuration lists them.
 * The mutate proposer tunes them. Pure text analysis: no I/O.
 */
import { ProposerError } from "../errors.js";

/** A number of an editable file that mutate can change: a top-level constant or a call's keyword argument. */
export interface Knob {
  /** Repository-relative path of the file. */
  file: string;
  /** The constant's name, or "Callee(arg)" for an argument ("AdamW(lr)", "AdamW(lr)#2" for a second call in the file). */
  name: string;
  /** A top-level constant, or a keyword / named argument of a call. */
  kind: "constant" | "argument";
  /** Arguments only: the called name as written ("torch.optim.AdamW") and the argument's name ("lr"). */
  callee?: string;
  arg?: string;
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
    byName.set(name, { file, name, kind: "constant", value, isInt, line: index + 1, text, literal, column: at });
  });
  return [...byName.values()].sort((a, b) => a.line - b.line);
}

/** The top-level numeric constants of every file, files in path order. */
export function findKnobs(files: Record<string, string>): Knob[] {
  return Object.keys(files)
    .sort()
    .flatMap((file) => findKnobsInFile(file, files[file] ?? ""));
}

const IDENT = String.raw`[A-Za-z_$][\w$]*`;
/** `name = 1e-3` right after "(" or "," inside a call: a keyword argument (Python) or a default parameter. */
const KWARG_EQ = new RegExp(String.raw`(${IDENT})[ \t]*=(?!=)[ \t]*(${NUM})(?=[ \t]*(?:[,)#]|\/\/|\r?\n|$))`, "y");
/** `name: 0.01` right after "{" or "," in an object literal passed to a call: a named argument (JavaScript). */
const KWARG_COLON = new RegExp(String.raw`(${IDENT})[ \t]*:[ \t]*(${NUM})(?=[ \t]*(?:[,}]|\/\/|\r?\n|$))`, "y");
const CALLEE = new RegExp(String.raw`(${IDENT}(?:[ \t]*\.[ \t]*${IDENT})*)[ \t]*$`);
/** Words before "(" that are not calls. */
const NOT_CALLEES = new Set([
  "if",
  "elif",
  "while",
  "for",
  "return",
  "and",
  "or",
  "not",
  "in",
  "is",
  "switch",
  "catch",
  "with",
  "assert",
  "yield",
  "await",
  "typeof",
  "lambda",
  "print",
]);

/**
 * The numeric keyword / named arguments of calls in one file, in order: `f(x, lr=0.1)` and
 * function defaults `def f(lr=0.1)` / `function f(lr = 0.1)` (both languages), and
 * `f({ lr: 0.1 })` (an object literal passed to a call, JavaScript). Strings and comments are
 * skipped. A second argument of the same call name in a file gets "#2", and so on.
 */
export function findArgumentKnobsInFile(file: string, content: string): Knob[] {
  const lang = languageOf(file);
  const knobs: Knob[] = [];
  const seen = new Map<string, number>();
  type Frame = { open: string; callee?: string };
  const stack: Frame[] = [];
  type State = "code" | "line_comment" | "block_comment" | { quote: string; triple: boolean };
  let state: State = "code";
  let lastSignificant = "";
  const lineStarts = [0];
  for (let i = 0; i < content.length; i++) if (content[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (at: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const record = (m: RegExpExecArray, at: number, callee: string) => {
    const arg = m[1] as string;
    const literal = m[2] as string;
    const { value, isInt } = parseLiteral(literal);
    if (!Number.isFinite(value)) return;
    const literalAt = at + m[0].lastIndexOf(literal);
    const line = lineOf(literalAt);
    const start = lineStarts[line] as number;
    const end = content.indexOf("\n", start);
    let text = content.slice(start, end === -1 ? content.length : end);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const short = callee.split(".").at(-1) as string;
    const base = `${short}(${arg})`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    knobs.push({
      file,
      name: n === 1 ? base : `${base}#${n}`,
      kind: "argument",
      callee,
      arg,
      value,
      isInt,
      line: line + 1,
      text,
      literal,
      column: literalAt - start,
    });
  };
  for (let i = 0; i < content.length; i++) {
    const c = content[i] as string;
    if (state === "line_comment") {
      if (c === "\n") state = "code";
      continue;
    }
    if (state === "block_comment") {
      if (c === "*" && content[i + 1] === "/") {
        state = "code";
        i++;
      }
      continue;
    }
    if (typeof state === "object") {
      if (c === "\\") i++;
      else if (state.triple ? content.startsWith(state.quote.repeat(3), i) : c === state.quote) {
        if (state.triple) i += 2;
        state = "code";
        lastSignificant = "s";
      } else if (c === "\n" && !state.triple && state.quote !== "`") state = "code";
      continue;
    }
    if (lang === "py" && c === "#") state = "line_comment";
    else if (lang === "js" && c === "/" && content[i + 1] === "/") state = "line_comment";
    else if (lang === "js" && c === "/" && content[i + 1] === "*") {
      state = "block_comment";
      i++;
    } else if (c === '"' || c === "'" || (lang === "js" && c === "`")) {
      const triple = lang === "py" && content.startsWith(c.repeat(3), i);
      state = { quote: c, triple };
      if (triple) i += 2;
    } else if (c === "(" || c === "[" || c === "{") {
      let callee: string | undefined;
      if (c === "(") {
        const m = CALLEE.exec(content.slice(Math.max(0, i - 200), i));
        const name = m?.[1]?.replace(/[ \t]/g, "");
        if (name && !NOT_CALLEES.has(name)) callee = name;
      }
      stack.push({ open: c, callee });
      lastSignificant = c;
    } else if (c === ")" || c === "]" || c === "}") {
      stack.pop();
      lastSignificant = c;
    } else if (!/\s/.test(c)) {
      const top = stack.at(-1);
      if ((lastSignificant === "(" || lastSignificant === ",") && top?.open === "(" && top.callee) {
        KWARG_EQ.lastIndex = i;
        const m = KWARG_EQ.exec(content);
        if (m) {
          record(m, i, top.callee);
          i += m[0].length - 1;
          lastSignificant = "v";
          continue;
        }
      }
      const parent = stack.at(-2);
      if (lang === "js" && (lastSignificant === "{" || lastSignificant === ",") && top?.open === "{" && parent?.open === "(" && parent.callee) {
        KWARG_COLON.lastIndex = i;
        const m = KWARG_COLON.exec(content);
        if (m) {
          record(m, i, parent.callee);
          i += m[0].length - 1;
          lastSignificant = "v";
          continue;
        }
      }
      lastSignificant = c;
    }
  }
  return knobs;
}

/** Every knob of every file, constants and arguments, files in path order. */
export function findAllKnobs(files: Record<string, string>): Knob[] {
  return Object.keys(files)
    .sort()
    .flatMap((file) =>
      [...findKnobsInFile(file, files[file] ?? ""), ...findArgumentKnobsInFile(file, files[file] ?? "")].sort((a, b) => a.line - b.line || a.column - b.column),
    );
}

/** A parsed entry of `proposer.knobs` / `proposer.exclude`. */
export type KnobSpec = { kind: "name"; name: string } | { kind: "call"; callee: string; arg: string };

/** Reads "NAME", "Call(arg)" or "Call(arg=...)". */
export function parseKnobSpec(spec: string): KnobSpec {
  const m = /^\s*([\w$.]+)\(\s*([\w$]+)\s*(?:=\s*(?:\.\.\.)?\s*)?\)\s*$/.exec(spec);
  if (m?.[1] && m[2]) return { kind: "call", callee: m[1], arg: m[2] };
  return { kind: "name", name: spec.trim() };
}

/** The knobs a spec names among `all`: a name is the constant, or, when there is no constant of that name, every argument of that name. */
export function knobsOf(all: readonly Knob[], spec: string): Knob[] {
  const s = parseKnobSpec(spec);
  if (s.kind === "call") return all.filter((k) => k.kind === "argument" && k.arg === s.arg && (k.callee === s.callee || k.callee?.endsWith(`.${s.callee}`)));
  const constants = all.filter((k) => k.kind === "constant" && k.name === s.name);
  return constants.length > 0 ? constants : all.filter((k) => k.kind === "argument" && k.arg === s.name);
}

/** Words of a name that mark a measurement, logging or sampling setting rather than a property of the model or its training. */
const MEASUREMENT_WORDS = new Set([
  "eval",
  "evaluation",
  "evaluate",
  "val",
  "valid",
  "validation",
  "test",
  "log",
  "logging",
  "seed",
  "interval",
  "every",
  "freq",
  "frequency",
  "print",
  "verbose",
  "debug",
  "save",
  "checkpoint",
  "ckpt",
  "sample",
  "samples",
  "sampling",
  "temperature",
  "plot",
  "display",
  "report",
  "progress",
  "workers",
  "threads",
  "port",
]);

/**
 * True when a knob's name looks like a measurement or logging setting (`eval_iters`,
 * `log_interval`, `SEED`, `printEvery`, `temperature`): changing it changes how the metric is
 * measured or what is printed, not the model, so mutate leaves it alone unless it is listed.
 */
export function looksLikeMeasurement(name: string): boolean {
  const base = name.replace(/#\d+$/, "");
  const arg = /\(([\w$]+)\)$/.exec(base)?.[1] ?? base;
  if (/^top_?[kp]$/i.test(arg)) return true;
  const words = arg
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[_$]+/)
    .filter(Boolean);
  return words.some((w) => MEASUREMENT_WORDS.has(w));
}

/**
 * The knobs to tune. With no `names`, every top-level constant except those that look like
 * measurement or logging settings; otherwise what the names select (see {@link knobsOf}). Knobs
 * that `exclude` selects are never tuned. Throws a ProposerError naming what was asked for and
 * not found.
 */
export function selectKnobs(all: readonly Knob[], names: readonly string[], files: readonly string[] = [], exclude: readonly string[] = []): Knob[] {
  const where = files.length > 0 ? files.join(", ") : "the editable files";
  const excluded = new Set(exclude.flatMap((spec) => knobsOf(all, spec)));
  if (names.length === 0) {
    const constants = all.filter((k) => k.kind === "constant");
    const chosen = constants.filter((k) => !excluded.has(k) && !looksLikeMeasurement(k.name));
    if (chosen.length === 0) {
      const left =
        constants.length > 0 ? ` (only measurement or logging settings, which are not tuned unless listed: ${constants.map((k) => k.name).join(", ")})` : "";
      throw new ProposerError(
        `mutate found no top-level numeric constants${left ? " to tune" : ""} in ${where}${left}; list them in proposer.knobs or use proposer.kind: claude`,
      );
    }
    return chosen;
  }
  const wanted = new Set<Knob>();
  const missing: string[] = [];
  for (const spec of names) {
    const found = knobsOf(all, spec);
    if (found.length === 0) missing.push(spec);
    for (const k of found) wanted.add(k);
  }
  if (missing.length > 0) {
    const found = all.length > 0 ? `found: ${[...new Set(all.map((k) => k.name))].join(", ")}` : "found none";
    throw new ProposerError(`proposer.knobs names knobs that are not numeric constants or call arguments of ${where}: ${missing.join(", ")} (${found})`);
  }
  const chosen = all.filter((k) => wanted.has(k) && !excluded.has(k));
  if (chosen.length === 0) throw new ProposerError(`proposer.exclude leaves none of proposer.knobs to tune in ${where}`);
  return chosen;
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
