/**
 * The questions `autoresearch init` asks in a terminal. An interface, so that the flow is tested
 * with scripted answers; the terminal implementation uses @inquirer/prompts.
 */
import { checkbox, confirm, input, select } from "@inquirer/prompts";

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  checked?: boolean;
}

/** One question at a time; each resolves with the answer. */
export interface Asker {
  select<T>(message: string, choices: Choice<T>[], fallback?: T): Promise<T>;
  input(message: string, fallback?: string, validate?: (v: string) => true | string): Promise<string>;
  confirm(message: string, fallback: boolean): Promise<boolean>;
  checkbox<T>(message: string, choices: Choice<T>[]): Promise<T[]>;
}

/** Questions on the terminal (stdin and stdout must be a TTY). */
export const terminalAsker: Asker = {
  select: (message, choices, fallback) => select({ message, choices, ...(fallback !== undefined ? { default: fallback } : {}), pageSize: 12 }),
  input: (message, fallback, validate) => input({ message, ...(fallback !== undefined ? { default: fallback } : {}), ...(validate ? { validate } : {}) }),
  confirm: (message, fallback) => confirm({ message, default: fallback }),
  checkbox: (message, choices) => checkbox({ message, choices, pageSize: 15 }),
};
