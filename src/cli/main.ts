import { type CliCommand, type CliIo, ExitCode, UsageError, writeJson } from './args';
import { DatasetReadError } from '../core/dataset/errors';
import { redactCredentials } from '../core/security/redact';
import { terminalText } from '../core/security/escape';
import { UnsafeFileError } from '../core/store/safeFile';
import { batchCommand } from './commands/batch';
import { checkModelsCommand } from './commands/checkModels';
import { compactCommand } from './commands/compact';
import { compareCommand } from './commands/compare';
import { exportCommand } from './commands/export';
import { correctCommand, labelCommand } from './commands/review';
import { inspectCommand } from './commands/inspect';
import { judgeCommand } from './commands/judge';
import { reportCommand } from './commands/report';
import { previewCommand } from './commands/preview';
import { scoreCommand } from './commands/score';

// Each command lives in src/cli/commands/; this table is the CLI's command list.
const commands: readonly CliCommand[] = [inspectCommand, scoreCommand, previewCommand, reportCommand, judgeCommand, compareCommand, checkModelsCommand, labelCommand, correctCommand, exportCommand, batchCommand, compactCommand];

function usage(): string {
  const lines = ['Usage: pisar-review <command> [options]', '', 'Commands:'];
  for (const command of commands) {
    lines.push(`  ${command.usage}`, `      ${command.summary}`);
  }
  lines.push('', 'Exit codes: 0 done, 1 some model calls failed, 2 bad usage or unreadable input, 3 (score) dataset lines were skipped, 4 (batch status/collect) batches still running; export: 2 also when selected rows belong to the hold-out.');
  return lines.join('\n');
}

export async function runCli(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // Diagnostics and progress may quote a server's error; keys in them never reach the terminal or a CI log.
  // JSON documents and tables on stdout too: one redaction for everything that leaves the process. Control
  // characters from a dataset, a sidecar or a server (ESC sequences, a lone CR, bidi overrides) are shown as
  // `\u001b`, never acted on by the terminal; inside a JSON string that escape reads back as the same character.
  const secrets = secretsInEnvironment(rawIo.env);
  const io: CliIo = { ...rawIo, stdout: redactingStream(rawIo.stdout, secrets, false), stderr: redactingStream(rawIo.stderr, secrets, true) };
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(`${usage()}\n`);
    return name === undefined ? ExitCode.usageOrInput : ExitCode.ok;
  }
  if (name === '--version') {
    io.stdout.write(`${VERSION}\n`);
    return ExitCode.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr.write(`pisar-review: unknown command "${name}"\n\n${usage()}\n`);
    return ExitCode.usageOrInput;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`Usage: ${command.usage}\n  ${command.summary}\n`);
    return ExitCode.ok;
  }
  // With --json, a failure still prints exactly one JSON document (scripts parse stdout whatever happened).
  const json = jsonRequested(rest) ? watchOutput(io) : undefined;
  let code: number;
  try {
    code = await runCommand(command, rest, json?.io ?? io);
  } catch (error) {
    if (json && !json.wroteStdout()) writeJson(io, { schema: 'pisar-review/error@1', command: name, exitCode: ExitCode.usageOrInput, error: `internal error: ${(error as Error)?.message ?? String(error)}` });
    throw error;
  }
  if (json && code !== ExitCode.ok && !json.wroteStdout()) {
    writeJson(io, { schema: 'pisar-review/error@1', command: name, exitCode: code, error: json.stderrText().trim() || `exit code ${code}` });
  }
  return code;
}

async function runCommand(command: CliCommand, rest: readonly string[], io: CliIo): Promise<number> {
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`pisar-review ${command.name}: ${error.message}\n${error.usage ? `Usage: ${error.usage}\n` : ''}`);
      return ExitCode.usageOrInput;
    }
    if (error instanceof DatasetReadError || error instanceof UnsafeFileError) {
      io.stderr.write(`pisar-review ${command.name}: ${error.message}${error instanceof DatasetReadError ? `. ${error.fix}` : ''}\n`);
      return ExitCode.usageOrInput;
    }
    throw error;
  }
}

