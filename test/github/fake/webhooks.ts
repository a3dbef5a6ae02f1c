/**
 * Webhook deliveries as GitHub makes them: a JSON POST with `x-github-event`,
 * `x-github-delivery`, `x-hub-signature-256` (HMAC-SHA256 of the body with the webhook secret) and
 * the legacy `x-hub-signature` (SHA-1), the hook and installation-target headers, and no retry
 * when the receiver fails (GitHub redelivers only on request). Knobs drop, duplicate, hold and
 * reorder deliveries for the App's robustness tests.
 */
import { createHmac, randomUUID } from "node:crypto";
import type { DeliveryRecord } from "./state.js";

/** Which deliveries a knob applies to. */
export interface WebhookFilter {
  event?: string;
  action?: string;
  // biome-ignore lint/suspicious/noExplicitAny: payloads are wide JSON
  where?: (payload: any) => boolean;
}

export function matches(f: WebhookFilter, event: string, payload: Record<string, unknown>): boolean {
  if (f.event !== undefined && f.event !== event) return false;
  if (f.action !== undefined && f.action !== payload.action) return false;
  return f.where ? f.where(payload) : true;
}

export function sign(secret: string, body: string, algorithm: "sha256" | "sha1" = "sha256"): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest("hex")}`;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

/** The knobs on deliveries (`gh.control.webhooks`). */
export interface WebhookKnobs {
  /** Drop matching deliveries (recorded with outcome `dropped`); each rule drops `times` deliveries (default 1; Infinity for all). */
  drop(filter: WebhookFilter, times?: number): void;
  /** Send every delivery twice (the second a redelivery with the same GUID, `delayMs` later). */
  duplicate: { enabled: boolean; delayMs: number };
  /** Hold deliveries instead of sending them, until `release()`. */
  hold(): void;
  /** Send the held deliveries: in the order they were made, reversed, or shuffled (seeded). */
  release(order?: "fifo" | "reverse" | { seed: number }): Promise<void>;
  /** Deliveries waiting in `hold()`. */
  readonly heldCount: number;
  /** Milliseconds to wait before each delivery. */
  delayMs: number;
  /** Deliveries in flight at once (GitHub sends concurrently; 1 keeps them in order). */
  concurrency: number;
}

interface Pending {
  record: DeliveryRecord;
  body: string;
}

/** Sends deliveries to the App, one queue, knobs applied; records every delivery in `records`. */
export class WebhookSender implements WebhookKnobs {
  duplicate = { enabled: false, delayMs: 20 };
  delayMs = 0;
  concurrency = 1;
  private drops: { filter: WebhookFilter; left: number }[] = [];
  private holding = false;
  private held: Pending[] = [];
  private queue: Pending[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private inflight = new Set<Promise<void>>();

  constructor(
    private target: WebhookTarget | undefined,
    private readonly records: DeliveryRecord[],
    private readonly hookId: number,
    private readonly appId: number,
  ) {}

  drop(filter: WebhookFilter, times = 1): void {
    this.drops.push({ filter, left: times });
  }

  hold(): void {
    this.holding = true;
  }

  async release(order: "fifo" | "reverse" | { seed: number } = "fifo"): Promise<void> {
    this.holding = false;
    const held = this.held.splice(0);
    if (order === "reverse") held.reverse();
    else if (typeof order === "object") {
      let s = order.seed >>> 0;
      const rand = () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      for (let i = held.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [held[i], held[j]] = [held[j] as Pending, held[i] as Pending];
      }
    }
    for (const p of held) this.enqueue(p);
    await this.idle();
  }

  /** Queues a delivery of `event` (knobs applied); returns its record at once. */
  emit(event: string, payload: Record<string, unknown>): DeliveryRecord {
    const record = this.newRecord(event, payload, "valid");
    const body = JSON.stringify(payload);
    const rule = this.drops.find((d) => d.left > 0 && matches(d.filter, event, payload));
    if (rule) {
      rule.left--;
      record.outcome = "dropped";
      this.records.push(record);
      return record;
    }
    const copies: Pending[] = [{ record, body }];
    if (this.duplicate.enabled) copies.push({ record: { ...record, redelivery: true }, body });
    for (const c of copies) {
      if (this.holding) this.held.push(c);
      else this.enqueue(c);
    }
    return record;
  }

  /** Sends one delivery now, past the queue and the knobs; resolves with its record. */
  async deliverNow(event: string, payload: Record<string, unknown>, signature: "valid" | "bad" | "none"): Promise<DeliveryRecord> {
    const record = this.newRecord(event, payload, signature);
    await this.send({ record, body: JSON.stringify(payload) });
    return record;
  }

  /** Where deliveries go from now on (an App restarted elsewhere); undefined records without sending. */
  setTarget(target: WebhookTarget | undefined): void {
    this.target = target;
  }

  /**
   * Sends a recorded delivery again with its GUID, as GitHub's "Redeliver" does; resolves with the
   * new record (`redelivery: true`).
   */
  async redeliver(record: DeliveryRecord): Promise<DeliveryRecord> {
    const again: DeliveryRecord = { ...record, outcome: "no-receiver", status: null, error: null, ms: null, redelivery: true, at: new Date().toISOString() };
    await this.send({ record: again, body: JSON.stringify(record.payload) });
    return again;
  }

  /** Resolves when nothing is queued or in flight (held deliveries do not count). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Deliveries waiting in `hold()`. */
  get heldCount(): number {
    return this.held.length;
  }

  private newRecord(event: string, payload: Record<string, unknown>, signature: DeliveryRecord["signature"]): DeliveryRecord {
    return {
      guid: randomUUID(),
      event,
      action: typeof payload.action === "string" ? payload.action : undefined,
      payload,
      outcome: "no-receiver",
      status: null,
      error: null,
      redelivery: false,
      signature,
      ms: null,
      at: new Date().toISOString(),
    };
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const p = this.queue.shift() as Pending;
      this.active++;
      const run = (async () => {
        const wait = this.delayMs + (p.record.redelivery ? this.duplicate.delayMs : 0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await this.send(p);
      })().finally(() => {
        this.active--;
        this.inflight.delete(run);
        this.pump();
        if (this.queue.length === 0 && this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
      this.inflight.add(run);
    }
  }

  private async send(p: Pending): Promise<void> {
    const { record, body } = p;
    this.records.push(record);
    if (!this.target) return;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/fake",
      "x-github-event": record.event,
      "x-github-delivery": record.guid,
      "x-github-hook-id": String(this.hookId),
      "x-github-hook-installation-target-id": String(this.appId),
      "x-github-hook-installation-target-type": "integration",
    };
    if (record.signature !== "none") {
      const secret = record.signature === "valid" ? this.target.secret : `not-${this.target.secret}`;
      headers["x-hub-signature-256"] = sign(secret, body, "sha256");
      headers["x-hub-signature"] = sign(secret, body, "sha1");
    }
    const start = performance.now();
    try {
      const res = await fetch(this.target.url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      record.outcome = "sent";
      record.status = res.status;
    } catch (err) {
      record.outcome = "error";
      record.error = (err as Error).message;
    }
    record.ms = performance.now() - start;
  }
}
