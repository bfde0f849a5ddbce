import * as assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ConfigError } from '../../src/core/config/models';
import {
  DEFAULT_ANNOTATION_LABELS, DEFAULT_EMBEDDING_MODEL, DEFAULT_SETTINGS, jsonSettingsSource, labelMapping, loadSettingsFile,
  parseEmbeddingDtype, parseEmbeddingProvider, parseFieldAssignment, parseFieldMapping, parseLabels, parseModels, parseSwitch,
  parseText, parseThreshold, problemSetting, problemText, readSettings, unknownSettings, type SettingProblem, type SettingsSource,
} from '../../src/core/config/settings';
import { DEFAULT_LABEL_MAPPING } from '../../src/core/report/calibration';
import { readReviewConfig, settingNotice, settingToOpen } from '../../src/host/reviewConfig';
import { runCliCaptured } from '../support/cli';
import { jsonl, makeTempDir, repoRoot } from '../support/files';

/**
 * What VS Code's `getConfiguration('pisarReview')` returns: the user's value, else the default the
 * manifest declares; a group key (`embedding`) gives the object of its settings.
 */
function vscodeConfiguration(user: Record<string, unknown>): SettingsSource {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default?: unknown }> } } };
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(manifest.contributes.configuration.properties)) values[key.replace(/^pisarReview\./, '')] = schema.default;
  Object.assign(values, user);
  return {
    get(key) {
      if (Object.hasOwn(values, key)) return values[key];
      const group = Object.entries(values).filter(([k]) => k.startsWith(`${key}.`));
      if (group.length === 0) return undefined;
      const nested: Record<string, unknown> = {};
      for (const [k, v] of group) {
        const parts = k.slice(key.length + 1).split('.');
        let at = nested;
        for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
        at[parts[parts.length - 1]] = v;
      }
      return nested;
    },
  };
}

const problemOf = <T>(parsed: { value: T; problem?: SettingProblem }): SettingProblem => {
  assert.ok(parsed.problem, `expected a problem, got the value ${JSON.stringify(parsed.value)}`);
  return parsed.problem;
};

