/**
 * The ledger of one campaign as a JSON Lines file on this machine.
 *
 * Crash safety rests on one rule: every append writes all its lines, each ending in "\n", with
 * one write and an fsync. A process killed mid-append can therefore leave at most one partial
 * line, and only at the very end, without its newline: a torn write. That case is reported and
 * repaired (the torn text is kept in a side file). Anything else that does not parse is
 * corruption the user must look at, never something this code rewrites on its own.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type LedgerEvent, type LedgerProblem, type NewEventInput, parseLedger, stamp } from "../core/events.js";
import { LedgerError } from "../errors.js";
import type { Clock, LedgerStore } from "../ports.js";
import { ensureCampaignDir, traceRelPath } from "./paths.js";

/** Start of the message of a torn-last-line problem (see isTornWrite). */
export const TORN_WRITE = "torn write";

/** True for the one problem `repair()` fixes: a last line without its newline. */
export function isTornWrite(problem: LedgerProblem): boolean {
  return problem.message.startsWith(TORN_WRITE);
}

/** What `repair()` did: where the torn text went, and the text itself. */
export interface LedgerRepair {
  /** The side file holding the torn text (`events.jsonl.torn-<time>`). */
  backup: string;
  /** 1-based line number the torn text had. */
  line: number;
  text: string;
}

/** Options of a FileLedgerStore. */
export interface FileLedgerStoreOptions {
  /** Time source for event stamps. */
  clock?: Clock;
}

/** A LedgerStore over `<campaign folder>/events.jsonl`, with traces in `<campaign folder>/traces/`. */
export class FileLedgerStore implements LedgerStore {
  /** The events file. */
  readonly file: string;
  private readonly clock: Clock;
  /** Tail of the queue every file operation runs on, so appends never interleave in this process. */
  private queue: Promise<unknown> = Promise.resolve();

