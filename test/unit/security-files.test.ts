import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { RequestCache } from '../../src/core/runner/requestCache';
import { runDataset, RunError } from '../../src/core/runner/runner';
import { EmbeddingCache, textKey } from '../../src/core/scoring/embeddingCache';
import { AnnotationStore, annotationsFileFor } from '../../src/core/store/annotations';
import { ResultsStore, resultsFileFor } from '../../src/core/store/results';
import { UnsafeFileError, writeSafe } from '../../src/core/store/safeFile';
import { appendRecords, readSidecar, SidecarAppender } from '../../src/core/store/sidecar';
import { jsonl, makeTempDir } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

/** What an attacker's folder points a sidecar at: a file the user can write (think ~/.bashrc). */
const VICTIM_TEXT = 'export PATH=/usr/bin\n# no newline at the end of this line';

describe('security: files the product writes are never written through a link', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let victim: string;
  beforeEach(async () => {
    tmp = makeTempDir('pisar-safefile-');
    victim = path.join(tmp.dir, 'outside', 'victim-rc');
    await fsp.mkdir(path.dirname(victim));
    await fsp.writeFile(victim, VICTIM_TEXT);
  });
  afterEach(() => tmp.cleanup());

  const victimUnchanged = async () => assert.equal(await fsp.readFile(victim, 'utf8'), VICTIM_TEXT, 'the file behind the link was changed');

  async function dataset(): Promise<string> {
    const file = path.join(tmp.dir, 'folder', 'data.jsonl');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, jsonl([{ id: 'a', input: 'q', rationale: 'r', outputs: { m: 'r' } }]));
    return file;
  }

  for (const link of ['symlink', 'hard link'] as const) {
    const plant = (target: string, at: string) => (link === 'symlink' ? fsp.symlink(target, at) : fsp.link(target, at));

    it(`a results sidecar that is a ${link}: reading reports it and never repairs (cuts) the target; appends are refused`, async () => {
      const data = await dataset();
      const sidecar = resultsFileFor(data);
      await plant(victim, sidecar);
      const store = await ResultsStore.open(data); // repair on: the victim's unterminated last line would be cut
      assert.equal(store.problems.length, 1);
      assert.equal(store.problems[0].kind, 'unsafe-file');
      assert.match(store.problems[0].reason, link === 'symlink' ? /symbolic link/ : /hard link/);
      assert.match(store.problems[0].fix, /Delete/);
      await assert.rejects(store.append([{ rowId: 'a', rowHash: 'h', model: 'm', source: 'called', output: 'x', at: 'now' }]), UnsafeFileError);
      await assert.rejects(appendRecords(sidecar, [{ a: 1 }]), UnsafeFileError);
      assert.throws(() => new SidecarAppender(sidecar).append([{ a: 1 }]), UnsafeFileError);
      await victimUnchanged();
    });

    it(`an annotations sidecar that is a ${link} is not appended to`, async () => {
      const data = await dataset();
      await plant(victim, annotationsFileFor(data));
      const store = await AnnotationStore.forDataset(data);
      assert.equal(store.problems[0]?.kind, 'unsafe-file');
      await assert.rejects(store.add({ rowId: 'a', rowHash: 'h', target: { kind: 'reference' }, label: 'bad' }), /symbolic link|hard link/);
      await victimUnchanged();
    });

    it(`a run on a folder whose results sidecar is a ${link} stops before any call, naming the file`, async () => {
      const server = await FakeOpenAIServer.start();
      try {
        const data = await dataset();
        await plant(victim, resultsFileFor(data));
        const ds = await Dataset.open(data);
        const results = await ResultsStore.open(data);
        const run = runDataset({ dataset: ds, results, models: [{ name: 'n', baseUrl: server.url, model: 'n' }], apiKeyFor: async () => undefined });
        await assert.rejects(run, (err: unknown) => err instanceof RunError && err.message.includes(resultsFileFor(data)) && /link/.test(err.message));
        await ds.close();
        assert.equal(server.stats.requests, 0, 'a billable call was made before the write failed');
        await victimUnchanged();
      } finally {
        await server.close();
      }
    });
  }

  it('a FIFO as a sidecar is reported at once (the read never blocks) and not written', async () => {
    const data = await dataset();
    const sidecar = resultsFileFor(data);
    execFileSync('mkfifo', [sidecar]);
    const contents = await readSidecar(sidecar);
    assert.equal(contents.problems[0]?.kind, 'unsafe-file');
    assert.match(contents.problems[0].reason, /named pipe/);
    await assert.rejects(appendRecords(sidecar, [{ a: 1 }]), UnsafeFileError);
  });

  it('the request cache file planted as a symlink is neither read nor written', async () => {
    const dir = path.join(tmp.dir, 'cache');
    await fsp.mkdir(dir);
    await fsp.symlink(victim, path.join(dir, 'requests.v1.jsonl'));
    const cache = await RequestCache.open(dir);
    await cache.share('k', async () => ({ ok: true }), () => ({ output: 'stored' }));
    await victimUnchanged();
  });

  it('the embedding cache does not write or cut through a planted link', async () => {
    const cacheDir = path.join(tmp.dir, 'emb');
    const cache = new EmbeddingCache(cacheDir, 'ns');
    await fsp.mkdir(cache.dir, { recursive: true });
    await fsp.writeFile(path.join(cache.dir, 'meta.json'), JSON.stringify({ version: 1, namespace: 'ns', dim: 2 }));
    await fsp.symlink(victim, path.join(cache.dir, 'vectors.bin')); // its length is no multiple of a record: a repair would cut it
    await cache.load();
    await cache.put([{ key: textKey('x'), vector: Float32Array.from([1, 0]) }]);
    await victimUnchanged();
  });

  it('exports refuse to replace a link (writeSafe)', async () => {
    const at = path.join(tmp.dir, 'report.md');
    await fsp.symlink(victim, at);
    await assert.rejects(writeSafe(at, 'report'), UnsafeFileError);
    await victimUnchanged();
    const plain = path.join(tmp.dir, 'plain.md');
    await writeSafe(plain, 'long text first');
    await writeSafe(plain, 'short');
    assert.equal(fs.readFileSync(plain, 'utf8'), 'short', 'replace cuts the old content');
  });
});

