/**
 * GitHub's REST description (`@octokit/openapi`, `api.github.com.json`) as a checker for the fake:
 * which operation a request is, whether its path, query and body are what GitHub accepts, whether
 * a response the fake gives has GitHub's shape, and whether a webhook payload has the shape of the
 * description's `x-webhooks`.
 *
 * Two checks run on every value:
 * - ajv with the description's own schemas (OpenAPI 3.0 `nullable` rewritten to JSON Schema), so
 *   types, `required`, enums, formats and `additionalProperties: false` hold as GitHub states them;
 * - an unknown-field check that the description does not make itself: GitHub's schemas rarely say
 *   `additionalProperties: false`, so a request field GitHub silently ignores (a misspelt
 *   `return_run_detail`) or a response field GitHub never sends would pass ajv. Every object whose
 *   schema lists `properties` and allows nothing else explicitly is closed to other keys.
 *   `anyOf`/`oneOf` branches are merged (a key of any branch whose type fits is allowed), which is
 *   looser than GitHub but never stricter.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// biome-ignore lint/suspicious/noExplicitAny: the description is untyped JSON
type Json = any;

/** One operation of the description, with a matcher for request paths. */
export interface Operation {
  method: string;
  /** The description's path template, e.g. `/repos/{owner}/{repo}/git/ref/{ref}`. */
  template: string;
  operationId: string;
  /** JSON pointer of the operation in the description. */
  pointer: string;
  op: Json;
  regex: RegExp;
  paramNames: string[];
  /** Per segment: 1 when literal, 0 when it holds a parameter (literal segments win ties). */
  shape: number[];
}

/** Parameters that take the rest of the path, slashes included (branch names, file paths). */
const GREEDY = new Set(["ref", "path", "basehead", "branch"]);

