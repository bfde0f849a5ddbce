import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

/** A small tmpfs: a real full disk (needs root, as CI has). */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function fill(dir: string): void {
  const chunk = Buffer.alloc(4096, 0x41);
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

describe('paid calls on a full disk', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let mnt: string;
  let mounted = false;
  let server: FakeOpenAIServer | undefined;
  beforeEach(function () {
    tmp = makeTempDir('pisar-full-');
    mnt = path.join(tmp.dir, 'disk');
    fs.mkdirSync(mnt);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (mounted) execFileSync('umount', [mnt]);
    mounted = false;
    tmp.cleanup();
  });

  async function setup(rows: number, answerBytes: number) {
    server = await FakeOpenAIServer.start({ respond: (req) => `${req.prompt} ${'x'.repeat(answerBytes)}` });
    const data = path.join(mnt, 'data.jsonl');
    await fsp.writeFile(data, jsonl(Array.from({ length: rows }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `because ${i}` }))));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'm1', baseUrl: server.url, model: 'm1', concurrency: 4 }] }));
    return ['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache')];
  }

  it('a disk already full is found before the first call: exit 2 naming the file, 0 requests', async function () {
    if (!(mounted = mountTmpfs(mnt, '1m'))) this.skip(); // needs root to mount a tmpfs
    const args = await setup(300, 100);
    fill(mnt);
    const out = await runCliCaptured(args);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /data\.pisar-results\.jsonl.*full or over a limit \(ENOSPC/);
    assert.equal(server!.stats.requests, 0, 'no call was paid for');
  });

  it('a disk that fills mid-run: calls stop at the first failed append, every answer paid for is kept in a named file, exit 2', async function () {
    if (!(mounted = mountTmpfs(mnt, '1m'))) this.skip(); // needs root to mount a tmpfs
    const args = await setup(400, 3000);
    const unsavedDir = path.join(tmp.dir, 'cache', 'unsaved');
    const out = await runCliCaptured(args);
    assert.equal(out.code, 2, out.stderr);
    const stored = fs.readFileSync(path.join(mnt, 'data.pisar-results.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    const named = /saved to (\S+\.jsonl)/.exec(out.stderr);
    assert.ok(named, `stderr names the file holding the answers it could not store: ${out.stderr}`);
    assert.ok(named[1].startsWith(unsavedDir), named[1]);
    const kept = fs.readFileSync(named[1], 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { rowId: string; output?: string });
    const storedIds = new Set(stored.map((l) => (JSON.parse(l) as { rowId: string }).rowId));
    const keptIds = new Set(kept.map((r) => r.rowId));
    const requested = server!.stats.requests;
    assert.ok(requested < 400, `calls stopped at the first failed append (${requested} of 400 made)`);
    // Every answered call is somewhere: in the sidecar or in the named file (an output stored unscored may have its score line kept).
    const everywhere = new Set([...storedIds, ...keptIds]);
    assert.equal(everywhere.size, requested, `${storedIds.size} stored, ${keptIds.size} kept: ${everywhere.size} of ${requested} paid answers`);
    assert.ok(kept.every((r) => typeof r.output === 'string' && r.output.length > 3000));
    assert.match(out.stderr, new RegExp(`the ${kept.length} result\\(s\\) it could not store`));
  });
});