describe('security: FIFOs, devices and hard links are refused before they are opened', function () {
  this.timeout(20_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-fifo-')));
  afterEach(() => tmp.cleanup());
  const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5ad1d0a0000000049454e44ae426082', 'hex');

  async function runImageRow(image: string) {
    const server = await FakeOpenAIServer.start();
    try {
      const file = path.join(tmp.dir, 'data.jsonl');
      await fsp.writeFile(file, jsonl([{ id: 'a', input: 'q', image, rationale: 'r' }]));
      const dataset = await Dataset.open(file);
      const results = await ResultsStore.open(file);
      await runDataset({ dataset, results, models: [{ name: 'm', baseUrl: server.url, model: 'm' }], apiKeyFor: async () => undefined });
      await dataset.close();
      return { result: [...results.latestResults()][0], requests: server.stats.requests };
    } finally {
      await server.close();
    }
  }

  it('a FIFO given as a row\'s image fails that row at once (no hang, no call)', async () => {
    execFileSync('mkfifo', [path.join(tmp.dir, 'pic.png')]);
    const { result, requests } = await runImageRow('pic.png');
    assert.equal(result.error?.kind, 'image');
    assert.match(result.error!.message, /named pipe/);
    assert.equal(requests, 0);
  });

  it('a device inside the folder given as a row\'s image (a character device like /dev/zero) is refused', async function () {
    try {
      execFileSync('mknod', [path.join(tmp.dir, 'pic.png'), 'c', '1', '5']);
    } catch {
      this.skip(); // mknod needs CAP_MKNOD (root in the test container has it)
    }
    const { result, requests } = await runImageRow('pic.png');
    assert.equal(result.error?.kind, 'image');
    assert.match(result.error!.message, /device/);
    assert.equal(requests, 0);
  });

  it('a hard link to an image outside the folder is refused; a plain copy is sent', async () => {
    const outside = path.join(tmp.dir, 'outside');
    const folder = path.join(tmp.dir, 'ds');
    await fsp.mkdir(outside);
    await fsp.mkdir(folder);
    await fsp.writeFile(path.join(outside, 'secret.png'), PNG);
    await fsp.link(path.join(outside, 'secret.png'), path.join(folder, 'pic.png'));
    await fsp.writeFile(path.join(folder, 'copy.png'), PNG);
    const { imageUrlFor, ImageError } = await import('../../src/core/runner/images');
    const dataFile = path.join(folder, 'data.jsonl');
    await assert.rejects(imageUrlFor({ kind: 'path', value: 'pic.png' }, dataFile), (err: unknown) => err instanceof ImageError && /hard link/.test(err.message));
    assert.match(await imageUrlFor({ kind: 'path', value: 'copy.png' }, dataFile), /^data:image\/png;base64,/);
  });

  for (const command of ['inspect', 'score', 'report']) {
    it(`${command} on a FIFO given as the dataset exits 2 at once, naming it`, async () => {
      const fifo = path.join(tmp.dir, 'data.jsonl');
      execFileSync('mkfifo', [fifo]);
      const { runCli } = await import('../../src/cli/main');
      const { PassThrough } = await import('node:stream');
      let err = '';
      const stderr = new PassThrough().on('data', (c) => (err += c));
      const code = await runCli([command, fifo], { stdout: new PassThrough(), stderr, env: {}, cwd: tmp.dir });
      assert.equal(code, 2, err);
      assert.match(err, /named pipe \(FIFO\)/);
    });
  }

  it('a FIFO given as --config exits 2 at once', async () => {
    const fifo = path.join(tmp.dir, 'config.json');
    execFileSync('mkfifo', [fifo]);
    await fsp.writeFile(path.join(tmp.dir, 'data.jsonl'), jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
    const { runCli } = await import('../../src/cli/main');
    const { PassThrough } = await import('node:stream');
    let err = '';
    const stderr = new PassThrough().on('data', (c) => (err += c));
    const code = await runCli(['inspect', 'data.jsonl', '--config', fifo], { stdout: new PassThrough(), stderr, env: {}, cwd: tmp.dir });
    assert.equal(code, 2, err);
    assert.match(err, /named pipe/);
  });
});
