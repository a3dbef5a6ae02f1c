/**
 * The editable surface: which paths a proposal may change. Pure; used by the core when it applies
 * edits and by the runner when it verifies a commit on the machine that runs it.
 */
import picomatch from "picomatch";

/** Why a path is not a normalised path inside the repository, or undefined when it is. */
export function pathShapeProblem(path: string): string | undefined {
  if (path === "") return "empty path";
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return "absolute paths are not allowed";
  if (path.includes("\\")) return "backslashes are not allowed in paths";
  const parts = path.split("/");
  if (parts.includes("..")) return "paths may not contain '..'";
  if (parts.some((p) => p === "" || p === ".")) return "paths must be normalised (no empty or '.' segments)";
  return undefined;
}

/** Why a path is not editable, or undefined when it is. */
export function surfaceProblem(path: string, editable: readonly string[]): string | undefined {
  const shape = pathShapeProblem(path);
  if (shape) return shape;
  const parts = path.split("/");
  if (parts[0] === ".github") return ".github/** is never editable";
  if (parts[0] === ".git") return ".git/** is never editable";
  if (!picomatch.isMatch(path, editable as string[], { dot: true })) return `not in the editable surface (${editable.join(", ")})`;
  return undefined;
}

/** True when a proposal may change `path`. */
export function isEditable(path: string, editable: readonly string[]): boolean {
  return surfaceProblem(path, editable) === undefined;
}

/** Every changed path outside the surface, with its reason. */
export function surfaceViolations(paths: readonly string[], editable: readonly string[]): { path: string; reason: string }[] {
  const out: { path: string; reason: string }[] = [];
  for (const path of paths) {
    const reason = surfaceProblem(path, editable);
    if (reason) out.push({ path, reason });
  }
  return out;
}

/** The tracked files the surface covers. */
export function editableFiles(tracked: readonly string[], editable: readonly string[]): string[] {
  return tracked.filter((p) => isEditable(p, editable));
}