function jsonRequested(args: readonly string[]): boolean {
  return args.includes('--json') || args.includes('--format=json') || args.some((a, i) => a === '--format' && args[i + 1] === 'json');
}

/** `io` whose stdout remembers whether anything was written and whose stderr text is kept (last 8 KB) for an error document. */
function watchOutput(io: CliIo): { io: CliIo; wroteStdout(): boolean; stderrText(): string } {
  let wrote = false;
  let errText = '';
  const tap = <S extends NodeJS.WritableStream>(stream: S, seen: (chunk: unknown) => void): S =>
    new Proxy(stream, {
      get(target, prop) {
        if (prop === 'write') {
          return (chunk: unknown, ...more: unknown[]) => {
            seen(chunk);
            return (target.write as (...a: unknown[]) => boolean)(chunk, ...more);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  const watched: CliIo = {
    ...io,
    stdout: tap(io.stdout, () => (wrote = true)),
    stderr: tap(io.stderr, (chunk) => {
      // eslint-disable-next-line no-control-regex
      errText = (errText + (typeof chunk === 'string' ? chunk : String(chunk))).replace(/\r\x1b\[2K|\x1b\[1A/g, '').slice(-8192);
    }),
  };
  return { io: watched, wroteStdout: () => wrote, stderrText: () => errText };
}

/** Values of environment variables whose names say they hold a credential (the CLI's keys live there). */
export function secretsInEnvironment(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([k, v]) => v !== undefined && /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i.test(k))
    .map(([, v]) => v!);
}

/**
 * The progress bar's own erasing (src/cli/commands/score.ts): "return and clear the line" and "one line up"
 * (the bar has a line per model), kept when they open a write; anywhere else they are shown, not run.
 */
// eslint-disable-next-line no-control-regex
const BAR_ERASE = /^(?:\r\x1b\[2K|\x1b\[1A)+/;

/** What reaches a terminal: keys masked, control characters shown (terminalText), the progress bar's own erasing kept. */
export function terminalSafe(chunk: string, secrets: readonly string[], progress: boolean): string {
  const clean = (text: string) => terminalText(redactCredentials(text, secrets));
  const erase = progress ? BAR_ERASE.exec(chunk)?.[0] : undefined;
  return erase ? erase + clean(chunk.slice(erase.length)) : clean(chunk);
}

/** `stream`, with every string written to it made terminal-safe (terminalSafe). */
function redactingStream<S extends NodeJS.WritableStream>(stream: S, secrets: readonly string[], progress: boolean): S {
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...a: unknown[]) => boolean)(typeof chunk === 'string' ? terminalSafe(chunk, secrets, progress) : chunk, ...rest);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

declare const PISAR_VERSION: string | undefined;
const VERSION = typeof PISAR_VERSION === 'string' ? PISAR_VERSION : '0.0.0-dev';

/** Runs the CLI on this process's arguments and sets its exit code. */
export function main(): void {
  // `pisar-review report | head -1`: a reader that closes the pipe is done, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
  // Node ends a process whose event loop empties, even with the command still awaiting something: that
  // is a bug, and must never pass for success (exit 0 with half a run) in a script or CI.
  const stalled = () => {
    process.stderr.write('pisar-review: internal error: the command stopped before it finished (nothing left to wait for); what it wrote so far is kept. Please report this.\n');
    process.exitCode = 2;
  };
  process.once('beforeExit', stalled);
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
    (code) => {
      process.off('beforeExit', stalled);
      process.exitCode = code;
    },
    (error: unknown) => {
      process.off('beforeExit', stalled);
      const detail = error instanceof Error ? error.stack ?? error.message : String(error);
      process.stderr.write(`pisar-review: internal error: ${terminalSafe(detail, secretsInEnvironment(process.env), false)}\n`);
      process.exitCode = 2;
    },
  );
}

if (require.main === module) {
  main();
}
