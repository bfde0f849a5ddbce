import * as path from 'node:path';
import { compactSidecars, type CompactOptions, type SidecarCompaction } from '../../core/store/compact';
import { LockError } from '../../core/store/runLock';
import { SIDECAR_KINDS, sidecarOwner, type SidecarKind } from '../../core/store/sidecarNames';
import { type CliCommand, type CliIo, ExitCode, LOCK_FLAGS, lockOptionsOf, parseCommandArgs, terminalSafe, UsageError, writeJson } from '../args';

const usage = 'pisar-review compact <file> [--drop-history] [--break-lock] [--lock-timeout <s>] [--json]';

/** The `--json` document of `compact`; its shape is part of the CLI's public contract (docs/cli.md). */
export interface CompactDocument {
  schema: 'pisar-review/compact@1';
  dataset: string;
  dropHistory: boolean;
  sidecars: SidecarCompaction[];
  /** All sidecars together. */
  before: { lines: number; bytes: number };
  after: { lines: number; bytes: number };
  /** Files beside a sidecar left by a compaction that was killed, deleted first. */
  leftoversRemoved: string[];
}

/** Test hook: pause (until killed) once this many bytes of a sidecar's new copy are written, so a test can kill the process mid-write. */
const PAUSE_ENV = 'PISAR_REVIEW_TEST_COMPACT_PAUSE_BYTES';

/** `data.pisar-results.jsonl` -> its dataset and kind; a dataset -> itself and every kind. */
function targetOf(file: string): { dataset: string; kinds: readonly SidecarKind[] } {
  const owner = sidecarOwner(file);
  return owner ? { dataset: owner.dataset, kinds: [owner.kind] } : { dataset: file, kinds: SIDECAR_KINDS };
}

function pauseHook(env: NodeJS.ProcessEnv, io: CliIo): CompactOptions['afterChunk'] {
  const limit = Number(env[PAUSE_ENV]);
  if (!env[PAUSE_ENV] || !Number.isFinite(limit)) return undefined;
  return async (file, bytes) => {
    if (bytes < limit) return;
    io.stderr.write(`paused after writing ${bytes} bytes of ${file}\n`);
    await new Promise(() => setInterval(() => undefined, 60_000));
  };
}

function sizeText(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function droppedText(s: SidecarCompaction): string {
  const d = s.dropped;
  const parts: string[] = [];
  if (d.superseded) {
    const why = [d.repeatedFailures ? `${d.repeatedFailures} repeated failures` : '', d.staleByHash ? `${d.staleByHash} for an older version of the row` : ''].filter(Boolean);
    parts.push(`${d.superseded} superseded${why.length ? ` (${why.join(', ')})` : ''}`);
  }
  if (d.duplicates) parts.push(`${d.duplicates} duplicate lines`);
  if (d.history) parts.push(`${d.history} history events`);
  if (d.submittedUploads) parts.push(`${d.submittedUploads} uploads repeated by their submission`);
  if (d.blank) parts.push(`${d.blank} blank lines`);
  return parts.join(', ');
}

function printHuman(io: CliIo, doc: CompactDocument): void {
  const out: string[] = [];
  for (const s of doc.sidecars) {
    const name = terminalSafe(path.relative(io.cwd, s.file) || s.file);
    if (!s.exists) continue;
    if (!s.rewritten) {
      out.push(`${name}: nothing to drop (${s.before.lines} lines)`);
      continue;
    }
    out.push(`${name}: ${s.before.lines} -> ${s.after.lines} lines, ${sizeText(s.before.bytes)} -> ${sizeText(s.after.bytes)}; dropped ${droppedText(s)}`);
    if (s.unreadableKept > 0) out.push(`  ${s.unreadableKept} unreadable line(s) kept as they were: \`pisar-review report\` names them and the fix.`);
    if (s.appendedMeanwhile > 0) out.push(`  ${s.appendedMeanwhile} line(s) appended by another writer meanwhile were carried over.`);
  }
  if (out.length === 0) out.push(`No sidecar beside ${terminalSafe(path.relative(io.cwd, doc.dataset) || doc.dataset)}: nothing to compact.`);
  for (const file of doc.leftoversRemoved) out.push(`Deleted ${terminalSafe(file)}, left by a compaction that was stopped.`);
  io.stdout.write(`${out.join('\n')}\n`);
}

export const compactCommand: CliCommand = {
  name: 'compact',
  usage,
  summary: 'Rewrite the sidecars beside a dataset (or one sidecar) to the lines that still decide something; every view reads the same after. Atomic; holds the run lock.',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      'drop-history': { type: 'boolean' },
      ...LOCK_FLAGS,
    }, usage);
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'compact needs a dataset file (or one of its sidecars)' : `compact takes one file, got ${positionals.length}`, usage);
    }
    const target = targetOf(path.resolve(io.cwd, positionals[0]));
    const dropHistory = values['drop-history'] ?? false;
    const { breakLock, lockWaitMs } = lockOptionsOf(values, usage);
    let result;
    try {
      result = await compactSidecars(target.dataset, {
        dropHistory,
        kinds: target.kinds,
        lock: {
          breakLock,
          maxWaitMs: lockWaitMs,
          onWait: (message) => io.stderr.write(`pisar-review compact: ${message}\n`),
          onNotice: (message) => io.stderr.write(`pisar-review compact: ${message}\n`),
        },
        afterChunk: pauseHook(io.env, io),
      });
    } catch (err) {
      if (err instanceof LockError) {
        io.stderr.write(`pisar-review compact: ${err.message}; no sidecar was changed. ${err.fix}\n`);
        return ExitCode.usageOrInput;
      }
      throw err;
    }
    const total = (pick: (s: SidecarCompaction) => { lines: number; bytes: number }) => ({
      lines: result.sidecars.reduce((n, s) => n + pick(s).lines, 0),
      bytes: result.sidecars.reduce((n, s) => n + pick(s).bytes, 0),
    });
    const doc: CompactDocument = {
      schema: 'pisar-review/compact@1',
      dataset: target.dataset,
      dropHistory,
      sidecars: [...result.sidecars],
      before: total((s) => s.before),
      after: total((s) => s.after),
      leftoversRemoved: [...result.leftoversRemoved],
    };
    if (values.json) writeJson(io, doc);
    else printHuman(io, doc);
    return ExitCode.ok;
  },
};