  /** `dir`: the campaign folder (created on first write). */
  constructor(
    readonly dir: string,
    options: FileLedgerStoreOptions = {},
  ) {
    this.file = join(dir, "events.jsonl");
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /**
   * The store of campaign `id` in repository `root`: creates `.autoresearch/` (with its
   * `.gitignore`) and the campaign folder, so the repository never looks dirty because of us.
   */
  static async forCampaign(root: string, id: string | number, options: FileLedgerStoreOptions = {}): Promise<FileLedgerStore> {
    return new FileLedgerStore(await ensureCampaignDir(root, id), options);
  }

  /**
   * Every event, and every line that could not be read. A last line without a newline is a torn
   * write (reported with a message starting with TORN_WRITE), even when it happens to parse:
   * the append that wrote it did not finish. A missing file is an empty ledger.
   */
  read(): Promise<{ events: LedgerEvent[]; problems: LedgerProblem[] }> {
    return this.serialize(async () => {
      const { complete, torn, tornLine } = splitTorn(await this.readText());
      const { events, problems } = parseLedger(complete);
      if (torn !== "") {
        problems.push({
          line: tornLine,
          message: `${TORN_WRITE}: the last line of ${this.file} has no newline (a process was probably killed while appending); it will be moved to ${basename(this.file)}.torn-<time> before the next append`,
          text: torn.slice(0, 200),
        });
      }
      return { events, problems };
    });
  }

  /**
   * Reads the ledger and throws LedgerError for any problem other than a torn last line (which
   * `repair()` handles): a bad line in the middle may be an event, so only a person should decide.
   */
  async assertReadable(): Promise<{ events: LedgerEvent[]; problems: LedgerProblem[] }> {
    const result = await this.read();
    const bad = result.problems.find((p) => !isTornWrite(p));
    if (bad) {
      throw new LedgerError(
        `${this.file} line ${bad.line} cannot be read (${bad.message}): ${JSON.stringify(bad.text.slice(0, 80))}. ` +
          "Fix or delete that line by hand (keep a copy of the file first), then run again.",
        this.file,
        bad.line,
      );
    }
    return result;
  }

  /**
   * Moves a torn last line to `events.jsonl.torn-<time>` and truncates the ledger to its last
   * complete line. Returns what was moved, or undefined when the ledger was not torn.
   */
  repair(): Promise<LedgerRepair | undefined> {
    return this.serialize(async () => {
      const text = await this.readText();
      const { complete, torn, tornLine } = splitTorn(text);
      if (torn === "") return undefined;
      const backup = await this.writeBackup(torn);
      const fh = await open(this.file, "r+");
      try {
        // Byte length: the torn tail may end inside a multi-byte character.
        await fh.truncate(Buffer.byteLength(complete, "utf8"));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { backup, line: tornLine, text: torn };
    });
  }

  /**
   * Appends `events` if the ledger's last seq is still `expectedSeq` (0 for an empty ledger);
   * LedgerError otherwise (another writer appended: re-read and decide again). All lines go out
   * in one write followed by an fsync.
   */
  append(events: NewEventInput[], expectedSeq: number): Promise<LedgerEvent[]> {
    return this.serialize(async () => {
      const text = await this.readText();
      const lastSeq = this.lastSeq(text);
      if (lastSeq !== expectedSeq) {
        throw new LedgerError(
          `${this.file} changed: expected the last event to be #${expectedSeq} but it is #${lastSeq} (another writer appended); read the ledger again`,
          this.file,
        );
      }
      const stamped = stamp(events, lastSeq, this.clock.now());
      if (stamped.length === 0) return stamped;
      const data = stamped.map((e) => `${JSON.stringify(e)}\n`).join("");
      // A first append may create the file (and the folder); its directory entry is synced too.
      const created = text === "";
      if (created) await mkdir(this.dir, { recursive: true });
      const fh = await open(this.file, "a");
      try {
        // writeFile on a handle loops until every byte is out; "a" puts them at the end.
        await fh.writeFile(data, "utf8");
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (created) await syncDir(this.dir);
      return stamped;
    });
  }

  /** Writes `traces/<n>.md` atomically (temp file + rename); returns that relative path. */
  async writeTrace(experiment: number, markdown: string): Promise<string> {
    const rel = traceRelPath(experiment);
    const target = join(this.dir, rel);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await writeFile(tmp, markdown, "utf8");
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return rel;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    // The queue must go on after a failed operation; the caller still sees the failure.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readText(): Promise<string> {
    try {
      return await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw err;
    }
  }

  /** Seq of the last complete line; refuses to append after a torn or unreadable last line. */
  private lastSeq(text: string): number {
    const { complete, torn, tornLine } = splitTorn(text);
    if (torn !== "") {
      throw new LedgerError(`${this.file} line ${tornLine} is a torn write; repair the ledger before appending`, this.file, tornLine);
    }
    const lines = complete.split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i];
      if (line === undefined || line.trim() === "") continue;
      let seq: unknown;
      try {
        seq = (JSON.parse(line) as { seq?: unknown }).seq;
      } catch {
        seq = undefined;
      }
      if (typeof seq !== "number" || !Number.isInteger(seq)) {
        throw new LedgerError(`${this.file} line ${i + 1} has no sequence number; fix or delete it by hand before appending`, this.file, i + 1);
      }
      return seq;
    }
    return 0;
  }

  private async writeBackup(torn: string): Promise<string> {
    const stampText = this.clock.now().toISOString().replace(/[:.]/g, "-");
    for (let n = 0; ; n++) {
      const backup = `${this.file}.torn-${stampText}${n === 0 ? "" : `-${n}`}`;
      try {
        // "wx": two repairs in the same millisecond must not overwrite each other's text.
        const fh = await open(backup, "wx");
        try {
          await fh.writeFile(torn, "utf8");
          await fh.sync();
        } finally {
          await fh.close();
        }
        return backup;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || n >= 100) throw err;
      }
    }
  }
}

/** Splits ledger text into its complete lines and a torn tail (text after the last newline). */
function splitTorn(text: string): { complete: string; torn: string; tornLine: number } {
  const end = text.lastIndexOf("\n") + 1;
  const complete = text.slice(0, end);
  const torn = text.slice(end);
  return { complete, torn, tornLine: complete.split("\n").length };
}

/** Makes a newly created file's directory entry durable; best effort (not every platform can). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows cannot open a directory for fsync; the data itself is already synced.
  }
}
