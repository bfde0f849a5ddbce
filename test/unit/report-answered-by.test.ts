import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { ReportDocument } from '../../src/cli/commands/report';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';
import { FakeOpenAIServer } from '../support/openaiServer';

const TINY = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

/**
 * A router (OpenRouter, Azure, a proxy) may answer with another model than the one asked; the model it
 * names (`response.model`) is stored, and the report says so wherever it differs: per model in the
 * summary (md, csv, json) and per row (--rows).
 */
describe('report: the model that answered, where it is not the model asked (issue 19.8)', function () {
  this.timeout(60_000);
  let server: FakeOpenAIServer;
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-answered-')));
  afterEach(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('names the answering model in md, csv and json, with its row count, and only for the model it stood in for', async () => {
    // model "gpt-4o" is answered by a dated snapshot on rows 0 and 1, by a smaller model on row 2, as itself on row 3; "local" always as itself
    server = await FakeOpenAIServer.start({
      answeredBy: (req) => (req.model !== 'gpt-4o' ? undefined : req.prompt === 'question 2' ? 'gpt-4o-mini' : req.prompt === 'question 3' ? undefined : 'gpt-4o-2024-08-06'),
    });
    const data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl(Array.from({ length: 4 }, (_, i) => ({ id: `r${i}`, input: `question ${i}`, rationale: `Rationale: question ${i}` }))));
    const config = path.join(tmp.dir, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'gpt', baseUrl: server.url, model: 'gpt-4o' }, { name: 'local', baseUrl: server.url, model: 'local-model' }] }));
    const scored = await runCliCaptured(['score', data, '--config', config, '--embedding-model', TINY, '--cache-dir', path.join(tmp.dir, 'cache'), '--json']);
    assert.equal(scored.code, 0, scored.stderr);

    const json = JSON.parse((await runCliCaptured(['report', data, '--config', config, '--json', '--rows'])).stdout) as ReportDocument;
    const gpt = json.models.find((m) => m.model === 'gpt')!;
    assert.deepEqual(gpt.answeredBy, [{ model: 'gpt-4o-2024-08-06', rows: 2 }, { model: 'gpt-4o-mini', rows: 1 }]);
    assert.equal(json.models.find((m) => m.model === 'local')!.answeredBy, undefined, 'a model that answered as itself names no other');
    assert.deepEqual(json.rows!.map((r) => r.results.gpt.answeredBy), ['gpt-4o-2024-08-06', 'gpt-4o-2024-08-06', 'gpt-4o-mini', undefined]);
    assert.equal(json.rows![0].results.local.answeredBy, undefined);

    const md = (await runCliCaptured(['report', data, '--config', config, '--rows'])).stdout;
    assert.match(md, /\| model \|.*\| answered by \(not the model asked\) \|/);
    assert.match(md, /\| gpt \|.*\| gpt-4o-2024-08-06: 2 rows; gpt-4o-mini: 1 row \|/);
    assert.match(md, /\| local \|[^\n]*\|  \|\n/, 'the local model\'s cell is empty');
    assert.match(md, /\| r2 \| 3 \| 1\.000 \(answered by gpt-4o-mini\) \| 1\.000 \|/);
    assert.match(md, /\| r3 \| 4 \| 1\.000 \| 1\.000 \|/);

    const csv = (await runCliCaptured(['report', data, '--config', config, '--format', 'csv', '--rows'])).stdout;
    const lines = csv.split('\r\n');
    const header = lines[0].split(',');
    const byColumn = header.indexOf('answered by (not the model asked)');
    assert.ok(byColumn > 0, header.join(','));
    assert.equal(lines.find((l) => l.startsWith('gpt,'))!.split(',')[byColumn], '"gpt-4o-2024-08-06: 2 rows; gpt-4o-mini: 1 row"');
    const rowsHeader = lines.find((l) => l.startsWith('id,line,'))!.split(',');
    assert.ok(rowsHeader.includes('answered_by:gpt') && !rowsHeader.includes('answered_by:local'), rowsHeader.join(','));
    const r2 = lines.find((l) => l.startsWith('r2,'))!.split(',');
    assert.equal(r2[rowsHeader.indexOf('answered_by:gpt')], 'gpt-4o-mini');
  });
});
