import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import type { ReportDocument } from '../../src/cli/commands/report';
import type { ScoreDocument } from '../../src/cli/commands/score';
import { runCliCaptured as cli } from '../support/cli';
import { type FakeOpenAIServer } from '../support/openaiServer';
import { useCliWorkspace } from '../support/cliWorkspace';


// Token usage as the fake server reports it: words of the prompt (the row's input) and of the answer.
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

describe('CLI: tokens and cost per model (issue 21.5, 22.4)', function () {
  this.timeout(60_000);
  const tmp = useCliWorkspace('pisar-cli-cost-');
  let server: FakeOpenAIServer | undefined;

  const inputs = ['why is the sky blue', 'name a prime', 'explain tides in two lines please', 'what is rust', 'define entropy'];
  const answer = (prompt: string, model: string) => `${model === 'paid' ? 'A long careful answer:' : 'Short:'} ${prompt}`;
  const price = { inputPerMillion: 3000, outputPerMillion: 15000 };

  async function scoredDataset() {
    // Row 3 fails for "paid" (HTTP 400, no usage): its tokens are not counted.
    server = await tmp.startServer({ respond: (req) => answer(req.prompt, req.model), faultFor: (req) => (req.model === 'paid' && req.prompt === inputs[3] ? '400' : undefined) });
    const { data, config, common } = await tmp.dataset(
      inputs.map((input, i) => ({ id: `r${i}`, input, rationale: `Because ${input}` })),
      [{ name: 'paid', baseUrl: server.url, model: 'paid', price }, { name: 'free', baseUrl: server.url, model: 'free' }],
    );
    const expected = (model: string, skip?: number) => {
      const used = inputs.filter((_, i) => i !== skip);
      const input = used.reduce((n, p) => n + words(p), 0);
      const output = used.reduce((n, p) => n + words(answer(p, model)), 0);
      return { input, output, withUsage: used.length };
    };
    return { data, config, common, paid: expected('paid', 3), free: expected('free') };
  }

  it('score and report (md, csv, json) sum each model\'s tokens and price them', async () => {
    const { data, config, common, paid, free } = await scoredDataset();
    const scored = await cli(['score', ...common, '--json']);
    assert.equal(scored.code, 1, 'one call failed');
    const doc = JSON.parse(scored.stdout) as ScoreDocument;
    const paidCost = (paid.input * price.inputPerMillion + paid.output * price.outputPerMillion) / 1e6;
    const byModel = (models: ReportDocument['models'], name: string) => models.find((m) => m.model === name)!;
    assert.deepEqual(byModel(doc.summary.models, 'paid').tokens, paid);
    assert.ok(Math.abs(byModel(doc.summary.models, 'paid').cost! - paidCost) < 1e-12);
    assert.deepEqual(byModel(doc.summary.models, 'free').tokens, free);
    assert.equal(byModel(doc.summary.models, 'free').cost, null, 'no price, no cost');

    const text = await cli(['score', ...common]);
    assert.match(text.stdout, /\| input tokens \| output tokens \| cost \|/);
    assert.match(text.stdout, new RegExp(`\\| paid \\|[^\\n]*\\| ${paid.input} \\| ${paid.output} \\| ${paidCost.toFixed(4).replace('.', '\\.')} \\|`));
    assert.match(text.stdout, new RegExp(`\\| free \\|[^\\n]*\\| ${free.input} \\| ${free.output} \\|  \\|`));

    const report = await cli(['report', data, '--config', config, '--format', 'json']);
    const rdoc = JSON.parse(report.stdout) as ReportDocument;
    assert.deepEqual(byModel(rdoc.models, 'paid').tokens, paid);
    assert.ok(Math.abs(byModel(rdoc.models, 'paid').cost! - paidCost) < 1e-12);

    const csv = await cli(['report', data, '--config', config, '--format', 'csv']);
    const [header, ...lines] = csv.stdout.split('\r\n');
    const columns = header.split(',');
    const paidLine = lines.find((l) => l.startsWith('paid,'))!.split(',');
    assert.equal(paidLine[columns.indexOf('input tokens')], String(paid.input));
    assert.equal(paidLine[columns.indexOf('output tokens')], String(paid.output));
    assert.ok(Math.abs(Number(paidLine[columns.indexOf('cost')]) - paidCost) < 1e-12);

    const md = await cli(['report', data, '--config', config]);
    assert.match(md.stdout, new RegExp(`\\| paid \\|[^\\n]*\\| ${paid.input} \\| ${paid.output} \\| ${paidCost.toFixed(4).replace('.', '\\.')} \\|`));
  });

  it('an edited row\'s stale result leaves the totals', async () => {
    const { data, config, common, paid } = await scoredDataset();
    await cli(['score', ...common]);
    const rows = (await fsp.readFile(data, 'utf8')).split('\n');
    rows[0] = JSON.stringify({ id: 'r0', input: inputs[0], rationale: 'A new reference.' });
    await fsp.writeFile(data, rows.join('\n'));
    const report = JSON.parse((await cli(['report', data, '--config', config, '--format', 'json'])).stdout) as ReportDocument;
    const now = report.models.find((m) => m.model === 'paid')!.tokens;
    assert.deepEqual(now, { input: paid.input - words(inputs[0]), output: paid.output - words(answer(inputs[0], 'paid')), withUsage: paid.withUsage - 1 });
  });

  it('a misspelt price field is refused with the file, the field and the fix', async () => {
    const { data, config } = await scoredDataset();
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'paid', baseUrl: server!.url, model: 'paid', price: { inputPerMilion: 1, outputPerMillion: 2 } }] }));
    const r = await cli(['report', data, '--config', config]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config\.json[^\n]*models\[0\]\.price\.inputPerMilion: is not a known price field\. Did you mean "inputPerMillion"\?/);
    await fsp.writeFile(config, JSON.stringify({ models: [{ name: 'paid', baseUrl: server!.url, model: 'paid', price: { inputPerMillion: -1, outputPerMillion: 2 } }] }));
    const negative = await cli(['report', data, '--config', config]);
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /models\[0\]\.price\.inputPerMillion: must be a number from 0 to 1000000; got -1/);
  });
});
