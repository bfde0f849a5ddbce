import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import { repoRoot } from './files';

/** Runs the CLI in-process with captured stdout and stderr (no terminal), as a script would see it. */
export async function runCliCaptured(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await runCli(args, { stdout, stderr, env: { ...(options.env ?? {}) }, cwd: options.cwd ?? repoRoot });
  return { code, stdout: out, stderr: err };
}
