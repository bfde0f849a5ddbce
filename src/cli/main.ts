import { type CliCommand, type CliIo, ExitCode, UsageError } from './args';
import { DatasetReadError } from '../core/dataset/dataset';
import { redactCredentials } from '../core/security/redact';
import { checkModelsCommand } from './commands/checkModels';
import { compareCommand } from './commands/compare';
import { inspectCommand } from './commands/inspect';
import { reportCommand } from './commands/report';
import { scoreCommand } from './commands/score';

// Each command lives in src/cli/commands/; this table is the CLI's command list.
const commands: readonly CliCommand[] = [inspectCommand, scoreCommand, reportCommand, compareCommand, checkModelsCommand];

function usage(): string {
  const lines = ['Usage: pisar-review <command> [options]', '', 'Commands:'];
  for (const command of commands) {
    lines.push(`  ${command.usage}`, `      ${command.summary}`);
  }
  lines.push('', 'Exit codes: 0 done, 1 some model calls failed, 2 bad usage or unreadable input, 3 (score) dataset lines were skipped.');
  return lines.join('\n');
}

export async function runCli(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // Diagnostics and progress may quote a server's error; keys in them never reach the terminal or a CI log.
  // JSON documents and tables on stdout too: one redaction for everything that leaves the process.
  const secrets = secretsInEnvironment(rawIo.env);
  const io: CliIo = { ...rawIo, stdout: redactingStream(rawIo.stdout, secrets), stderr: redactingStream(rawIo.stderr, secrets) };
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
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`pisar-review ${name}: ${error.message}\n${error.usage ? `Usage: ${error.usage}\n` : ''}`);
      return ExitCode.usageOrInput;
    }
    if (error instanceof DatasetReadError) {
      io.stderr.write(`pisar-review ${name}: ${error.message}. ${error.fix}\n`);
      return ExitCode.usageOrInput;
    }
    throw error;
  }
}

/** Values of environment variables whose names say they hold a credential (the CLI's keys live there). */
export function secretsInEnvironment(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([k, v]) => v !== undefined && /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i.test(k))
    .map(([, v]) => v!);
}

/** `stream`, with every string written to it passed through redactCredentials. */
function redactingStream<S extends NodeJS.WritableStream>(stream: S, secrets: readonly string[]): S {
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...a: unknown[]) => boolean)(typeof chunk === 'string' ? redactCredentials(chunk, secrets) : chunk, ...rest);
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
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const detail = error instanceof Error ? error.stack ?? error.message : String(error);
      process.stderr.write(`pisar-review: internal error: ${redactCredentials(detail, secretsInEnvironment(process.env))}\n`);
      process.exitCode = 2;
    },
  );
}

if (require.main === module) {
  main();
}
