/**
 * Isolation levels in words: what each level means, and the level a set of runs had (the weakest
 * any run had, since a report must never claim more than held for every run). Pure.
 */
import type { IsolationLevel, RunStatus } from "./events.js";

/** The isolation levels, strongest first. */
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ["sandbox", "user", "process", "none"];

/** What a level means, in plain words, for logs, job summaries and reports: never more than holds. */
export function describeIsolation(level: IsolationLevel): string {
  switch (level) {
    case "sandbox":
      return "sandboxed: own process and mount namespaces; no other process, the repository, the runner's files or credential files visible; only its own folders writable";
    case "user":
      return "another OS user: cannot read this tool's environment or memory nor write your files; can read world-readable files";
    case "process":
      return "not isolated from your user: every process it starts is killed at the end, but it can read what your user can (other processes' environments, files)";
    case "none":
      return "not isolated: it can read and write what your user can, and a process that clears its environment can outlive the run";
  }
}

/** The isolation of these runs in plain words (runs rejected before anything ran do not count). */
export function isolationOfRuns(runs: Iterable<{ status: RunStatus | "running"; isolation?: IsolationLevel | undefined }>): string {
  const levels = new Set<IsolationLevel>();
  let unrecorded = 0;
  for (const r of runs) {
    if (r.status === "rejected" || r.status === "running" || r.status === "cancelled") continue;
    if (r.isolation === undefined) unrecorded++;
    else levels.add(r.isolation);
  }
  if (levels.size === 0) return unrecorded > 0 ? "not recorded (runs from before autoresearch recorded it)" : "no run yet";
  const weakest = [...ISOLATION_LEVELS].reverse().find((l) => levels.has(l)) as IsolationLevel;
  const mixed = levels.size > 1 || unrecorded > 0 ? ` (the weakest of ${[...levels].join(", ")}${unrecorded > 0 ? ", and runs without a record" : ""})` : "";
  return `${weakest}${mixed}: ${describeIsolation(weakest)}`;
}
