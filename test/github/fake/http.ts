/**
 * The fake's REST plumbing: a router keyed by the description's path templates, GitHub's error
 * bodies, pagination with Link headers, and the checks every request and response go through.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Operation } from "./openapi.js";

/** One REST request as a handler sees it. */
export interface Ctx {
  method: string;
  /** The path with `/api/v3` stripped, query included. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are checked against the description before handlers see them
  body: any;
  headers: IncomingHttpHeaders;
  operation: Operation;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Raw bytes instead of JSON (file contents in raw media type, zips). */
  raw?: Buffer;
  headers?: Record<string, string>;
}

/** Who may call a route: the App with its JWT, or an installation with its token. */
export type RouteAuth = "app" | "installation";

export interface Route {
  method: string;
  template: string;
  auth: RouteAuth;
  handler: (ctx: Ctx) => Promise<Reply> | Reply;
}

/** An error answer in GitHub's format (`message`, `documentation_url`, `status`; `errors` for 422). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
  }

  /** basic-error, or validation-error for 422 (which has no `status` field). */
  body(): Record<string, unknown> {
    const b: Record<string, unknown> = { message: this.message, documentation_url: "https://docs.github.com/rest" };
    if (this.status !== 422) b.status = String(this.status);
    if (this.errors) b.errors = this.errors;
    return b;
  }
}

export const notFound = (): HttpError => new HttpError(404, "Not Found");
export const unprocessable = (message: string, errors?: unknown[]): HttpError => new HttpError(422, message, errors);

export function json(status: number, body?: unknown, headers?: Record<string, string>): Reply {
  return body === undefined ? { status, ...(headers ? { headers } : {}) } : { status, body, ...(headers ? { headers } : {}) };
}

/**
 * One page of `items` as GitHub pages lists (`per_page` up to 100, default 30, `page` from 1),
 * with the Link header Octokit's paginate follows.
 */
export function paginate<T>(ctx: Ctx, base: string, items: T[]): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30) || 30));
  const page = Math.max(1, Number(ctx.query.get("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number) => {
    const q = new URLSearchParams(ctx.query);
    q.set("per_page", String(perPage));
    q.set("page", String(p));
    const [path] = ctx.path.split("?");
    return `${base}${path}?${q.toString()}`;
  };
  const rels: string[] = [];
  if (page < last) rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
  if (page > 1) rels.push(`<${link(1)}>; rel="first"`, `<${link(page - 1)}>; rel="prev"`);
  return { items: slice, headers: rels.length > 0 ? { link: rels.join(", ") } : {} };
}

export class Router {
  readonly routes: Route[] = [];

  add(method: string, template: string, auth: RouteAuth, handler: Route["handler"]): void {
    this.routes.push({ method, template, auth, handler });
  }

  find(method: string, template: string): Route | undefined {
    return this.routes.find((r) => r.method === method && r.template === template);
  }
}