function escapePointer(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Turns `/repos/{owner}/{repo}/contents/{path}` into a regex over the raw (still encoded) path. */
export function compileTemplate(template: string): { regex: RegExp; paramNames: string[]; shape: number[] } {
  const paramNames: string[] = [];
  const segments = template.split("/").slice(1);
  const shape: number[] = [];
  const parts = segments.map((seg, i) => {
    shape.push(seg.includes("{") ? 0 : 1);
    return seg.replace(/\{([^}]+)\}|([^{]+)/g, (_m, name: string | undefined, lit: string | undefined) => {
      if (name === undefined) return (lit ?? "").replace(/[.*+?^$()|[\]\\]/g, "\\$&");
      paramNames.push(name);
      const greedy = i === segments.length - 1 && GREEDY.has(name);
      // A file path may be empty: `contents/` is the repository's root folder.
      return greedy ? (name === "path" ? "(.*)" : "(.+)") : "([^/]+)";
    });
  });
  return { regex: new RegExp(`^/${parts.join("/")}$`), paramNames, shape };
}

/** Orders two operations so the more literal one comes first (`issues/comments` before `issues/{issue_number}`). */
function moreLiteral(a: Operation, b: Operation): number {
  for (let i = 0; i < Math.max(a.shape.length, b.shape.length); i++) {
    const d = (b.shape[i] ?? -1) - (a.shape[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.paramNames.length - b.paramNames.length;
}

/** Rewrites OpenAPI 3.0 `nullable: true` into JSON Schema that ajv understands, in place. */
function rewriteNullable(node: Json): void {
  if (Array.isArray(node)) {
    for (const n of node) rewriteNullable(n);
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const v of Object.values(node)) rewriteNullable(v);
  if (node.nullable === true) {
    delete node.nullable;
    if (typeof node.type === "string") {
      node.type = [node.type, "null"];
      if (Array.isArray(node.enum) && !node.enum.includes(null)) node.enum = [...node.enum, null];
    } else {
      const rest = { ...node };
      for (const k of Object.keys(node)) delete node[k];
      node.anyOf = [rest, { type: "null" }];
    }
  } else if (node.nullable === false) delete node.nullable;
}

/**
 * Places where the description contradicts itself or GitHub, replaced before anything is checked.
 * Each names what is wrong; a fix whose target is gone fails loudly, so an updated description is
 * noticed.
 */
const DESCRIPTION_FIXES: { pointer: string; value: Json; why: string }[] = [
  {
    pointer: "/paths/~1app~1installations/get/responses/200/content/application~1json/schema/items",
    value: { $ref: "#/components/schemas/installation" },
    why: "an old inline copy of `installation` whose `account` is allOf(user, enterprise), which no account satisfies; the component has anyOf and client_id",
  },
  {
    pointer: "/components/parameters/created/schema",
    value: { type: "string" },
    why: "the runs listing's `created` is GitHub's search date syntax (`>=2024-01-01T00:00:00Z`, `a..b`), which the description itself points to, not a date-time",
  },
];

/** Statuses GitHub gives on any endpoint (missing resource or permission, auth, limits, outages), documented or not. */
const ANY_ENDPOINT_ERRORS = new Set([401, 403, 404, 409, 422, 429, 500, 502, 503]);

export class RestDescription {
  readonly spec: Json;
  readonly operations: Operation[] = [];
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  private constructor(spec: Json) {
    this.spec = spec;
    for (const fix of DESCRIPTION_FIXES) {
      const parent = this.at(fix.pointer.slice(0, fix.pointer.lastIndexOf("/")));
      const key = fix.pointer
        .slice(fix.pointer.lastIndexOf("/") + 1)
        .replace(/~1/g, "/")
        .replace(/~0/g, "~");
      if (!parent || !(key in parent)) throw new Error(`description fix ${fix.pointer}: nothing there any more (${fix.why})`);
      parent[key] = fix.value;
    }
    rewriteNullable(spec);
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormatsModule.default(this.ajv);
    // Formats of GitHub's own the description uses; checked where they have a clear meaning.
    this.ajv.addFormat("repo.nwo", /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/);
    this.ajv.addFormat("timestamp", true);
    // GitHub's own bot addresses (`<id>+<slug>[bot]@users.noreply.github.com`) fail RFC-strict
    // email patterns, so an email is only "something@something" here.
    this.ajv.addFormat("email", /^[^\s@]+@[^\s@]+$/);
    this.ajv.addSchema(spec, "gh");
    for (const [template, item] of Object.entries<Json>(spec.paths)) {
      for (const [method, op] of Object.entries<Json>(item)) {
        if (!["get", "post", "put", "patch", "delete", "head"].includes(method)) continue;
        const { regex, paramNames, shape } = compileTemplate(template);
        this.operations.push({
          method: method.toUpperCase(),
          template,
          operationId: op.operationId,
          pointer: `/paths/${escapePointer(template)}/${method}`,
          op,
          regex,
          paramNames,
          shape,
        });
      }
    }
    this.operations.sort(moreLiteral);
  }

  private static cached: RestDescription | undefined;

  /** The description, parsed once per process (13 MB of JSON). */
  static load(): RestDescription {
    if (!RestDescription.cached) {
      const file = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.json");
      RestDescription.cached = new RestDescription(JSON.parse(readFileSync(file, "utf8")));
    }
    return RestDescription.cached;
  }

  /**
   * The operations a request may be (path without `/api/v3`, still URL-encoded), most literal
   * first, with decoded path parameters; and the other methods the path has.
   */
  match(method: string, rawPath: string): { matches: { operation: Operation; params: Record<string, string> }[]; otherMethods: string[] } {
    const matches: { operation: Operation; params: Record<string, string> }[] = [];
    const otherMethods: string[] = [];
    for (const operation of this.operations) {
      const m = operation.regex.exec(rawPath);
      if (!m) continue;
      if (operation.method !== method) {
        otherMethods.push(operation.method);
        continue;
      }
      const params: Record<string, string> = {};
      operation.paramNames.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? "");
      });
      matches.push({ operation, params });
    }
    return { matches, otherMethods };
  }

  /** The operation with this method and template (the fake registers its handlers by template). */
  operation(method: string, template: string): Operation | undefined {
    return this.operations.find((o) => o.method === method && o.template === template);
  }

  private resolve(node: Json): Json {
    let n = node;
    for (let i = 0; n && typeof n === "object" && typeof n.$ref === "string" && i < 50; i++) n = this.at(n.$ref.slice(1));
    return n;
  }

  /** The value at a JSON pointer of the description. */
  at(pointer: string): Json {
    let n = this.spec;
    for (const raw of pointer.split("/").slice(1)) n = n?.[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
    return n;
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.validators.get(pointer);
    if (!v) {
      v = this.ajv.getSchema(`gh#${pointer.split("/").map(encodeURIComponent).join("/")}`);
      if (!v) throw new Error(`no schema at ${pointer}`);
      this.validators.set(pointer, v);
    }
    return v;
  }

  /** Problems of `data` against the schema at `pointer`: ajv's errors (`invalid`), and fields the schema does not list (`unknown`). */
  check(pointer: string, data: unknown, where: string): { invalid: string[]; unknown: string[] } {
    const v = this.validator(pointer);
    const invalid: string[] = [];
    if (!v(data)) {
      for (const e of v.errors ?? []) {
        const detail =
          "allowedValues" in e.params
            ? ` (${(e.params.allowedValues as unknown[]).join(", ")})`
            : "additionalProperty" in e.params
              ? ` (${String(e.params.additionalProperty)})`
              : "";
        invalid.push(`${where}${e.instancePath}: ${e.message}${detail}`);
      }
    }
    const unknown: string[] = [];
    this.unknownFields(this.at(pointer), data, where, unknown);
    return { invalid, unknown };
  }

  private all(pointer: string, data: unknown, where: string): string[] {
    const r = this.check(pointer, data, where);
    return [...r.invalid, ...r.unknown];
  }

  /** The leaf schemas `schema` stands for: $refs resolved, allOf/anyOf/oneOf flattened. */
  private leaves(schema: Json, acc: Json[] = []): Json[] {
    const s = this.resolve(schema);
    if (!s || typeof s !== "object") return acc;
    const combined = [...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? [])];
    acc.push(s);
    for (const c of combined) this.leaves(c, acc);
    return acc;
  }

  private static fits(schema: Json, data: unknown): boolean {
    const t = schema.type;
    if (t === undefined) return true;
    const types: string[] = Array.isArray(t) ? t : [t];
    if (data === null) return types.includes("null");
    if (Array.isArray(data)) return types.includes("array");
    if (typeof data === "object") return types.includes("object");
    if (typeof data === "number") return types.includes("number") || types.includes("integer");
    return types.includes(typeof data);
  }

  /**
   * Deletes, in place, the fields of `data` the schema at `pointer` does not list; returns their
   * paths. The fake sends webhook payloads through this: the description's `x-webhooks` schemas
   * differ per action (`display_title` is documented for `workflow_run.completed`, not
   * `in_progress`), and a payload carries only what is documented for its action.
   */
  prune(pointer: string, data: unknown, where: string): string[] {
    const out: string[] = [];
    this.unknownFields(this.at(pointer), data, where, out, true);
    return out;
  }

  private unknownFields(schema: Json, data: unknown, path: string, out: string[], remove = false): void {
    if (data === null || typeof data !== "object") return;
    const leaves = this.leaves(schema).filter((l) => RestDescription.fits(l, data));
    if (Array.isArray(data)) {
      const items = leaves.map((l) => l.items).filter((i) => i !== undefined);
      if (items.length === 0) return;
      data.forEach((d, i) => {
        this.unknownFields({ anyOf: items }, d, `${path}/${i}`, out, remove);
      });
      return;
    }
    const objectLeaves = leaves.filter((l) => l.properties || l.additionalProperties !== undefined || [l.type].flat().includes("object"));
    if (objectLeaves.length === 0) return;
    const props = new Map<string, Json[]>();
    const extra: Json[] = [];
    let open = false;
    for (const l of objectLeaves) {
      for (const [k, v] of Object.entries(l.properties ?? {})) props.set(k, [...(props.get(k) ?? []), v]);
      if (l.additionalProperties === true) open = true;
      else if (l.additionalProperties && typeof l.additionalProperties === "object") extra.push(l.additionalProperties);
      else if (l.additionalProperties === undefined && !l.properties) open = true; // a free-form object
    }
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      const p = `${path}/${k}`;
      const known = props.get(k);
      if (known) this.unknownFields({ anyOf: known }, v, p, out, remove);
      else if (extra.length > 0) this.unknownFields({ anyOf: extra }, v, p, out, remove);
      else if (!open) {
        out.push(remove ? p : `${p}: not a field of GitHub's schema`);
        if (remove) delete (data as Record<string, unknown>)[k];
      }
    }
  }

  /**
   * Problems of a request: `invalid` where GitHub would refuse it (a malformed parameter or body:
   * 422), `unknown` where GitHub would silently ignore something (an undeclared query parameter, a
   * body field it does not have).
   */
  checkRequest(
    operation: Operation,
    params: Record<string, string>,
    query: URLSearchParams,
    body: unknown,
    hasBody: boolean,
  ): { invalid: string[]; unknown: string[] } {
    const invalid: string[] = [];
    const unknown: string[] = [];
    const add = (r: { invalid: string[]; unknown: string[] }) => {
      invalid.push(...r.invalid);
      unknown.push(...r.unknown);
    };
    const declared = new Map<string, { schema: Json; pointer: string; required: boolean; in: string }>();
    (operation.op.parameters ?? []).forEach((p: Json, i: number) => {
      const r = this.resolve(p);
      const pointer = p.$ref ? `${p.$ref.slice(1)}/schema` : `${operation.pointer}/parameters/${i}/schema`;
      declared.set(`${r.in}:${r.name}`, { schema: r.schema, pointer, required: r.required === true, in: r.in });
    });
    for (const [name, value] of Object.entries(params)) {
      const d = declared.get(`path:${name}`);
      if (d) add(this.check(d.pointer, coerce(d.schema, value, this), `path parameter ${name}`));
    }
    const seen = new Set<string>();
    for (const [name, value] of query) {
      seen.add(name);
      const d = declared.get(`query:${name}`);
      if (!d) unknown.push(`query parameter ${name}: not a parameter of ${operation.operationId}`);
      else add(this.check(d.pointer, coerce(d.schema, value, this), `query parameter ${name}`));
    }
    for (const [key, d] of declared) if (d.in === "query" && d.required && !seen.has(key.slice(6))) invalid.push(`query parameter ${key.slice(6)}: required`);
    const rb = this.resolve(operation.op.requestBody);
    const media = rb?.content?.["application/json"];
    if (media && hasBody)
      add(
        this.check(
          `${operation.op.requestBody.$ref ? operation.op.requestBody.$ref.slice(1) : `${operation.pointer}/requestBody`}/content/application~1json/schema`,
          body,
          "body",
        ),
      );
    else if (media && rb.required) invalid.push(`body: required by ${operation.operationId}`);
    else if (!media && hasBody) unknown.push(`body: ${operation.operationId} takes no JSON body`);
    return { invalid, unknown };
  }

  /** Problems of a response the fake gives: an undocumented status, or a body that is not the documented shape. */
  checkResponse(operation: Operation, status: number, body: unknown, hasBody: boolean): string[] {
    const responses = operation.op.responses ?? {};
    const documented = responses[String(status)];
    if (!documented) {
      if (ANY_ENDPOINT_ERRORS.has(status))
        return hasBody ? this.all(status === 422 ? "/components/schemas/validation-error" : "/components/schemas/basic-error", body, `response ${status}`) : [];
      return [`response ${status}: not a documented status of ${operation.operationId} (${Object.keys(responses).join(", ")})`];
    }
    const r = this.resolve(documented);
    const media = r?.content?.["application/json"] ?? r?.content?.["application/scim+json"];
    // GitHub answers errors with a JSON body even where the description documents none (DELETE git/refs' 422).
    if (!media && status >= 400 && hasBody)
      return this.all(status === 422 ? "/components/schemas/validation-error" : "/components/schemas/basic-error", body, `response ${status}`);
    if (!media) return hasBody ? [`response ${status}: ${operation.operationId} documents no JSON body for this status`] : [];
    if (!hasBody) return [`response ${status}: ${operation.operationId} documents a JSON body for this status`];
    const base = documented.$ref ? documented.$ref.slice(1) : `${operation.pointer}/responses/${status}`;
    const key = r.content["application/json"] ? "application~1json" : "application~1scim+json";
    return this.all(`${base}/content/${key}/schema`, body, `response ${status}`);
  }

  /** The description's webhook key for an event and action (`workflow_run` + `completed` -> `workflow-run-completed`). */
  webhookKey(event: string, action: string | undefined): string | undefined {
    const hooks = this.spec["x-webhooks"] ?? {};
    const name = event.replace(/_/g, "-");
    const candidates = action ? [`${name}-${action.replace(/_/g, "-")}`] : [name];
    // repository_dispatch's action is the sender's event_type: the description has one sample of it.
    if (event === "repository_dispatch") candidates.push("repository-dispatch-sample.collected");
    return candidates.find((k) => hooks[k]);
  }

  /** The JSON pointer of the payload schema for an event and action, if the description has one. */
  webhookSchema(event: string, action: string | undefined): string | undefined {
    const key = this.webhookKey(event, action);
    return key ? `/x-webhooks/${escapePointer(key)}/post/requestBody/content/application~1json/schema` : undefined;
  }

  /** Problems of a webhook payload against the description's `x-webhooks` schema for its event and action. */
  checkWebhook(event: string, payload: Json): string[] {
    const pointer = this.webhookSchema(event, payload?.action);
    if (!pointer) return [`webhook ${event}.${payload?.action}: no such event in GitHub's description`];
    const problems = this.all(pointer, payload, `webhook ${event}`);
    // The sample's `action` enum is one example event_type; any string is a real one.
    return event === "repository_dispatch" ? problems.filter((p) => !p.startsWith(`webhook ${event}/action:`)) : problems;
  }
}

/** A path or query string as the parameter's schema type, so ajv checks the value, not its spelling. */
function coerce(schema: Json, value: string, d: RestDescription): unknown {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++) s = d.at(s.$ref.slice(1));
  const types: string[] = Array.isArray(s?.type) ? s.type : [s?.type];
  if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (types.includes("boolean") && (value === "true" || value === "false")) return value === "true";
  if (types.includes("array")) return value.split(",");
  return value;
}
