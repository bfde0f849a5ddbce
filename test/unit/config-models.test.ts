import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, parseModelList } from '../../src/core/config/models';
import { jsonSettingsSource, loadSettingsFile, readSettings } from '../../src/core/config/settings';
import { makeTempDir } from '../support/files';

const SRC = '/work/pisar.config.json';
const ok = { name: 'gpt', baseUrl: 'https://api.openai.com/v1/', model: 'gpt-4o' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('models config', () => {
  it('accepts the settings shape, a "models" key or a bare list, and normalises the base URL', () => {
    const full = { ...ok, apiKeyEnv: 'OPENAI_API_KEY', systemPrompt: 's', promptTemplate: 'Q: {{input}}', temperature: 0, maxTokens: 256, concurrency: 8, timeoutMs: 30000, extraBody: { top_p: 0.9 }, headers: { 'X-Team': 'eval' } };
    const expected = [{ ...full, baseUrl: 'https://api.openai.com/v1' }];
    assert.deepEqual(readSettings(jsonSettingsSource({ 'pisarReview.models': [full] })).settings.models, expected);
    assert.deepEqual(readSettings(jsonSettingsSource({ models: [full] })).settings.models, expected);
    assert.deepEqual(parseModelList([full], SRC), expected);
  });

  const cases: [string, unknown, RegExp, RegExp][] = [
    ['a missing field', [{ name: 'a', model: 'm' }], /^models\[0\]\.baseUrl$/, /is missing/],
    ['a typo', [{ ...ok, baseURL: 'x' }], /^models\[0\]\.baseURL$/, /Did you mean "baseUrl"/],
    ['a key in the config', [{ ...ok, apiKey: 'sk-123' }], /^models\[0\]\.apiKey$/, /must not be written/],
    ['a key in apiKeyEnv', [{ ...ok, apiKeyEnv: 'sk-abcdefghijklmnop' }], /^models\[0\]\.apiKeyEnv$/, /NAME of the variable/],
    ['an Authorization header', [{ ...ok, headers: { Authorization: 'Bearer x' } }], /^models\[0\]\.headers\.Authorization$/, /key/],
    ['a non-http URL', [{ ...ok, baseUrl: 'file:///etc' }], /^models\[0\]\.baseUrl$/, /http or https/],
    ['credentials in the URL', [{ ...ok, baseUrl: 'https://u:p@h/v1' }], /^models\[0\]\.baseUrl$/, /credentials/],
    ['a duplicate name', [ok, ok], /^models\[1\]\.name$/, /unique/],
    ['a bad temperature', [{ ...ok, temperature: 3 }], /^models\[0\]\.temperature$/, /0 to 2/],
    ['a fractional concurrency', [{ ...ok, concurrency: 1.5 }], /^models\[0\]\.concurrency$/, /whole number/],
    ['a reserved extraBody field', [{ ...ok, extraBody: { messages: [] } }], /^models\[0\]\.extraBody\.messages$/, /set by PiSAR Review/],
    ['a template without placeholders', [{ ...ok, promptTemplate: 'always the same' }], /^models\[0\]\.promptTemplate$/, /placeholder/],
  ];
  for (const [what, list, field, problem] of cases) {
    it(`rejects ${what}, naming the source, the field and a fix`, () => {
      const err = configError(() => parseModelList(list, SRC));
      assert.equal(err.source, SRC);
      assert.match(err.field, field);
      assert.match(err.problem + ' ' + err.fix, problem);
      assert.ok(err.message.startsWith(`${SRC}: ${err.field}: `));
      assert.ok(err.fix.length > 0);
      assert.ok(!err.message.includes('sk-abcdefghijklmnop') && !err.message.includes('sk-123'), 'a key written by mistake is not echoed');
    });
  }

  it('reads a config file and reports JSON errors with the line', async () => {
    const tmp = makeTempDir();
    try {
      const good = path.join(tmp.dir, 'good.json');
      await fsp.writeFile(good, JSON.stringify({ models: [ok] }));
      assert.equal((await loadSettingsFile(good)).settings.models[0].name, 'gpt');
      const broken = path.join(tmp.dir, 'broken.json');
      await fsp.writeFile(broken, '{\n  "models": [\n    { "name": "a", }\n  ]\n}\n');
      await assert.rejects(loadSettingsFile(broken), (err: ConfigError) => err.source === broken && err.line === 3 && /not valid JSON/.test(err.message));
      await assert.rejects(loadSettingsFile(path.join(tmp.dir, 'none.json')), /no such file/);
    } finally {
      tmp.cleanup();
    }
  });
});
