import { execFileSync, spawnSync } from 'node:child_process';
import { cliEntry, repoRoot } from './paths';

/** Runs the project's CLI (the same core the extension bundles) and parses its --json/--format json output. */
export function cliJson<T>(args: readonly string[]): T {
  const stdout = execFileSync(process.execPath, [cliEntry, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

/** Runs the project's CLI and returns its exit code and output, whatever the code. */
export function cliRun(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliEntry, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ReportModel {
  model: string;
  scored: number;
  mean: number | null;
  median: number | null;
  shareAtOrAbove: number | null;
  failed: number;
}

export type ReportCell =
  | { status: 'scored'; score: number; pass: boolean }
  | { status: 'unscored' | 'stale' | 'missing' }
  | { status: 'failed'; kind: string; message: string };

/** The parts of `pisar-review report --format json --rows` the specs compare with the screen. */
export interface ReportDocument {
  schema: string;
  threshold: number;
  totalRows: number;
  models: ReportModel[];
  rows: { id: string; line: number; results: Record<string, ReportCell> }[];
}

export function report(dataset: string, threshold = 0.7): ReportDocument {
  return cliJson<ReportDocument>(['report', dataset, '--format', 'json', '--rows', '--threshold', String(threshold)]);
}
