/**
 * What the fake reads from a workflow file: its name, `workflow_dispatch` inputs, `run-name`,
 * `concurrency.group`, the seed matrix and the `with:` of the step that uses the autoresearch
 * Action. It does not run the workflow's steps: each matrix job is "check out the dispatched
 * commit, run the Action with these inputs" (runner.ts).
 */
import { parse } from "yaml";

export interface DispatchInput {
  required: boolean;
  default: string | undefined;
  type: string;
  options?: string[];
}

export interface ParsedWorkflow {
  name: string | undefined;
  dispatchable: boolean;
  inputs: Map<string, DispatchInput>;
  runName: string | undefined;
  concurrencyGroup: string | undefined;
  /** The first job with a seed matrix (or the first job): its name template, matrix expression and Action `with:`. */
  job: { name: string | undefined; matrixSeed: unknown; actionWith: Record<string, string> | null } | null;
}

// biome-ignore lint/suspicious/noExplicitAny: workflow YAML is untyped
type Y = any;

export function parseWorkflow(text: string): ParsedWorkflow {
  const doc: Y = parse(text) ?? {};
  // YAML 1.1 readers turn `on` into true; the yaml package (1.2) keeps the key "on".
  const on: Y = doc.on ?? doc[true as unknown as string];
  const dispatch: Y =
    typeof on === "string"
      ? on === "workflow_dispatch"
        ? {}
        : undefined
      : Array.isArray(on)
        ? on.includes("workflow_dispatch")
          ? {}
          : undefined
        : on?.workflow_dispatch;
  const dispatchable = dispatch !== undefined;
  const inputs = new Map<string, DispatchInput>();
  for (const [name, spec] of Object.entries<Y>(dispatch?.inputs ?? {})) {
    inputs.set(name, {
      required: spec?.required === true,
      default: spec?.default === undefined ? undefined : String(spec.default),
      type: spec?.type ?? "string",
      ...(Array.isArray(spec?.options) ? { options: spec.options.map(String) } : {}),
    });
  }
  const jobs = Object.values<Y>(doc.jobs ?? {});
  const withSeed = jobs.find((j) => j?.strategy?.matrix?.seed !== undefined) ?? jobs[0];
  let job: ParsedWorkflow["job"] = null;
  if (withSeed) {
    const steps: Y[] = Array.isArray(withSeed.steps) ? withSeed.steps : [];
    const action = steps.find((s) => typeof s?.uses === "string" && (/(^|\/)autoresearch-bot@/.test(s.uses) || s.uses === "./"));
    job = {
      name: typeof withSeed.name === "string" ? withSeed.name : undefined,
      matrixSeed: withSeed.strategy?.matrix?.seed,
      actionWith: action ? Object.fromEntries(Object.entries<Y>(action.with ?? {}).map(([k, v]) => [k, String(v)])) : null,
    };
  }
  return {
    name: typeof doc.name === "string" ? doc.name : undefined,
    dispatchable,
    inputs,
    runName: typeof doc["run-name"] === "string" ? doc["run-name"] : undefined,
    concurrencyGroup: typeof doc.concurrency === "string" ? doc.concurrency : typeof doc.concurrency?.group === "string" ? doc.concurrency.group : undefined,
    job,
  };
}

/** Values an expression may read: `inputs.*`, `github.event.inputs.*`, `matrix.*`, `github.*`. */
export interface ExprContext {
  inputs: Record<string, string>;
  matrix: Record<string, unknown>;
  github: Record<string, string>;
}

/**
 * Evaluates `${{ ... }}` in a template: property paths of the context and `fromJSON(...)` /
 * `toJSON(...)` of one. Anything else is reported through `unknown` and becomes "".
 */
export function evaluate(template: string, ctx: ExprContext, unknown: (expr: string) => void): string {
  return template.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const v = value(expr, ctx, unknown);
    if (v === undefined || v === null) return "";
    return typeof v === "string" ? v : JSON.stringify(v);
  });
}

/** The value of one expression (a whole `${{ }}` may be a list, for the matrix). */
export function value(expr: string, ctx: ExprContext, unknown: (expr: string) => void): unknown {
  // `a || b`: the first operand that is truthy, as GitHub's expressions do (quotes not split).
  const operands = expr.split(/\|\|(?=(?:[^']*'[^']*')*[^']*$)/);
  if (operands.length > 1) {
    let last: unknown;
    for (const o of operands) {
      last = value(o, ctx, unknown);
      if (last !== undefined && last !== null && last !== "" && last !== false && last !== 0) return last;
    }
    return last;
  }
  // A string literal: 'text' ('' for a quote inside).
  const literal = /^\s*'((?:[^']|'')*)'\s*$/.exec(expr);
  if (literal) return (literal[1] ?? "").replaceAll("''", "'");
  const fn = /^(fromJSON|toJSON)\((.*)\)$/i.exec(expr.trim());
  if (fn) {
    const inner = value(fn[2] ?? "", ctx, unknown);
    if ((fn[1] ?? "").toLowerCase() === "tojson") return JSON.stringify(inner);
    try {
      return JSON.parse(String(inner));
    } catch {
      unknown(`${expr} (not JSON: ${String(inner)})`);
      return undefined;
    }
  }
  const path = expr.trim().split(".");
  let root: unknown;
  if (path[0] === "inputs") root = ctx.inputs;
  else if (path[0] === "matrix") root = ctx.matrix;
  else if (path[0] === "github" && path[1] === "event" && path[2] === "inputs") {
    root = ctx.inputs;
    path.splice(0, 2);
  } else if (path[0] === "github") root = ctx.github;
  else {
    unknown(expr);
    return undefined;
  }
  let v: unknown = root;
  for (const p of path.slice(1)) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}