describe('settings: the one parser for the extension and the CLI', () => {
  it('threshold: numbers from -1 to 1 (a flag\'s text too); anything else is a problem and the default 0.7', () => {
    for (const [value, expected] of [[0.5, 0.5], [-1, -1], [1, 1], ['0.25', 0.25], [' 0.8 ', 0.8]] as const) assert.equal(parseThreshold(value).value, expected);
    for (const value of [undefined, null]) assert.deepEqual(parseThreshold(value), { value: 0.7 });
    for (const value of [2, -1.5, 'high', '', true, Number.NaN, Infinity, [0.7]]) {
      const parsed = parseThreshold(value);
      assert.equal(parsed.value, 0.7);
      const p = problemOf(parsed);
      assert.equal(p.key, 'threshold');
      assert.match(problemText(p), /^must be a number from -1 to 1 \(a cosine similarity\); got .+\. Set it to the score an output must reach to pass, e\.g\. 0\.7\.$/);
    }
    assert.match(problemOf(parseThreshold('high')).problem, /got "high"/);
    assert.match(problemOf(parseThreshold(Infinity)).problem, /got Infinity/);
    assert.match(problemOf(parseThreshold('2')).problem, /got 2$/, 'a flag\'s text reads as the number it is');
  });

  it('field mapping: role -> key, trimmed; a bad entry is left out (that role is detected) and named', () => {
    assert.deepEqual(parseFieldMapping({ reference: ' gold ', id: 'uid' }), { value: { reference: 'gold', id: 'uid' }, problem: undefined });
    assert.deepEqual(parseFieldMapping(undefined), { value: {} });
    const unknownRole = parseFieldMapping({ gold: 'x', reference: 'r' });
    assert.deepEqual(unknownRole.value, { reference: 'r' });
    assert.equal(problemOf(unknownRole).key, 'fieldMapping.gold');
    assert.match(problemText(unknownRole.problem!), /"gold" is not a role\. Roles are id, input, image, reference, outputs\./);
    const emptyKey = parseFieldMapping({ reference: '  ' });
    assert.deepEqual(emptyKey.value, {});
    assert.equal(problemOf(emptyKey).key, 'fieldMapping.reference');
    assert.match(problemOf(parseFieldMapping({ reference: 5 })).problem, /non-empty string, or a list of them\); got 5/);
    for (const value of ['gold', ['reference'], 3]) assert.match(problemOf(parseFieldMapping(value)).problem, /must be an object of role -> JSON key/);
    const proto = parseFieldMapping(JSON.parse('{"__proto__": "x", "constructor": "y"}'));
    assert.deepEqual(proto.value, {});
    assert.equal(problemOf(proto).key, 'fieldMapping.__proto__');
  });

  it('--field ROLE=KEY: the same role and key rules', () => {
    assert.deepEqual(parseFieldAssignment('reference=gold=x').value, { reference: 'gold=x' });
    assert.deepEqual(parseFieldAssignment('input= prompt').value, { input: 'prompt' });
    assert.match(problemText(problemOf(parseFieldAssignment('nonsense'))), /^must be ROLE=KEY; got "nonsense"\. Write a role \(id, input, image, reference, outputs\)/);
    assert.equal(problemText(problemOf(parseFieldAssignment('gold=x'))), problemText(problemOf(parseFieldMapping({ gold: 'x' }))));
    assert.equal(problemText(problemOf(parseFieldAssignment('reference='))), problemText(problemOf(parseFieldMapping({ reference: '' }))));
  });

  it('embedding provider, dtype and texts: the choices, the default, and a problem naming the value', () => {
    assert.equal(parseEmbeddingProvider('remote').value, 'remote');
    assert.deepEqual(parseEmbeddingProvider(undefined), { value: 'local' });
    const provider = parseEmbeddingProvider('cloud');
    assert.equal(provider.value, 'local');
    assert.equal(problemOf(provider).problem, 'must be "local" or "remote"; got "cloud"');
    assert.equal(parseEmbeddingDtype('q8').value, 'q8');
    assert.deepEqual(parseEmbeddingDtype(null), { value: 'fp32' });
    const dtype = parseEmbeddingDtype('q4');
    assert.equal(dtype.value, 'fp32');
    assert.deepEqual([problemOf(dtype).key, dtype.problem!.problem], ['embedding.dtype', 'must be "fp32" or "q8"; got "q4"']);
    assert.deepEqual(parseText(' ./models/mini ', 'embedding.model', DEFAULT_EMBEDDING_MODEL, 'x'), { value: './models/mini' });
    assert.deepEqual(parseText('  ', 'embedding.model', DEFAULT_EMBEDDING_MODEL, 'x'), { value: DEFAULT_EMBEDDING_MODEL });
    assert.deepEqual(parseText(undefined, 'embedding.model', DEFAULT_EMBEDDING_MODEL, 'x'), { value: DEFAULT_EMBEDDING_MODEL });
    const text = parseText(5, 'embedding.remote.model', '', '"bge"');
    assert.equal(text.value, '');
    assert.equal(problemText(problemOf(text)), 'must be a string; got 5. Write e.g. "bge".');
  });

  it('labels: a list or a flag\'s comma text, trimmed and without repeats; none or non-strings are problems', () => {
    const key = 'annotation.labels';
    assert.deepEqual(parseLabels([' wrong', 'fine', 'wrong', ''], key, DEFAULT_ANNOTATION_LABELS).value, ['wrong', 'fine']);
    assert.deepEqual(parseLabels('bad, worse,', key, DEFAULT_ANNOTATION_LABELS).value, ['bad', 'worse']);
    assert.deepEqual(parseLabels(undefined, key, DEFAULT_ANNOTATION_LABELS), { value: DEFAULT_ANNOTATION_LABELS });
    for (const value of [[], [' '], ',', '']) {
      const parsed = parseLabels(value, key, DEFAULT_ANNOTATION_LABELS);
      assert.deepEqual(parsed.value, DEFAULT_ANNOTATION_LABELS);
      assert.equal(problemOf(parsed).problem, 'names no label');
    }
    for (const value of [[1, 'a'], { a: 1 }, 7]) assert.match(problemOf(parseLabels(value, key, DEFAULT_ANNOTATION_LABELS)).problem, /must be a list of labels/);
  });

  it('calibration labels: a label both bad and good (any case) is a problem and the defaults are used', () => {
    assert.deepEqual(labelMapping(['wrong'], ['fine']), { value: { bad: ['wrong'], good: ['fine'] } });
    const both = labelMapping(['wrong', 'Fine'], ['fine']);
    assert.deepEqual(both.value, DEFAULT_LABEL_MAPPING);
    assert.equal(problemText(problemOf(both)), '"Fine" is listed as bad and as good. A label counts as bad or as good, not both: remove it from one of the two lists.');
  });

  it('switches and the models list', () => {
    assert.deepEqual(parseSwitch(false, 'codeLens.enabled', true), { value: false });
    assert.deepEqual(parseSwitch(undefined, 'codeLens.enabled', true), { value: true });
    const bad = parseSwitch('yes', 'codeLens.enabled', true);
    assert.equal(bad.value, true);
    assert.equal(problemText(problemOf(bad)), 'must be true or false; got "yes". Write true or false (default true).');
    const ok = { name: 'm', baseUrl: 'http://127.0.0.1:1/v1/', model: 'x' };
    assert.deepEqual(parseModels([ok]).value, [{ ...ok, baseUrl: 'http://127.0.0.1:1/v1' }]);
    assert.deepEqual(parseModels(undefined), { value: [] });
    const typo = parseModels([{ ...ok, baseURL: 'x' }]);
    assert.deepEqual(typo.value, [], 'one bad model: no model is called');
    assert.equal(problemOf(typo).key, 'models[0].baseURL');
    assert.equal(problemText(typo.problem!), 'is not a known model setting. Did you mean "baseUrl"?');
    assert.equal(problemSetting(typo.problem!), 'models');
    assert.equal(problemOf(parseModels({ name: 'm' })).key, 'models');
  });

  it('the manifest\'s defaults are the parser\'s defaults (VS Code with nothing set reads like the CLI without a config)', () => {
    const read = readSettings(vscodeConfiguration({}));
    assert.deepEqual(read.problems, []);
    assert.deepEqual(read.settings, DEFAULT_SETTINGS);
    assert.deepEqual(DEFAULT_SETTINGS.calibration, DEFAULT_LABEL_MAPPING);
    assert.equal(DEFAULT_SETTINGS.embedding.model, DEFAULT_EMBEDDING_MODEL);
  });

  it('a JSON config reads nested groups and VS Code\'s flat keys; a group that is no object is a problem', () => {
    const nested = readSettings(jsonSettingsSource({ threshold: 0.5, embedding: { dtype: 'q8', remote: { baseUrl: 'http://h/v1' } }, calibration: { goodLabels: ['ok'] } }));
    assert.deepEqual(nested.problems, []);
    assert.deepEqual([nested.settings.threshold, nested.settings.embedding.dtype, nested.settings.embedding.remote.baseUrl, nested.settings.calibration.good], [0.5, 'q8', 'http://h/v1', ['ok']]);
    const flat = readSettings(jsonSettingsSource({ 'pisarReview.threshold': 0.6, 'embedding.provider': 'remote', 'pisarReview.fieldMapping': { reference: 'gold' } }));
    assert.deepEqual([flat.settings.threshold, flat.settings.embedding.provider, flat.settings.fieldMapping], [0.6, 'remote', { reference: 'gold' }]);
    const group = readSettings(jsonSettingsSource({ embedding: 'q8' }));
    assert.deepEqual(group.problems.map((p) => p.key), ['embedding']);
    const many = readSettings(jsonSettingsSource({ threshold: 7, embedding: { dtype: 'q4' }, fieldMapping: { gold: 'x' } }));
    assert.deepEqual(many.problems.map((p) => p.key), ['threshold', 'embedding.dtype', 'fieldMapping.gold'], 'every bad setting, not only the first');
    assert.deepEqual([many.settings.threshold, many.settings.embedding.dtype], [0.7, 'fp32']);
  });

  it('a settings file: unreadable, not JSON (with the line) or not an object is a ConfigError naming the file', async () => {
    const tmp = makeTempDir();
    try {
      const write = async (name: string, text: string) => {
        const file = path.join(tmp.dir, name);
        await fsp.writeFile(file, text);
        return file;
      };
      const good = await write('good.json', '\uFEFF{"threshold": 0.6}');
      assert.equal((await loadSettingsFile(good)).settings.threshold, 0.6);
      const broken = await write('broken.json', '{\n  "threshold": 0.6,\n}\n');
      await assert.rejects(loadSettingsFile(broken), (err: ConfigError) => err.source === broken && err.line === 3 && /not valid JSON/.test(err.message));
      const list = await write('list.json', '[]');
      await assert.rejects(loadSettingsFile(list), (err: ConfigError) => err.message.startsWith(`${list}: must be a JSON object of settings; got []`));
      await assert.rejects(loadSettingsFile(path.join(tmp.dir, 'none.json')), /none\.json: no such file\. Check the --config path\./);
    } finally {
      tmp.cleanup();
    }
  });

  it('the extension\'s reader: a bad setting is one problem, told with the fix and what is used instead; models stop calls', () => {
    const config = readReviewConfig(vscodeConfiguration({ threshold: 2, 'embedding.dtype': 'q4', models: [{ name: 'm', baseURL: 'http://h/v1', model: 'x' }] }));
    assert.deepEqual(config.problems.map((p) => p.key), ['models[0].baseURL', 'threshold', 'embedding.dtype']);
    assert.deepEqual([config.threshold, config.embedding.dtype, config.models], [0.7, 'fp32', []]);
    assert.equal(config.modelsError, 'pisarReview.models[0].baseURL: is not a known model setting. Did you mean "baseUrl"?');
    const threshold = config.problems.find((p) => p.key === 'threshold')!;
    assert.equal(settingNotice(threshold), 'pisarReview.threshold: must be a number from -1 to 1 (a cosine similarity); got 2. Set it to the score an output must reach to pass, e.g. 0.7. In force until then: the default 0.7.');
    assert.equal(settingToOpen(threshold), 'pisarReview.threshold');
    assert.equal(settingToOpen(config.problems[0]), 'pisarReview.models');
    assert.equal(readReviewConfig(vscodeConfiguration({})).modelsError, undefined);
  });
});

