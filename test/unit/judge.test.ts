import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { JudgeDocument } from '../../src/cli/commands/judge';
import { DEFAULT_JUDGE_PROMPT, parseJudgeAnswer, renderJudgePrompt } from '../../src/core/rules/judgePrompt';
import { ResultsStore } from '../../src/core/store/results';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { ReviewModel } from '../../src/core/review/reviewModel';
import { renderRowsCsv } from '../../src/core/report/render';
import { jsonl, makeTempDir } from '../support/files';
import type { FakeOpenAIServer } from '../support/openaiServer';
import { judgedDataset, judgeServer, latestResults } from '../support/judgeFixture';

describe('LLM judge (issue 24.4)', function () {
  this.timeout(60_000);
  let server: FakeOpenAIServer | undefined;
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-judge-')));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp.cleanup();
  });

  it('reads strict JSON verdicts (a fence allowed, a 1-5 score read as 4-5 good), and fills the prompt in one pass', () => {
    assert.deepEqual(parseJudgeAnswer('{"verdict": "bad", "reason": "No."}'), { verdict: 'bad', reason: 'No.' });
    assert.deepEqual(parseJudgeAnswer('```json\n{"score": 4, "reason": "Close."}\n```'), { verdict: 'good', rating: 4, reason: 'Close.' });
    assert.deepEqual(parseJudgeAnswer('{"score": 3, "reason": "Half."}'), { verdict: 'bad', rating: 3, reason: 'Half.' });
    for (const bad of ['fine', '{"verdict": "ok", "reason": "x"}', '{"verdict": "good"}', '{"score": 7, "reason": "x"}', '["good"]']) {
      assert.throws(() => parseJudgeAnswer(bad), /judge's/);
    }
    // An output that holds a placeholder is inserted as written, not filled again.
    const text = renderJudgePrompt('R={reference} O={output} I={input} {"verdict": …}', { input: 'in', references: ['a', 'b'], output: 'says {reference}' });
    assert.equal(text, 'R=1. a\n2. b O=says {reference} I=in {"verdict": …}');
    assert.match(DEFAULT_JUDGE_PROMPT, /\{reference\}[\s\S]*\{output\}/);
  });

  it('judges every stored output through the runner (429 retried, unparsable answer a counted failure), stores verdicts, re-runs from the cache, re-judges a changed prompt', async () => {
    server = await judgeServer();
    const { data, config, cache, cli } = await judgedDataset(server, tmp);

    const first = await cli(['judge', data, '--config', config, ...cache, '--json']);
    assert.equal(first.code, 1, `one unparsable answer is a failure (exit 1): ${first.stderr}`);
    const doc = JSON.parse(first.stdout) as JudgeDocument;
    assert.equal(doc.schema, 'pisar-review/judge@1');
    assert.deepEqual({ outputs: doc.run.outputs, judged: doc.run.judged, failed: doc.run.failed, verdicts: doc.run.verdicts, called: doc.run.called, retries: doc.run.retries },
      { outputs: 6, judged: 6, failed: 1, verdicts: { good: 3, bad: 2 }, called: 6, retries: 1 });
    assert.equal(server.stats.faults['429'], 1);
    assert.equal(doc.run.failures[0].rowId, 'r2');
    assert.equal(doc.run.failures[0].kind, 'unparsable');
    assert.match(doc.run.failures[0].message, /not one JSON object: "I think it is fine, mostly\."/);
    assert.match(first.stderr, /failed: r2 \/ m: unparsable/);
    // Tokens are the fake server's word counts; the cost is the judge model's price times them.
    assert.ok(doc.run.tokens.input > 0 && doc.run.tokens.output > 0);
    assert.ok(Math.abs(doc.cost! - (doc.run.tokens.input * 1000 + doc.run.tokens.output * 2000) / 1e6) < 1e-12);

    const stored = await latestResults(data);
    assert.deepEqual([...stored.values()].map((r) => r.judge?.verdict ?? r.judge?.error?.kind), ['good', 'bad', 'unparsable', 'good', 'bad', 'good']);
    const r1 = stored.get('r1')!;
    assert.equal(r1.judge!.reason, '=HYPERLINK("http://evil.example","click")', 'the reason is stored as the judge wrote it (escaped where shown)');
    assert.equal(r1.judge!.model, 'judge');
    assert.equal(r1.judge!.modelId, 'judge-1');
    assert.match(r1.judge!.promptHash, /^[0-9a-f]{16}$/);
    assert.equal(stored.get('r4')!.judge!.rating, 2);
    assert.equal(typeof r1.score, 'number', 'the cosine score stays with the result');
    // The judge saw the reference, the output and the input.
    const asked = server.requests.find((r) => r.prompt.includes('Speed limits are the law.'))!;
    assert.ok(asked.prompt.includes('Children cross without looking.') && asked.prompt.includes('Why slow near the school?'));
    assert.equal(asked.model, 'judge-1');

    // A re-run pays nothing: current verdicts are kept, the failed one is read again from the cache.
    const before = server.stats.requests;
    const again = await cli(['judge', data, '--config', config, ...cache, '--json']);
    assert.equal(server.stats.requests, before, 'the re-run made no request');
    const againDoc = JSON.parse(again.stdout) as JudgeDocument;
    assert.deepEqual({ reused: againDoc.run.reused, judged: againDoc.run.judged, cacheHits: againDoc.run.cacheHits, called: againDoc.run.called }, { reused: 5, judged: 1, cacheHits: 1, called: 0 });

    // A changed prompt judges every output again (new requests), and the verdicts carry its hash.
    const prompt = path.join(tmp.dir, 'prompt.txt');
    await fsp.writeFile(prompt, 'Reference: {reference}\nOUT<{output}>\nAnswer {"verdict": "good" or "bad", "reason": "…"}');
    const changed = await cli(['judge', data, '--config', config, ...cache, '--prompt-file', prompt, '--json']);
    const changedDoc = JSON.parse(changed.stdout) as JudgeDocument;
    assert.equal(changedDoc.run.judged, 6);
    assert.equal(changedDoc.run.called, 6);
    assert.equal(changedDoc.run.retries, 1, 'r3\'s first request under the new prompt is refused (429) again');
    assert.equal(server.stats.requests, before + 7);
    const rejudged = await latestResults(data);
    assert.notEqual(rejudged.get('r0')!.judge!.promptHash, stored.get('r0')!.judge!.promptHash);
  });

  it('the panel\'s row detail shows the verdict and reason as text (the formula reason as written, the failure with its reason), none in blind mode', async () => {
    server = await judgeServer();
    const { data, config, cache, cli } = await judgedDataset(server, tmp);
    await cli(['judge', data, '--config', config, ...cache]);
    const review = await DatasetReview.open(data, { threshold: 0.7, models: [] });
    try {
      const detail = async (index: number, blind = false) => (await new ReviewModel(() => review, () => ({ labels: [], canScore: true, blind })).rowDetail(index))!;
      assert.equal((await detail(1)).outputs[0].judge, 'judge judge: bad: =HYPERLINK("http://evil.example","click")');
      assert.equal((await detail(4)).outputs[0].judge, 'judge judge: bad (2/5): Misses the cyclists.');
      assert.match((await detail(2)).outputs[0].judge!, /^judge judge failed: unparsable: the judge's answer is not one JSON object/);
      assert.equal((await detail(1, true)).outputs[0].judge, undefined, 'blind mode hides the verdict as it hides the score');
    } finally {
      await review.dataset.close();
    }
  });

  it('exports carry the verdict as data: report --rows csv (judge:, judge_rating:, judge_reason: columns, formula-safe) and md, and the panel\'s export from the row detail', async () => {
    server = await judgeServer();
    const { data, config, cache, cli } = await judgedDataset(server, tmp);
    await cli(['judge', data, '--config', config, ...cache]);
    const csv = await cli(['report', data, '--config', config, '--rows', '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    const rowsBlock = csv.stdout.slice(csv.stdout.indexOf('id,line,'));
    const [header, ...lines] = rowsBlock.trimEnd().split('\r\n');
    assert.equal(header, 'id,line,score:m,error:m,rougeL:m,judge:m,judge_rating:m,judge_reason:m');
    const judgeCells = (id: string) => lines.find((l) => l.startsWith(`${id},`))!.split(',').slice(5).join(',');
    assert.equal(judgeCells('r0'), 'good,,Same reason: the crest hides traffic.');
    // The reason is a spreadsheet formula: written as text (a leading '), never run.
    assert.equal(judgeCells('r1'), 'bad,,"\'=HYPERLINK(""http://evil.example"",""click"")"');
    assert.match(judgeCells('r2'), /^failed,,"?unparsable: the judge's answer is not one JSON object/);
    assert.equal(judgeCells('r4'), 'bad,2,Misses the cyclists.');

    // Under another prompt the stored verdicts are not the judge's in force: said so, not passed off as current.
    const other = path.join(tmp.dir, 'other.json');
    await fsp.writeFile(other, JSON.stringify({ ...JSON.parse(await fsp.readFile(config, 'utf8')), judge: { model: 'judge', prompt: 'Ref {reference} OUT<{output}> verdict?' } }));
    const staleCsv = (await cli(['report', data, '--config', other, '--rows', '--format', 'csv'])).stdout;
    assert.match(staleCsv, /\r\nr0,1,[^,]*,,[^,]*,stale,,Same reason: the crest hides traffic\.\r\n/);

    const md = await cli(['report', data, '--config', config, '--rows']);
    assert.match(md.stdout, /\| id \| line \| m \| judge: m \|/);
    assert.match(md.stdout, /\| r4 \| 5 \| [0-9.]+[^|]*\| judge judge: bad \(2\/5\): Misses the cyclists\. \|/);

    // The panel's export renders the row detail's cells: the same columns.
    const review = await DatasetReview.open(data, { threshold: 0.7, models: [] });
    try {
      const model = new ReviewModel(() => review, () => ({ labels: [], canScore: true, blind: false }));
      const score = (await model.rowDetail(1))!.outputs[0].score!;
      const { text: _t, below: _b, contradicts: _w, ...cell } = score;
      const panelCsv = renderRowsCsv({ summary: { threshold: 0.7, rowCount: 1, models: [], gaps: [] }, models: ['m'] }, [{ line: 2, id: 'r1', scores: { m: cell } }]);
      assert.match(panelCsv, /^id,line,score:m,error:m,rougeL:m,judge:m,judge_rating:m,judge_reason:m\r\nr1,2,[-0-9.e]+,,,bad,,"'=HYPERLINK\(""http:\/\/evil\.example"",""click""\)"\r\n$/);
    } finally {
      await review.dataset.close();
    }
  });

  it('reads a sidecar line whose judge is malformed: the output and score kept, the verdict ignored and reported; a line without judge reads as before', async () => {
    const data = path.join(tmp.dir, 'd.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'i', rationale: 'r' }]));
    const base = { rowHash: 'h', model: 'm', source: 'precomputed', output: 'o', score: 0.5, at: '2026-01-01T00:00:00Z' };
    const good = { model: 'j', modelId: 'j-1', promptHash: '0123456789abcdef', verdict: 'bad', reason: 'No.', at: '2026-01-01T00:00:00Z' };
    await fsp.writeFile(data.replace(/\.jsonl$/, '.pisar-results.jsonl'), jsonl([
      { ...base, rowId: 'old' },
      { ...base, rowId: 'ok', judge: good },
      { ...base, rowId: 'v', judge: { ...good, verdict: 'maybe' } },
      { ...base, rowId: 'both', judge: { ...good, error: { kind: 'unparsable', message: 'x' } } },
      { ...base, rowId: 'rating', judge: { ...good, rating: 9 } },
    ]));
    const store = await ResultsStore.open(data);
    assert.equal(store.latest('old', 'm')!.score, 0.5);
    assert.equal(store.latest('old', 'm')!.judge, undefined);
    assert.deepEqual(store.latest('ok', 'm')!.judge, good);
    for (const id of ['v', 'both', 'rating']) {
      assert.equal(store.latest(id, 'm')!.judge, undefined, id);
      assert.equal(store.latest(id, 'm')!.output, 'o', id);
    }
    assert.deepEqual(store.problems.map((p) => [p.line, p.kind]), [[3, 'invalid-field'], [4, 'invalid-field'], [5, 'invalid-field']]);
    assert.match(store.problems[0].reason, /"judge.verdict" must be "good" or "bad"; the judge's verdict was ignored and the output kept/);
  });

  it('says what to do without a judge model, and refuses a prompt without {output}', async () => {
    server = await judgeServer();
    const { data, cache, cli } = await judgedDataset(server, tmp);
    const bare = path.join(tmp.dir, 'bare.json');
    await fsp.writeFile(bare, JSON.stringify({ models: [{ name: 'judge', baseUrl: server.url, model: 'judge-1' }] }));
    const none = await cli(['judge', data, '--config', bare, ...cache]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no judge model: set "judge": \{"model": "<name>"\}/);
    const unknown = await cli(['judge', data, '--config', bare, '--judge-model', 'nope', ...cache]);
    assert.match(unknown.stderr, /judge model "nope" is not one of the configured models \("judge"\)/);
    const prompt = path.join(tmp.dir, 'p.txt');
    await fsp.writeFile(prompt, 'Is {reference} right?');
    const refused = await cli(['judge', data, '--config', bare, '--judge-model', 'judge', '--prompt-file', prompt, ...cache]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /does not contain \{output\}/);
    assert.equal(server.stats.requests, 0);
  });
});
