/**
 * How the CLI talks to people: one writer for human text (stdout, or stderr when --json keeps
 * stdout for the machine-readable line), a logger for the engine, and the live progress display.
 */
import { createLogUpdate } from "log-update";
import { slowBaseline } from "../core/advice.js";
import type { LedgerEvent } from "../core/events.js";
import { formatMetric, renderProgressLine } from "../core/report.js";
import { type CampaignState, currentMetrics } from "../core/state.js";
import type { RunningRun } from "../local/driver.js";
import type { Logger } from "../ports.js";

export interface Output {
  /** Human text: stdout normally, stderr under --json. */
  say(text: string): void;
  /** The machine-readable result: the last line of stdout. */
  json(value: unknown): void;
  color: boolean;
  /** Whether a live display can redraw in place. */
  interactive: boolean;
  debug: boolean;
  width: number;
  stream: NodeJS.WriteStream;
}

export function createOutput(opts: { json: boolean; debug: boolean; progress: boolean }): Output {
  const stream = opts.json ? process.stderr : process.stdout;
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  return {
    say: (text) => stream.write(`${text}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    color: tty && !process.env.NO_COLOR,
    interactive: tty && opts.progress,
    debug: opts.debug,
    width: Math.min(120, stream.columns ?? 100),
    stream,
  };
}

/** The engine's logger for the CLI: warnings always, details with --debug. */
export function cliLogger(out: Output): Logger {
  const line = (level: string, msg: string, meta?: Record<string, unknown>) =>
    out.say(`${level} ${msg}${meta && Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : ""}`);
  return {
    debug: (m, meta) => out.debug && line("debug:", m, meta),
    info: (m, meta) => out.debug && line("info:", m, meta),
    warn: (m, meta) => line("warning:", m, meta),
    error: (m, meta) => line("error:", m, meta),
  };
}

/** A one-line description of an event worth telling a person about, or undefined. */
export function describeEvent(state: CampaignState, ev: LedgerEvent): string | undefined {
  const m = state.config.metric.name;
  switch (ev.type) {
    case "experiment_proposed":
      return `#${ev.experiment} proposed: ${ev.title}`;
    case "proposal_failed":
      return `#${ev.experiment} proposal failed: ${ev.reason}`;
    case "run_finished":
      if (ev.status === "ok") return undefined;
      return `#${ev.experiment} run (seed ${ev.seed}) ${ev.status}: ${ev.reason}`;
    case "experiment_rebased":
      return `#${ev.experiment} re-applied on the new best; measuring it again`;
    case "experiment_judged": {
      if (ev.experiment === 0) {
        const e = state.experiments[0];
        const ms = e ? currentMetrics(e) : [];
        return `baseline ${m} ${formatMetric(ev.baseline_mean)} over ${ms.length} runs`;
      }
      const verdict = ev.verdict === "keep" ? "KEPT" : "discarded";
      return `#${ev.experiment} ${verdict}: ${ev.reason}`;
    }
    case "rebase_conflicted":
      return `#${ev.experiment} conflicts with the new best (${ev.conflicts.join(", ")}); comparing its own commit with it as a whole`;
    case "judging_changed":
      return `judging: ${ev.reason}`;
    case "confirmation_started":
      return `confirming: the base and the best (#${ev.best_experiment}) on ${ev.seeds.length} fresh paired seeds`;
    case "confirmation_judged":
      return `${ev.confirmed ? "confirmed" : "NOT confirmed"}: ${ev.reason}`;
    case "campaign_stopped":
      return `campaign stopped: ${ev.reason}`;
    default:
      return undefined;
  }
}

/**
 * Live progress: on a terminal, the event log scrolls above a status line redrawn in place; in a
 * pipe or CI, one plain line per event, plus a status line every 15 seconds.
 */
export class Progress {
  private last: { state: CampaignState; running: RunningRun[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPlain = 0;
  private readonly live: ReturnType<typeof createLogUpdate>;
  constructor(private readonly out: Output) {
    this.live = createLogUpdate(out.stream);
  }

  start(): void {
    this.timer = setInterval(() => this.redraw(), this.out.interactive ? 250 : 5000);
    this.timer.unref();
  }

  update(state: CampaignState, running: RunningRun[], ev?: LedgerEvent): void {
    this.last = { state, running };
    const text = ev ? describeEvent(state, ev) : undefined;
    // Said once, as soon as the baseline is measured: the time box is wrong for every experiment to come.
    const slow = ev?.type === "experiment_judged" && ev.experiment === 0 ? slowBaseline(state) : undefined;
    if (text || slow) {
      if (this.out.interactive) this.live.clear();
      if (text) this.out.say(`  ${text}`);
      if (slow) this.out.say(`warning: ${slow.message}`);
    }
    this.redraw();
  }

  private redraw(): void {
    if (!this.last) return;
    const line = renderProgressLine(this.last.state, new Date(), this.last.running, this.out.width);
    if (this.out.interactive) {
      this.live(line);
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= 15_000) {
      this.lastPlain = now;
      this.out.say(`  [${line.replace(/\n/g, " · ")}]`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.out.interactive) this.live.clear();
  }
}
