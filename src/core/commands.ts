/**
 * Commands in issue and pull request comments: `/autoresearch stop | pause | resume | status |
 * confirm | try <idea>`. Pure: a comment's text in, the commands it holds (and what could not be read) out.
 */

/** A command a maintainer gave in a comment. */
export type CampaignCommand =
  | { kind: "stop" }
  | { kind: "pause" }
  | { kind: "resume" }
  | { kind: "status" }
  /** Confirm a finished campaign's final number (base and best on fresh paired seeds). */
  | { kind: "confirm" }
  /** An idea for the proposer, added to the campaign's instructions. */
  | { kind: "try"; idea: string };

/** What a comment says to the App. */
export interface ParsedComment {
  commands: CampaignCommand[];
  /** One line per `/autoresearch` line that is not a command, saying what is allowed. */
  errors: string[];
}

/** The prefix every command starts with, at the start of a line. */
export const COMMAND_PREFIX = "/autoresearch";

/** What the App answers to a line it cannot read. */
export const COMMAND_USAGE =
  "`/autoresearch stop`, `/autoresearch pause`, `/autoresearch resume`, `/autoresearch status`, `/autoresearch confirm` or `/autoresearch try <idea>`";

/** Longest idea kept from `/autoresearch try` (characters). */
export const MAX_IDEA_CHARS = 2000;

/**
 * The commands of a comment, one per line that starts with `/autoresearch` outside code blocks
 * and quotes (so quoting or showing a command does not give it).
 */
export function parseComment(body: string): ParsedComment {
  const commands: CampaignCommand[] = [];
  const errors: string[] = [];
  let fence: string | undefined;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    const f = /^(`{3,}|~{3,})/.exec(line)?.[1];
    if (f !== undefined) {
      if (fence === undefined) fence = f[0];
      else if (f[0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined || line.startsWith(">")) continue;
    const m = /^\/autoresearch(?:\s+(\S+))?(?:\s+([\s\S]*))?$/i.exec(line);
    if (!m) continue;
    const verb = (m[1] ?? "").toLowerCase();
    const rest = (m[2] ?? "").trim();
    if (verb === "try") {
      if (rest === "") errors.push("`/autoresearch try` needs an idea after it, for example `/autoresearch try a cosine learning-rate schedule`");
      else commands.push({ kind: "try", idea: rest.slice(0, MAX_IDEA_CHARS) });
    } else if (verb === "stop" || verb === "pause" || verb === "resume" || verb === "status" || verb === "confirm") {
      if (rest !== "") errors.push(`\`/autoresearch ${verb}\` takes nothing after it`);
      else commands.push({ kind: verb });
    } else {
      errors.push(verb === "" ? `\`/autoresearch\` needs a command: ${COMMAND_USAGE}` : `unknown command \`${verb.slice(0, 40)}\`: use ${COMMAND_USAGE}`);
    }
  }
  return { commands, errors };
}
