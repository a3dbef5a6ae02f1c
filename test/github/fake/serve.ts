/**
 * The fake's HTTP front: the artifact service's paths, then the REST API under `/api/v3`. Each
 * request is matched to an operation of GitHub's description, authenticated (the App's JWT or an
 * installation token), checked, served by the route, and its answer checked and recorded.
 */
import { type KeyObject, verify } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ArtifactService } from "./artifacts.js";
import { type Ctx, HttpError, type Reply, type Router } from "./http.js";
import type { Site } from "./objects.js";
import type { RestDescription } from "./openapi.js";
import type { CallRecord, Problem } from "./state.js";

/** A fault the test injected (`gh.control.api.failNext`). */
export interface Fault {
  method?: string;
  path?: string | RegExp;
  status: number;
  message?: string;
  headers?: Record<string, string>;
  left: number;
}

/** What the front needs of the fake. */
export interface ServeDeps {
  site: Site;
  description: RestDescription;
  router: Router;
  artifactsService: ArtifactService;
  calls: CallRecord[];
  faults: Fault[];
  tokens: Map<string, number>;
  publicKey: KeyObject;
  problem(kind: Problem["kind"], method: string, path: string, message: string): void;
}

export async function handleRequest(fake: ServeDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const start = performance.now();
  const url = new URL(req.url ?? "/", fake.site.web);
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const data = Buffer.concat(chunks);
  if (fake.artifactsService.handle(req, url, data, res)) {
    for (const u of fake.artifactsService.unexpected.splice(0))
      fake.problem("unknown-endpoint", req.method ?? "", u, "the artifact service does not know this request");
    return;
  }
  const method = req.method ?? "GET";
  const rawPath = url.pathname.startsWith("/api/v3/") ? url.pathname.slice("/api/v3".length) : null;
  const path = `${rawPath ?? url.pathname}${url.search}`;
  const call: CallRecord = { method, path, template: null, operationId: null, status: 0, auth: "none", ms: 0 };
  const send = (reply: Reply) => {
    call.status = reply.status;
    call.ms = performance.now() - start;
    fake.calls.push(call);
    const headers: Record<string, string> = {
      "x-github-media-type": "github.v3; format=json",
      "x-github-api-version-selected": "2022-11-28",
      "x-github-request-id": `FAKE:${fake.calls.length}`,
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(Math.max(0, 5000 - fake.calls.length)),
      "x-ratelimit-used": String(fake.calls.length),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-resource": "core",
      ...reply.headers,
    };
    if (reply.raw) {
      res.writeHead(reply.status, { "content-type": "application/octet-stream", ...headers });
      res.end(reply.raw);
    } else if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
    } else {
      res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(reply.body));
    }
  };
  const error = (e: HttpError) => ({ status: e.status, body: e.body() });
  if (rawPath === null) {
    fake.problem("unknown-endpoint", method, path, "not under /api/v3: GitHub Enterprise Server serves the REST API only there (is GHE_HOST set?)");
    return send(error(new HttpError(404, "Not Found")));
  }
  // GitHub serves the root folder at `contents` as well as `contents/` (Octokit asks for the former when path is "").
  const matchPath = /^\/repos\/[^/]+\/[^/]+\/contents$/.test(rawPath) ? `${rawPath}/` : rawPath;
  const { matches, otherMethods } = fake.description.match(method, matchPath);
  const found = matches.map((m) => ({ ...m, route: fake.router.find(method, m.operation.template) })).find((m) => m.route) ?? null;
  if (!found) {
    const op = matches[0]?.operation;
    fake.problem(
      "unknown-endpoint",
      method,
      path,
      op
        ? `${op.operationId} (${method} ${op.template}) is GitHub's, but the fake does not serve it`
        : otherMethods.length > 0
          ? `GitHub has no ${method} here (only ${[...new Set(otherMethods)].join(", ")})`
          : "no such endpoint in GitHub's REST API",
    );
    return send(error(new HttpError(404, "Not Found")));
  }
  const { operation, params, route } = found as typeof found & { route: NonNullable<typeof found.route> };
  call.template = operation.template;
  call.operationId = operation.operationId;

  // Authentication.
  const auth = authenticate(fake, req.headers.authorization);
  call.auth = auth.kind === "error" ? "none" : auth.kind;
  if (auth.kind !== route.auth) {
    const message =
      auth.kind === "error"
        ? auth.message
        : route.auth === "app"
          ? "A JSON web token could not be decoded"
          : auth.kind === "app"
            ? "A JSON web token cannot be used here: use an installation token"
            : "Requires authentication";
    fake.problem("auth", method, path, `${operation.operationId} needs ${route.auth === "app" ? "the App's JWT" : "an installation token"}: ${message}`);
    return send(error(new HttpError(401, auth.kind === "error" ? auth.message : message)));
  }

  // Another repository: the installation cannot see it.
  if (params.owner !== undefined && params.repo !== undefined) {
    if (params.owner.toLowerCase() !== fake.site.owner.toLowerCase() || params.repo.toLowerCase() !== fake.site.repo.toLowerCase())
      return send(error(new HttpError(404, "Not Found")));
  }

  // The request against the description.
  let body: unknown;
  const hasBody = data.length > 0;
  if (hasBody) {
    try {
      body = JSON.parse(data.toString("utf8"));
    } catch {
      fake.problem("request", method, path, "the body is not JSON");
      return send(error(new HttpError(400, "Problems parsing JSON")));
    }
  }
  const query = url.searchParams;
  const checked = fake.description.checkRequest(operation, params, query, body, hasBody);
  for (const p of [...checked.invalid, ...checked.unknown]) fake.problem("request", method, path, p);
  if (checked.invalid.length > 0) return send(error(new HttpError(422, `Invalid request.\n\n${checked.invalid.join("\n")}`)));

  // Injected faults.
  const fault = fake.faults.find(
    (f) =>
      f.left > 0 &&
      (f.method === undefined || f.method === method) &&
      (f.path === undefined || (typeof f.path === "string" ? f.path === operation.template || path.startsWith(f.path) : f.path.test(path))),
  );
  if (fault) {
    fault.left--;
    return send({
      status: fault.status,
      body: { message: fault.message ?? "injected fault", documentation_url: "https://docs.github.com/rest" },
      ...(fault.headers ? { headers: fault.headers } : {}),
    });
  }

  const ctx: Ctx = { method, path, params, query, body: body ?? {}, headers: req.headers, operation };
  let reply: Reply;
  try {
    reply = await route.handler(ctx);
  } catch (err) {
    if (err instanceof HttpError) reply = error(err);
    else {
      fake.problem("response", method, path, `the fake failed: ${(err as Error).stack ?? err}`);
      reply = error(new HttpError(500, "Server Error"));
    }
  }
  if (!reply.raw) {
    for (const p of fake.description.checkResponse(operation, reply.status, reply.body, reply.body !== undefined)) fake.problem("response", method, path, p);
  }
  send(reply);
}

