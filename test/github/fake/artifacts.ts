/**
 * The Actions artifact service a job's Action uploads to (the protocol of @actions/artifact 2+:
 * twirp `CreateArtifact` / `FinalizeArtifact` at ACTIONS_RESULTS_URL, then an Azure-style blob
 * upload to the signed URL), and the download URL the REST API's 302 points at. It lives on the
 * fake's own port, outside `/api/v3`.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isoSeconds } from "./git.js";
import type { ArtifactRecord, FakeState } from "./state.js";

const TWIRP = "/twirp/github.actions.results.api.v1.ArtifactService/";

interface Upload {
  uploadId: string;
  runId: number;
  jobId: number;
  name: string;
  blocks: Map<string, Buffer>;
  blob: Buffer;
}

/** The backend ids a job's runtime token carries; the service maps uploads back to runs with them. */
export function backendIds(runId: number, jobId: number): { run: string; job: string } {
  return { run: `run-${runId}`, job: `job-${jobId}` };
}

/** A JWT-shaped runtime token whose scope names the run and job, as @actions/artifact reads it. */
export function runtimeToken(runId: number, jobId: number): string {
  const ids = backendIds(runId, jobId);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ scp: `Actions.GenericRead Actions.Results:${ids.run}:${ids.job}` })}.c2ln`;
}

export class ArtifactService {
  private readonly uploads = new Map<string, Upload>();
  /** Download tokens (the 302's target) -> artifact id. */
  private readonly downloads = new Map<string, number>();
  /** Requests the service did not understand; the fake reports them as problems. */
  readonly unexpected: string[] = [];

  constructor(
    private readonly state: FakeState,
    private readonly web: () => string,
    private readonly nextId: () => number,
    /** Whether a run may upload now (in progress); uploads for other runs are refused. */
    private readonly acceptsUploads: (runId: number) => boolean,
  ) {}

  /** A short-lived URL that serves the artifact's zip without credentials, like GitHub's signed blob URL. */
  downloadUrl(artifactId: number): string {
    const token = randomBytes(12).toString("hex");
    this.downloads.set(token, artifactId);
    return `${this.web()}/_artifacts/download/${artifactId}?sig=${token}`;
  }

  /** Handles the request when it is the service's; false otherwise. */
  handle(req: IncomingMessage, url: URL, data: Buffer, res: ServerResponse): boolean {
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    if (url.pathname.startsWith(TWIRP)) {
      const method = url.pathname.slice(TWIRP.length);
      // biome-ignore lint/suspicious/noExplicitAny: twirp JSON bodies
      let r: any;
      try {
        r = JSON.parse(data.toString("utf8"));
      } catch {
        json(400, { code: "malformed", msg: "the request body is not JSON" });
        return true;
      }
      const runId = Number(/^run-(\d+)$/.exec(r.workflow_run_backend_id ?? "")?.[1]);
      const jobId = Number(/^job-(\d+)$/.exec(r.workflow_job_run_backend_id ?? "")?.[1]);
      if (method === "CreateArtifact") {
        if (!this.acceptsUploads(runId)) {
          json(403, { code: "permission_denied", msg: `run ${r.workflow_run_backend_id} is not in progress` });
          return true;
        }
        const name = String(r.name ?? "");
        const taken =
          this.state.artifacts.some((a) => a.run_id === runId && a.name === name) ||
          [...this.uploads.values()].some((u) => u.runId === runId && u.name === name);
        if (taken) {
          json(409, { code: "already_exists", msg: `an artifact with this name already exists on the workflow run: ${name}` });
          return true;
        }
        const uploadId = randomBytes(8).toString("hex");
        this.uploads.set(uploadId, { uploadId, runId, jobId, name, blocks: new Map(), blob: Buffer.alloc(0) });
        json(200, { ok: true, signed_upload_url: `${this.web()}/_artifacts/blob/${uploadId}?sig=${randomBytes(8).toString("hex")}` });
        return true;
      }
      if (method === "FinalizeArtifact") {
        const u = [...this.uploads.values()].find((x) => x.runId === runId && x.name === r.name);
        if (!u) {
          json(404, { code: "not_found", msg: "no such artifact" });
          return true;
        }
        this.uploads.delete(u.uploadId);
        const digest = typeof r.hash === "string" && r.hash.startsWith("sha256:") ? r.hash : `sha256:${createHash("sha256").update(u.blob).digest("hex")}`;
        const a: ArtifactRecord = { id: this.nextId(), run_id: runId, name: u.name, zip: u.blob, finalized: true, created_at: isoSeconds(Date.now()), digest };
        this.state.artifacts.push(a);
        json(200, { ok: true, artifact_id: String(a.id) });
        return true;
      }
      this.unexpected.push(`${req.method} ${url.pathname}`);
      json(404, { code: "bad_route", msg: `no such method ${method}` });
      return true;
    }
    if (url.pathname.startsWith("/_artifacts/blob/") && req.method === "PUT") {
      const u = this.uploads.get(url.pathname.slice("/_artifacts/blob/".length));
      const headers = { "x-ms-request-id": "fake", "x-ms-version": "2025-01-05", etag: '"0x1"', "last-modified": new Date().toUTCString() };
      if (!u) {
        res.writeHead(404, headers).end();
        return true;
      }
      const comp = url.searchParams.get("comp");
      if (comp === "block") u.blocks.set(url.searchParams.get("blockid") ?? "", data);
      else if (comp === "blocklist") {
        const ids = [...data.toString("utf8").matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)].map((m) => m[1] ?? "");
        u.blob = Buffer.concat(ids.map((id) => u.blocks.get(id) ?? Buffer.alloc(0)));
      } else if (comp === null) u.blob = data;
      else {
        this.unexpected.push(`${req.method} ${url.pathname}${url.search}`);
        res.writeHead(400, headers).end();
        return true;
      }
      res.writeHead(201, headers).end();
      return true;
    }
    if (url.pathname.startsWith("/_artifacts/download/") && req.method === "GET") {
      const id = this.downloads.get(url.searchParams.get("sig") ?? "");
      const a = this.state.artifacts.find((x) => x.id === id && String(x.id) === url.pathname.slice("/_artifacts/download/".length));
      if (!a) {
        res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AuthenticationFailed</Code></Error>");
        return true;
      }
      res.writeHead(200, { "content-type": "application/zip", "content-length": String(a.zip.length) });
      res.end(a.zip);
      return true;
    }
    return false;
  }
}