describe('settings: the same bad value says the same thing in the CLI and in the extension', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let data: string;
  beforeEach(async () => {
    tmp = makeTempDir('pisar-settings-');
    data = path.join(tmp.dir, 'data.jsonl');
    await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
  });
  afterEach(() => tmp.cleanup());

  /** The one problem the extension reports for `user` (VS Code settings). */
  function hostProblem(user: Record<string, unknown>): SettingProblem {
    const { problems } = readReviewConfig(vscodeConfiguration(user));
    assert.equal(problems.length, 1, JSON.stringify(problems));
    return problems[0];
  }

  const cases: { what: string; settings: Record<string, unknown>; config: Record<string, unknown> }[] = [
    { what: 'a threshold out of range', settings: { threshold: 1.5 }, config: { threshold: 1.5 } },
    { what: 'a threshold that is text', settings: { threshold: 'high' }, config: { threshold: 'high' } },
    { what: 'an unknown embedding dtype', settings: { 'embedding.dtype': 'q4' }, config: { embedding: { dtype: 'q4' } } },
    { what: 'an unknown embedding provider', settings: { 'embedding.provider': 'cloud' }, config: { embedding: { provider: 'cloud' } } },
    { what: 'an embedding model that is no string', settings: { 'embedding.model': 3 }, config: { embedding: { model: 3 } } },
    { what: 'a field mapping with an unknown role', settings: { fieldMapping: { gold: 'x' } }, config: { fieldMapping: { gold: 'x' } } },
    { what: 'a field mapping with an empty key', settings: { fieldMapping: { reference: '' } }, config: { fieldMapping: { reference: '' } } },
    { what: 'a field mapping that is a list', settings: { fieldMapping: ['reference'] }, config: { fieldMapping: ['reference'] } },
    { what: 'a label both bad and good', settings: { 'calibration.badLabels': ['fine'] }, config: { calibration: { badLabels: ['fine'] } } },
    { what: 'annotation labels that name none', settings: { 'annotation.labels': [] }, config: { annotation: { labels: [] } } },
    { what: 'a switch that is text', settings: { 'codeLens.enabled': 'yes' }, config: { codeLens: { enabled: 'yes' } } },
    { what: 'a model with a typo', settings: { models: [{ name: 'm', baseURL: 'http://h/v1', model: 'x' }] }, config: { models: [{ name: 'm', baseURL: 'http://h/v1', model: 'x' }] } },
  ];
  for (const { what, settings, config } of cases) {
    it(`${what}: config file and settings`, async () => {
      const p = hostProblem(settings);
      const file = path.join(tmp.dir, 'config.json');
      await fsp.writeFile(file, JSON.stringify(config));
      for (const command of ['inspect', 'report', 'score']) {
        const r = await runCliCaptured([command, data, '--config', file], { cwd: tmp.dir });
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr.split('\n')[0], `pisar-review ${command}: ${file}: ${p.key}: ${problemText(p)}`);
      }
      assert.equal(settingNotice(p), `pisarReview.${p.key}: ${problemText(p)} In force until then: ${p.instead}.`);
    });
  }

  const flags: { what: string; settings: Record<string, unknown>; args: string[]; shown: string }[] = [
    { what: 'a threshold out of range', settings: { threshold: 2 }, args: ['report', '--threshold', '2'], shown: '--threshold 2' },
    { what: 'a threshold that is text', settings: { threshold: 'high' }, args: ['score', '--threshold', 'high'], shown: '--threshold high' },
    { what: 'an unknown dtype', settings: { 'embedding.dtype': 'q4' }, args: ['score', '--embedding-dtype', 'q4'], shown: '--embedding-dtype q4' },
    { what: 'an unknown role', settings: { fieldMapping: { gold: 'x' } }, args: ['inspect', '--field', 'gold=x'], shown: '--field gold=x' },
    { what: 'an empty key', settings: { fieldMapping: { input: '' } }, args: ['report', '--field', 'input='], shown: '--field input=' },
    { what: 'no bad label', settings: { 'calibration.badLabels': [] }, args: ['report', '--bad-labels', ','], shown: '--bad-labels ,' },
    { what: 'a label both bad and good', settings: { 'calibration.goodLabels': ['wrong'] }, args: ['report', '--good-labels', 'wrong'], shown: '--bad-labels / --good-labels' },
  ];
  for (const { what, settings, args, shown } of flags) {
    it(`${what}: flag and settings`, async () => {
      const p = hostProblem(settings);
      const [command, ...rest] = args;
      const r = await runCliCaptured([command, data, ...rest, '--json'], { cwd: tmp.dir });
      assert.equal(r.code, 2, r.stderr);
      const expected = `pisar-review ${command}: ${shown}: ${problemText(p)}`;
      assert.equal(r.stderr.split('\n')[0], expected);
      const doc = JSON.parse(r.stdout) as { schema: string; exitCode: number; error: string };
      assert.deepEqual([doc.schema, doc.exitCode], ['pisar-review/error@1', 2]);
      assert.ok(doc.error.startsWith(expected), doc.error);
    });
  }
});

