import type { Connection } from './admin-client.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  help: string;
}

export interface CommandContext {
  connection: () => Connection;
  json: boolean;
  out: (text: string) => void;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** One CLI command: `cairn <words> <args> [options]`. Returns the exit code. */
export interface Command {
  words: string[];
  args: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  run(ctx: CommandContext, args: string[], options: OptionValues): Promise<number>;
}
