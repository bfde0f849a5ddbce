import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: exit code 2, with the message and the command's usage line. */
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes are part of the CLI's public contract (README: "Exit codes"). */
export const ExitCode = {
  ok: 0,
  someCallsFailed: 1,
  usageOrInput: 2,
  /** The run finished, but some dataset lines could not be read and were skipped (score). */
  rowsSkipped: 3,
} as const;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** parseArgs with usage errors that name the command's usage. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, '.'), usage);
  }
}

/** `role=key` pairs from repeated --field flags. */
export function parseFieldFlags(values: readonly string[] | undefined, usage: string): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const value of values ?? []) {
    const match = /^(id|input|image|reference|outputs)=(.+)$/.exec(value);
    if (!match) {
      throw new UsageError(`--field ${value}: expected ROLE=KEY with ROLE one of id, input, image, reference, outputs (e.g. --field reference=gold)`, usage);
    }
    mapping[match[1]] = match[2];
  }
  return mapping;
}

export function writeJson(io: CliIo, document: unknown): void {
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}

/**
 * Text from a dataset made safe for a terminal: control characters (ANSI escapes among them) are shown
 * as visible `\xHH` escapes instead of being interpreted by the terminal.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