describe('settings: a key of the CLI config that is no setting', () => {
  it('is found with the setting it most likely meant, at any depth, flat or nested; notes are left alone', () => {
    assert.deepEqual(unknownSettings({ treshold: 0.5, $schema: 'x', '// note': 'y', _comment: 'z', threshold: 0.7 }), [{ key: 'treshold', suggestion: 'threshold' }]);
    assert.deepEqual(unknownSettings({ embedding: { dtyp: 'q8', model: 'm', remote: { baseURL: 'u', model: 'r' } } }), [
      { key: 'embedding.dtyp', suggestion: 'embedding.dtype' },
      { key: 'embedding.remote.baseURL', suggestion: 'embedding.remote.baseUrl' },
    ]);
    assert.deepEqual(unknownSettings({ 'pisarReview.fieldMaping': {}, 'embedding.dtype': 'q8', 'pisarReview.codeLens.enabled': true }), [{ key: 'fieldMaping', suggestion: 'fieldMapping' }]);
    assert.deepEqual(unknownSettings({ colour: 'red' }), [{ key: 'colour' }]);
    assert.deepEqual(unknownSettings({ models: [], fieldMapping: { reference: 'gold' }, annotation: { labels: ['a'] }, calibration: { badLabels: ['a'], goodLabels: ['b'] }, problems: { lowScores: true } }), []);
  });

  it('is told on stderr by every command, and the run goes on with the default', async () => {
    const tmp = makeTempDir('pisar-unknown-');
    try {
      const data = path.join(tmp.dir, 'data.jsonl');
      await fsp.writeFile(data, jsonl([{ id: 'a', input: 'q', rationale: 'r' }]));
      const file = path.join(tmp.dir, 'config.json');
      await fsp.writeFile(file, JSON.stringify({ treshold: 0.5 }));
      for (const args of [['inspect', data], ['report', data], ['report', data, '--json']]) {
        const r = await runCliCaptured([...args, '--config', file], { cwd: tmp.dir });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /config\.json: "treshold" is not a setting; it was ignored\. Did you mean "threshold"\?/);
        if (args.includes('--json')) assert.equal((JSON.parse(r.stdout) as { threshold: number }).threshold, 0.7, 'the default is used, and stdout stays one JSON document');
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('a model key one letter off is named with the key it meant', async () => {
    await assert.rejects(
      async () => readSettingsOrThrow({ models: [{ name: 'm', baseUrll: 'http://h/v1', model: 'x' }] }),
      /models\[0\]\.baseUrll: is not a known model setting.*Did you mean "baseUrl"\?/,
    );
  });
});

function readSettingsOrThrow(document: Record<string, unknown>): void {
  const { problems } = readSettings(jsonSettingsSource(document));
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.key}: ${problemText(p)}`).join('\n'));
}
