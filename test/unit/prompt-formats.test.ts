import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../src/core/config/models';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { runDataset } from '../../src/core/runner/runner';
import { ResultsStore } from '../../src/core/store/results';
import { runCliCaptured } from '../support/cli';
import { FakeOpenAIServer } from '../support/openaiServer';

/**
 * Fine-tuning formats sent the way the format means them, checked in the request bodies a real
 * loopback OpenAI-compatible server receives.
 */
const PNG = (n: number) => Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.from([n])]);
const dataUrl = (n: number) => `data:image/png;base64,${PNG(n).toString('base64')}`;

type Part = { type: string; text?: string; image_url?: { url: string } };
type Message = { role: string; content: string | Part[] };

describe('prompts of fine-tuning formats, as the endpoint receives them', function () {
  this.timeout(30_000);
  let server: FakeOpenAIServer;
  let dir: string;
  beforeEach(async () => {
    server = await FakeOpenAIServer.start();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-formats-'));
    for (const n of [1, 2, 3]) await fsp.writeFile(path.join(dir, `img${n}.png`), PNG(n));
  });
  afterEach(async () => {
    await server.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const model = (): ModelConfig => ({ name: 'm', baseUrl: server.url, model: 'm', concurrency: 1, timeoutMs: 5000 });

  async function send(rows: Record<string, unknown>[]): Promise<{ bodies: Map<string, Message[]>; results: ResultsStore; file: string }> {
    const file = path.join(dir, 'data.jsonl');
    await fsp.writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const dataset = await Dataset.open(file);
    const results = await ResultsStore.open(file);
    await runDataset({ dataset, models: [model()], results, retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 }, apiKeyFor: async () => undefined });
    await dataset.close();
    const bodies = new Map<string, Message[]>();
    for (const request of server.requests) {
      const messages = request.body.messages as Message[];
      bodies.set(JSON.stringify(messages), messages);
    }
    return { bodies, results, file };
  }

  it('Alpaca: sends the instruction and the input, and inspect and score agree on a row whose input is empty', async () => {
    const { results, file } = await send([
      { instruction: 'Translate to French.', input: 'Good morning', output: 'Bonjour' },
      { instruction: 'Name a primary colour.', input: '', output: 'Red' },
    ]);
    const sent = server.requests.map((r) => (r.body.messages as Message[]).map((m) => m.content));
    assert.deepEqual(sent.sort(), [['Name a primary colour.'], ['Translate to French.\n\nGood morning']].sort());
    // Alpaca's output is the reference: both rows are scored rows, neither is "no input"
    const doc = JSON.parse((await runCliCaptured(['inspect', file, '--json'])).stdout) as { findings: { code: string }[]; validRows: number };
    assert.equal(doc.validRows, 2);
    assert.deepEqual(doc.findings.map((f) => f.code), [], 'no no-input and no no-reference finding');
    for (const id of ['line:1', 'line:2']) assert.equal(results.latest(id, 'm')?.error, undefined, `row ${id} was sent`);
    const dataset = await Dataset.open(file);
    assert.equal((await dataset.getRow(1)).reference, 'Red');
    await dataset.close();
  });

  it('LLaVA: each <image> becomes an image part where it stands, in order, across turns', async () => {
    await send([{
      id: 'llava',
      image: ['img1.png', 'img2.png'],
      conversations: [
        { from: 'human', value: 'Compare <image>\nwith this one: <image> What differs?' },
        { from: 'gpt', value: 'The colour.' },
      ],
    }]);
    const [messages] = [...(await Promise.resolve(server.requests))].map((r) => r.body.messages as Message[]);
    assert.equal(messages.length, 1, 'the final gpt turn is the reference, not sent');
    assert.deepEqual(messages[0].content, [
      { type: 'text', text: 'Compare ' },
      { type: 'image_url', image_url: { url: dataUrl(1) } },
      { type: 'text', text: 'with this one: ' },
      { type: 'image_url', image_url: { url: dataUrl(2) } },
      { type: 'text', text: ' What differs?' },
    ]);
  });

  it('Qwen-VL: an image written as <img>path</img> is sent as an image where it stands', async () => {
    await send([{
      id: 'qwen',
      conversations: [
        { from: 'user', value: 'Picture 1: <img>img3.png</img>\nWhat is in it?' },
        { from: 'assistant', value: 'A square.' },
      ],
    }]);
    const messages = server.requests[0].body.messages as Message[];
    assert.deepEqual(messages[0].content, [
      { type: 'text', text: 'Picture 1: ' },
      { type: 'image_url', image_url: { url: dataUrl(3) } },
      { type: 'text', text: 'What is in it?' },
    ]);
  });

  it('a plain input and an OpenAI content list keep their images in place', async () => {
    await send([
      { id: 'plain', input: '<image>Describe it.', image: 'img1.png', rationale: 'r' },
      { id: 'parts', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(2) } }, { type: 'text', text: 'and this?' }] }], rationale: 'r' },
    ]);
    const byId = new Map(server.requests.map((r) => [JSON.stringify(r.body.messages).includes('Describe') ? 'plain' : 'parts', r.body.messages as Message[]]));
    assert.deepEqual(byId.get('plain')?.[0].content, [{ type: 'image_url', image_url: { url: dataUrl(1) } }, { type: 'text', text: 'Describe it.' }]);
    assert.deepEqual(byId.get('parts')?.[0].content, [{ type: 'image_url', image_url: { url: dataUrl(2) } }, { type: 'text', text: 'and this?' }]);
  });

  it('a placeholder without an image fails the row with nothing sent; an image without a placeholder is reported and attached', async () => {
    const { results, file } = await send([
      { id: 'short', image: 'img1.png', conversations: [{ from: 'human', value: '<image> and <image>?' }, { from: 'gpt', value: 'a' }] },
      { id: 'extra', image: ['img1.png', 'img2.png'], conversations: [{ from: 'human', value: '<image> what?' }, { from: 'gpt', value: 'a' }] },
    ]);
    assert.equal(server.requests.length, 1, 'only the row whose images all have a place was sent');
    assert.match(results.latest('short', 'm')?.error?.message ?? '', /2 <image> placeholder\(s\) but the row has 1 image/);
    assert.deepEqual((server.requests[0].body.messages as Message[])[0].content, [
      { type: 'image_url', image_url: { url: dataUrl(1) } },
      { type: 'text', text: ' what?' },
      { type: 'image_url', image_url: { url: dataUrl(2) } },
    ]);
    const doc = JSON.parse((await runCliCaptured(['inspect', file, '--json'])).stdout) as { findings: { line: number; code: string; message: string }[] };
    assert.deepEqual(doc.findings.map((f) => [f.line, f.code]), [[1, 'image-placeholder'], [2, 'image-placeholder']]);
    assert.match(doc.findings[1].message, /image 2 has no placeholder/);
  });
});