function authenticate(fake: ServeDeps, header: string | undefined): { kind: "app" | "installation" | "none" } | { kind: "error"; message: string } {
  if (!header) return { kind: "none" };
  const m = /^(bearer|token)\s+(\S+)$/i.exec(header);
  if (!m?.[2]) return { kind: "error", message: "Bad credentials" };
  const token = m[2];
  if (token.split(".").length === 3) {
    const [h = "", p = "", s = ""] = token.split(".");
    try {
      const head = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
      if (head.alg !== "RS256") return { kind: "error", message: "A JSON web token could not be decoded" };
      if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), fake.publicKey, Buffer.from(s, "base64url")))
        return { kind: "error", message: "A JSON web token could not be decoded" };
      const t = Math.floor(Date.now() / 1000);
      if (String(claims.iss) !== String(fake.site.appId)) return { kind: "error", message: "'Issuer' claim ('iss') must be an Integer" };
      if (typeof claims.exp !== "number" || claims.exp <= t)
        return {
          kind: "error",
          message: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        };
      if (claims.exp - t > 660) return { kind: "error", message: "'Expiration time' claim ('exp') is too far in the future" };
      if (typeof claims.iat !== "number" || claims.iat > t + 60)
        return { kind: "error", message: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued" };
      return { kind: "app" };
    } catch {
      return { kind: "error", message: "A JSON web token could not be decoded" };
    }
  }
  const exp = fake.tokens.get(token);
  if (exp === undefined || exp <= Date.now()) return { kind: "error", message: "Bad credentials" };
  return { kind: "installation" };
}
