/**
 * Peak memory of a process tree, sampled from /proc (Linux only). Node reports no resource usage
 * of grandchildren, so the descendants of a process are found through /proc and their
 * proportional set size (Pss: each page shared by N processes counts 1/N in each) is summed at
 * each sample, so memory that processes share is counted once: 5,000 forks of one sleeping shell
 * weigh what they really use, not 5,000 times the shell. The figure is the largest sum seen; a
 * peak between two samples can be missed.
 */
import { readdir, readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";

/** A running sampler; `stop()` takes a last sample and returns the peak in MiB, or null. */
export interface PeakMemorySampler {
  stop(): Promise<number | null>;
}

/**
 * Samples the resident memory of every descendant of `rootPid` (not `rootPid` itself) every
 * `intervalMs`, and more often in the first half second, so that short commands are seen too. Processes that live shorter than one interval, or that leave the tree (a daemon
 * re-parented to init), are missed; GPU memory is not counted. null off Linux or when no
 * descendant was ever seen.
 */
export function samplePeakMemory(rootPid: number, intervalMs = 250): PeakMemorySampler {
  if (process.platform !== "linux") return { stop: async () => null };
  let peakKb: number | null = null;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const sample = async () => {
    const kb = await treeRssKb(rootPid).catch(() => null);
    if (kb !== null && (peakKb === null || kb > peakKb)) peakKb = kb;
  };
  const started = performance.now();
  const next = () => (performance.now() - started < 500 ? Math.min(50, intervalMs) : intervalMs);
  const tick = () => {
    running = sample().finally(() => {
      if (!stopped) timer = setTimeout(tick, next());
    });
  };
  timer = setTimeout(tick, next());
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      return peakKb === null ? null : Math.round((peakKb / 1024) * 10) / 10;
    },
  };
}

/**
 * Sum of the proportional set size (Pss, kB) of each descendant of `rootPid`: the memory they use,
 * shared pages counted once in all; null when none can be read. Processes that have exited or are
 * exiting (no memory left to read) are skipped rather than counted as 0. Where smaps_rollup is
 * missing (kernels before 4.14), resident memory is summed instead, which counts shared pages
 * once per process.
 */
async function treeRssKb(rootPid: number): Promise<number | null> {
  let total: number | null = null;
  for (const pid of await descendants(rootPid)) {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "latin1").catch(() => "");
    const m = /^Pss:\s+(\d+)\s+kB/m.exec(rollup) ?? /^VmRSS:\s+(\d+)\s+kB/m.exec(await readFile(`/proc/${pid}/status`, "latin1").catch(() => ""));
    if (m) total = (total ?? 0) + Number(m[1]);
  }
  return total;
}

/**
 * The descendants of `rootPid`, through each thread's `children` list: a few small reads per
 * sample, so sampling stays cheap on a busy machine with thousands of processes. Falls back to
 * scanning /proc where the kernel has no `children` files.
 */
async function descendants(rootPid: number): Promise<number[]> {
  const out: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    let tasks: string[];
    try {
      tasks = await readdir(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tasks) {
      let text: string;
      try {
        text = await readFile(`/proc/${pid}/task/${tid}/children`, "latin1");
      } catch (err) {
        if (pid === rootPid && (err as NodeJS.ErrnoException).code === "ENOENT" && tasks.length > 0) return scanDescendants(rootPid);
        continue;
      }
      for (const c of text.split(" ")) {
        if (c.trim() === "") continue;
        out.push(Number(c));
        queue.push(Number(c));
      }
    }
  }
  return out;
}

/** The descendants of `rootPid` from every process's parent id in /proc. */
async function scanDescendants(rootPid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "latin1").catch(() => "");
    if (stat === "") continue;
    // Fields after the parenthesised command name, which may itself contain spaces or ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(rootPid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}
