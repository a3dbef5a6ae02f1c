/**
 * How far a run is kept from everything else on the machine, and how every process it starts is
 * found again. Detected at run time, strongest first, and recorded per run:
 *
 * - `sandbox`: bubblewrap with its own pid, mount and IPC namespaces. The run sees only its own
 *   processes (a private /proc: no ancestor's environ or memory), the filesystem read-only except
 *   its own directories and a private /tmp, and the repository, the runner's temporary folder and
 *   well-known credential files hidden. When the tool runs as root, bubblewrap itself runs as an
 *   unprivileged user too. Every process dies with the namespace.
 * - `user`: another OS user (the tool runs as root, no bubblewrap): it cannot read the tool's
 *   /proc/<pid>/environ or memory, nor write the repository or other users' files; it can read
 *   what is world-readable.
 * - `process`: the same OS user, every process in a cgroup of its own and killed with it. It can
 *   read and write whatever that user can, other processes' environments included.
 * - `none`: the same, and processes are found only by their process group and an environment
 *   marker scanned in /proc, which a process that clears its environment escapes.
 *
 * Containment (finding every process) is a second axis: a cgroup v2 directory the tool can
 * create (with `cgroup.kill`), the sandbox's pid namespace, and always the process group and the
 * environment marker.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

import type { IsolationLevel } from "../core/events.js";

export type { IsolationLevel };

import { ISOLATION_LEVELS } from "../core/isolation.js";

export { describeIsolation, ISOLATION_LEVELS } from "../core/isolation.js";

/** The variable that marks every process of one command, for the /proc scan. */
export const MARKER_VAR = "AUTORESEARCH_RUN_MARK";

/** The uid and gid runs get when the tool runs as root: "nobody" on Debian, Ubuntu and Fedora. */
const NOBODY = 65534;

/**
 * Credential files and folders under HOME that a sandbox hides (relative to HOME). Anything else
 * the tool's user can read, a sandboxed run can read too (read-only).
 */
export const HOME_CREDENTIALS: readonly string[] = [
  ".ssh",
  ".gnupg",
  ".aws",
  ".azure",
  ".config/gcloud",
  ".config/gh",
  ".config/hub",
  ".config/anthropic",
  ".anthropic",
  ".claude",
  ".claude.json",
  ".netrc",
  ".git-credentials",
  ".config/git/credentials",
  ".docker/config.json",
  ".kube",
  ".npmrc",
  ".yarnrc.yml",
  ".pypirc",
  ".config/pip/pip.conf",
  ".pip/pip.conf",
  ".huggingface",
  ".cache/huggingface/token",
  ".cache/huggingface/stored_tokens",
  ".netrc",
  ".wandb",
  ".config/wandb",
  ".autoresearch",
];

/** What the machine offers: each probed once per process, and only when a level needs it. */
const probes: { setpriv?: boolean; bwrap?: boolean; cgroup?: string | null } = {};
const isRoot = () => process.getuid?.() === 0;

function hasSetpriv(): boolean {
  probes.setpriv ??= isRoot() && works("setpriv", ["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups", "true"]);
  return probes.setpriv;
}

/** bubblewrap works (as NOBODY when root). */
function hasBwrap(): boolean {
  if (probes.bwrap === undefined) {
    const args = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--die-with-parent", "true"];
    probes.bwrap = isRoot()
      ? hasSetpriv() && works("setpriv", ["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups", "bwrap", ...args])
      : works("bwrap", args);
  }
  return probes.bwrap;
}

/** A cgroup v2 folder under which this process may create children and move processes. */
function cgroupParentDir(): string | undefined {
  if (probes.cgroup === undefined) probes.cgroup = probeCgroup() ?? null;
  return probes.cgroup ?? undefined;
}

function works(file: string, args: string[]): boolean {
  const r = spawnSync(file, args, { stdio: "ignore", timeout: 10_000 });
  return r.status === 0;
}

