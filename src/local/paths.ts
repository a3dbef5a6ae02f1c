/**
 * Where the local CLI keeps its state: everything lives under `.autoresearch/` in the repository
 * root, so a campaign can be resumed from the folder alone and removing it forgets everything.
 *
 * ```
 * .autoresearch/
 *   .gitignore                      "*": the folder never shows up in `git status`
 *   lock                            the run lock (see lock.ts)
 *   campaigns/<id>/events.jsonl     the ledger
 *   campaigns/<id>/traces/<n>.md    one trace per experiment
 *   campaigns/<id>/report.md        the last rendered report
 * ```
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Name of the state folder in the repository root. */
export const STATE_DIR = ".autoresearch";

/** `.autoresearch/` of a repository root. */
export function stateDir(root: string): string {
  return join(root, STATE_DIR);
}

/** The run lock file. */
export function lockFile(root: string): string {
  return join(root, STATE_DIR, "lock");
}

/** Folder holding every campaign. */
export function campaignsDir(root: string): string {
  return join(root, STATE_DIR, "campaigns");
}

/** Folder of one campaign. */
export function campaignDir(root: string, id: string | number): string {
  return join(campaignsDir(root), String(id));
}

/** The ledger of one campaign. */
export function eventsFile(root: string, id: string | number): string {
  return join(campaignDir(root, id), "events.jsonl");
}

/** The trace of one experiment, as a path relative to the campaign folder (what the ledger records). */
export function traceRelPath(experiment: number): string {
  // Always "/" so the ledger reads the same on every platform.
  return `traces/${experiment}.md`;
}

/** The trace of one experiment, absolute. */
export function traceFile(root: string, id: string | number, experiment: number): string {
  return join(campaignDir(root, id), "traces", `${experiment}.md`);
}

/** The last rendered report of one campaign. */
export function reportFile(root: string, id: string | number): string {
  return join(campaignDir(root, id), "report.md");
}

/**
 * Creates `.autoresearch/` with a `.gitignore` holding `*` (idempotent), so neither the folder
 * nor anything in it ever makes the repository look dirty. Returns the folder.
 */
export async function ensureStateDir(root: string): Promise<string> {
  const dir = stateDir(root);
  await mkdir(dir, { recursive: true });
  try {
    // "wx": never overwrite a .gitignore the user may have edited.
    await writeFile(join(dir, ".gitignore"), "*\n", { flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return dir;
}

/** Creates the folder of a campaign (and `.autoresearch/` with its `.gitignore`); returns it. */
export async function ensureCampaignDir(root: string, id: string | number): Promise<string> {
  await ensureStateDir(root);
  const dir = campaignDir(root, id);
  await mkdir(join(dir, "traces"), { recursive: true });
  return dir;
}

/**
 * Ids of the campaigns stored in a repository, numeric ids in numeric order ("2" before "10"),
 * then any other folder names in alphabetical order. Empty when nothing was stored yet.
 */
export async function listCampaigns(root: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(campaignsDir(root), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const ids = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const numeric = ids.filter(isNumericId).sort((a, b) => Number(a) - Number(b));
  const other = ids.filter((id) => !isNumericId(id)).sort();
  return [...numeric, ...other];
}

/** The id for a new campaign: one more than the highest numeric id, starting at "1". */
export async function nextCampaignId(root: string): Promise<string> {
  const numeric = (await listCampaigns(root)).filter(isNumericId).map(Number);
  return String(numeric.length === 0 ? 1 : Math.max(...numeric) + 1);
}

function isNumericId(id: string): boolean {
  return /^[0-9]+$/.test(id);
}