/** This process's own cgroup v2 directory, when cgroup2 is mounted and it can create children there. */
function probeCgroup(): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const line = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"));
    if (line === undefined) return undefined;
    const own = line.slice(3).trim();
    const mount = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .find((f) => f[f.indexOf("-") + 1] === "cgroup2");
    if (!mount?.[4]) return undefined;
    const dir = join(mount[4], own);
    // Try it for real: create a child, move a short-lived process into it, remove it.
    const probe = join(dir, `autoresearch-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
    mkdirSync(probe);
    try {
      const r = spawnSync("/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs"', probe], { stdio: "ignore", timeout: 10_000 });
      if (r.status !== 0 || !existsSync(join(probe, "cgroup.kill"))) return undefined;
    } finally {
      rmdirRetry(probe);
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** What the caller wants of the isolation. */
export interface IsolationRequest {
  /** The strongest level to use; weaker ones are chosen when it is not available. Default sandbox. */
  max?: IsolationLevel;
  /**
   * Paths a sandboxed run must not see (the repository, the runner's temporary folder):
   * replaced by empty ones. Credential files under HOME are always added.
   */
  hide?: readonly string[];
  /** Paths inside hidden ones a sandboxed run may still read (the inputs it reaches through links): bound read-only. */
  reveal?: readonly string[];
  /** HOME of the tool's user, whose credential files are hidden; default $HOME. */
  home?: string;
  /** Use no cgroup even where one could be made (tests of the marker path). */
  noCgroup?: boolean;
}

/** What a run gets: the level, and how to start each of its commands. */
export interface Isolation {
  level: IsolationLevel;
  /** How processes are found: "cgroup", "pid namespace", "process group", "environment marker". */
  containment: string[];
  /** The uid a run's processes have, when it is not the tool's. */
  uid?: number;
  gid?: number;
  /** Prepares one command; see {@link CommandLaunch}. */
  launch(spec: LaunchSpec): CommandLaunch;
}

/** One command to start. */
export interface LaunchSpec {
  command: string;
  cwd: string;
  env: Record<string, string>;
  /** Directories the command may write (its tree, HOME, TMPDIR); everything else is read-only in a sandbox. */
  writable: readonly string[];
}

/** How to spawn one command and find its processes afterwards. */
export interface CommandLaunch {
  file: string;
  args: string[];
  env: Record<string, string>;
  scope: ProcessScope;
}

/** Every process of one command, found whatever it did to its process group. */
export interface ProcessScope {
  /** Live (non-zombie) processes of the command that a process-group signal may not reach. */
  pids(): number[];
  /** Signals every process of the scope. */
  kill(signal: NodeJS.Signals): void;
  /** Removes what the scope made (its cgroup); call once every process is gone. */
  dispose(): void;
}

/** Detects the strongest available level up to `req.max`; see the module comment. */
export function detectIsolation(req: IsolationRequest = {}): Isolation {
  const max = ISOLATION_LEVELS.indexOf(req.max ?? "sandbox");
  const allowed = (l: IsolationLevel) => ISOLATION_LEVELS.indexOf(l) >= max;
  const cgroupParent = req.noCgroup ? undefined : cgroupParentDir();
  const home = req.home ?? process.env.HOME;
  const hide = [...(req.hide ?? []), ...(home ? HOME_CREDENTIALS.map((c) => join(home, c)) : [])].map((p) => resolve(p));
  const reveal = (req.reveal ?? []).map((p) => resolve(p));

  let level: IsolationLevel;
  if (allowed("sandbox") && hasBwrap()) level = "sandbox";
  else if (allowed("user") && isRoot() && hasSetpriv()) level = "user";
  else if (allowed("process") && cgroupParent !== undefined) level = "process";
  else level = "none";
  const switchUser = isRoot() && (level === "sandbox" || level === "user");
  const containment = [
    ...(cgroupParent !== undefined ? ["cgroup"] : []),
    ...(level === "sandbox" ? ["pid namespace"] : []),
    "process group",
    "environment marker",
  ];
  return {
    level,
    containment,
    ...(switchUser ? { uid: NOBODY, gid: NOBODY } : {}),
    launch(spec) {
      const token = randomBytes(16).toString("hex");
      const env = { ...spec.env, [MARKER_VAR]: token };
      let argv: string[] = ["/bin/sh", "-c", spec.command];
      // A run of another user cannot reach what lies behind a folder closed to others (root's
      // HOME): bubblewrap, running as that user, could not even mount over it.
      const toHide = switchUser ? hide.filter(reachableByOthers) : hide;
      // Inputs another user cannot reach are in the run's folder already (see provideInputs).
      const toReveal = switchUser ? reveal.filter(reachableByOthers) : reveal;
      if (level === "sandbox") argv = ["bwrap", ...bwrapArgs(spec, toHide, toReveal), "--", ...argv];
      if (switchUser) argv = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv];
      let cgroup: string | undefined;
      if (cgroupParent !== undefined) {
        cgroup = join(cgroupParent, `autoresearch-${process.pid}-${token.slice(0, 12)}`);
        try {
          mkdirSync(cgroup);
          // The first process moves itself into the cgroup before it starts anything, so every
          // descendant is born inside it; a failure to join stops the command before it runs.
          argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" || exit 125; exec "$@"', cgroup, ...argv];
        } catch {
          cgroup = undefined;
        }
      }
      const [file = "/bin/sh", ...args] = argv;
      return { file, args, env, scope: scopeOf(cgroup, token) };
    },
  };
}

/** The level the machine gives up to `max`, without preparing anything (for reports and benches). */
export function availableIsolation(max: IsolationLevel = "sandbox"): IsolationLevel {
  return detectIsolation({ max }).level;
}

/** Arguments of bubblewrap for one command. */
function bwrapArgs(spec: LaunchSpec, hide: readonly string[], reveal: readonly string[] = []): string[] {
  const args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-cgroup-try", "--ro-bind", "/", "/", "--dev", "/dev"];
  // GPUs: the device nodes of NVIDIA's driver and DRM, when present.
  for (const name of safeReaddir("/dev")) {
    if (name.startsWith("nvidia")) args.push("--dev-bind", `/dev/${name}`, `/dev/${name}`);
  }
  if (existsSync("/dev/dri")) args.push("--dev-bind", "/dev/dri", "/dev/dri");
  args.push("--proc", "/proc", "--tmpfs", "/tmp");
  const writable = spec.writable.map((p) => resolve(p));
  // Toolchains that live inside a hidden folder (a .venv in the repository) stay visible, read-only.
  const toolchains = [spec.env.VIRTUAL_ENV, spec.env.CONDA_PREFIX, ...(spec.env.PATH ?? "").split(":").map((p) => (p.endsWith("/bin") ? dirname(p) : p))]
    .filter((p): p is string => p !== undefined && isAbsolute(p) && existsSync(p))
    .map((p) => resolve(p));
  const reshown: string[] = [];
  // Outer folders first: a hidden folder inside another is mounted over inside the first's tmpfs.
  for (const path of [...new Set(hide)].sort((a, b) => a.length - b.length)) {
    let isDir: boolean;
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) continue;
      isDir = st.isDirectory();
    } catch {
      continue; // absent: nothing to hide
    }
    // The run's own directories may lie inside a hidden one (RUNNER_TEMP): they are bound again below.
    if (isDir) args.push("--tmpfs", path);
    else args.push("--ro-bind", "/dev/null", path);
    for (const t of toolchains) if (isDir && inside(t, path) && !writable.some((w) => inside(t, w))) reshown.push(t);
  }
  for (const t of [...new Set(reshown)]) args.push("--ro-bind", t, t);
  // Inputs the run reaches through links (they may lie in a hidden folder, or under /tmp, which
  // the sandbox replaces): bound read-only, so they are visible and cannot be changed.
  for (const r of [...new Set(reveal)]) if (existsSync(r)) args.push("--ro-bind", r, r);
  for (const w of writable) args.push("--bind", w, w);
  args.push("--chdir", spec.cwd);
  return args;
}

/** True when every folder above `path` lets other users pass (o+x). */
export function reachableByOthers(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dirname(dir) === dir) return true;
  }
}

function inside(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The processes of one command: its cgroup (when there is one) and every process bearing its marker. */
function scopeOf(cgroup: string | undefined, token: string): ProcessScope {
  const needle = Buffer.from(`${MARKER_VAR}=${token}\0`);
  return {
    pids() {
      const found = new Set<number>();
      if (cgroup !== undefined) for (const pid of cgroupPids(cgroup)) if (isLive(pid)) found.add(pid);
      for (const pid of markedPids(needle)) found.add(pid);
      return [...found];
    },
    kill(signal) {
      if (cgroup !== undefined && signal === "SIGKILL") {
        try {
          writeFileSync(join(cgroup, "cgroup.kill"), "1");
        } catch {
          // Gone already, or a kernel before 5.14: the pids below get it one by one.
        }
      }
      for (const pid of this.pids()) {
        try {
          process.kill(pid, signal);
        } catch {
          // Exited meanwhile.
        }
      }
    },
    dispose() {
      if (cgroup !== undefined) rmdirRetry(cgroup);
    },
  };
}

function cgroupPids(cgroup: string): number[] {
  try {
    return readFileSync(join(cgroup, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Processes whose environment holds the marker; this process never counts. */
function markedPids(needle: Buffer): number[] {
  if (process.platform !== "linux") return [];
  const out: number[] = [];
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // exited, or not ours to read
    }
    if (environ.includes(needle) && isLive(Number(entry))) out.push(Number(entry));
  }
  return out;
}

/** False for a process that is gone or a zombie (already dead, only not reaped). */
export function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** rmdir of a cgroup fails with EBUSY for a moment after its last process exits. */
function rmdirRetry(dir: string): void {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY") return;
      const until = Date.now() + 10;
      while (Date.now() < until) {
        // A short busy wait: the kernel releases the cgroup within milliseconds.
      }
    }
  }
}
