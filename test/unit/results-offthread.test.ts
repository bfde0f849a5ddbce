import * as assert from 'node:assert/strict';
import cryptoModule from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasValidMac, installationKey, isScoredHere, isVerified, signRecord, tailMacVerdicts } from '../../src/core/store/provenance';
import { ResultsStore, type StoredResult } from '../../src/core/store/results';
import { makeTempDir } from '../support/files';

/**
 * A large results sidecar has its MACs checked on a worker thread while this one parses its lines (issue 23.2: at a
 * million rows the HMACs were half of reading the file). What a line reads as must not depend on where its MAC was checked.
 */
describe('results store: MACs checked on another thread', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  const result = (i: number, model: string): StoredResult => ({
    rowId: `r${i}`, rowHash: 'aaaaaaaaaaaaaaaa', model, source: 'called', output: `output ${i} ${'of some length '.repeat(150)}`, score: ((i * 37) % 200) / 200 - 0.25, scorer: 'tiny', at: new Date(0).toISOString(),
  });
  const signedLine = (r: StoredResult): string => {
    signRecord(r);
    return JSON.stringify(r);
  };

  /** Signed lines (more than two 8 MiB blocks), with every kind of line that must not read as signed here, or must read the same whichever thread checked it. */
  function writeSidecar(file: string): { lines: number; hostile: number } {
    const out: (string | Buffer)[] = [];
    let hostile = 0;
    for (let i = 0; i < 7000; i++) {
      const model = i % 2 ? 'base' : 'ft';
      const line = signedLine(result(i, model));
      const mac = /"mac":"([0-9a-f]{32})"}$/.exec(line)![1];
      const kind = i < 40 * 30 ? i % 30 : -1;
      if (kind >= 0 && kind <= 16) hostile++;
      switch (kind) {
        case 0: out.push(line.replace('"score":', '"score":0.0')); break; // a number changed after signing
        case 1: out.push(line.replace(/,"mac":"[0-9a-f]{32}"}$/, '}')); break; // unsigned
        case 2: out.push(`${line}\r`); break; // CRLF: still signed
        case 3: out.push(line.replace(`"mac":"${mac}"`, `"mac":"${mac.toUpperCase()}"`)); break; // another spelling of the MAC
        case 4: out.push(line.replace(/}$/, `,"mac":"${mac}"}`)); break; // the MAC twice: the text before the last is not what was signed
        case 5: out.push(line.replace(/,"mac":"[0-9a-f]{32}"}$/, `,"mac":"${'0'.repeat(32)}","mac":"${mac}"}`)); break; // a decoy MAC before the real one
        case 6: out.push(line.replace('{"rowId"', '{ "rowId"')); break; // whitespace in the signed text (re-signed JSON still verifies)
        case 7: out.push(line.replace(/}$/, '  }')); break; // spaces in the tail
        case 8: out.push(Buffer.concat([Buffer.from(line.slice(0, 40)), Buffer.from([0xff]), Buffer.from(line.slice(40))])); break; // not UTF-8
        case 9: out.push(line.replace(`"mac":"${mac}"`, `"mac":"${mac.slice(0, 31)}\\u${mac.charCodeAt(31).toString(16).padStart(4, '0')}"`)); break; // an escape in the MAC
        case 10: out.push(line.replace('"rowId"', '"pad":1,"rowId"')); break; // a field added before
        case 11: out.push('not json at all'); break;
        case 12: out.push(line.slice(0, -1)); break; // cut short
        case 13: out.push(`${line.slice(0, -1)},"extra":1}`); break; // a field after the MAC
        case 14: out.push(line.replace('"score":', '"score":"x","s":')); break; // a score that is not one
        case 15: out.push(line.replace(`"mac":"${mac}"`, `"mac":"${mac.slice(0, 30)}"`)); break; // a short MAC
        case 16: out.push(line.replace(/,"mac":"[0-9a-f]{32}"}$/, `,"mac":"${mac}" }`)); break;
        case 17: out.push(signedLine({ ...result(i, model), output: `déjà vu, naïve café ${'é'.repeat(i % 7)} ${'ü'.repeat(3000)}` })); break; // signed, not ASCII
        case 18: out.push(''); out.push(line); break; // a blank line before
        case 19: out.push(signedLine({ ...result(i, model), output: `a "quoted" \\ text\twith escapes \u2028 ${'\u{1F600}'.repeat(5)}` })); break;
        default: out.push(line);
      }
    }
    fs.writeFileSync(file, Buffer.concat(out.flatMap((l) => [typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\n')])));
    return { lines: out.length, hostile };
  }

  /** What a store holds, as the numbers read it: every latest result, whether it is this installation's, and the problems. */
  function held(store: ResultsStore) {
    const rows: unknown[] = [];
    for (let i = 0; i < 7000; i++) {
      for (const model of ['ft', 'base']) {
        const r = store.latest(`r${i}`, model);
        const here = store.latestScoredHere(`r${i}`, model);
        rows.push(r && { ...r, verified: isVerified(r), scoredHere: isScoredHere(r), here: here && { ...here } });
      }
    }
    return { rows, problems: store.problems, records: store.recordCount };
  }

  it('vouches on bytes for exactly the lines whose tail MAC is this installation\'s, and leaves every byte as it found it', () => {
    const line = signedLine(result(1, 'ft'));
    const mac = /"mac":"([0-9a-f]{32})"}$/.exec(line)![1];
    const flip = (c: string) => (c === '0' ? '1' : '0');
    const lines: [string, 0 | 1][] = [
      [line, 1],
      [`${line}\r`, 1], // CRLF: the carriage return is not part of the line
      [line.replace(mac, mac.toUpperCase()), 0], // another spelling of the same digits
      ...[0, 1, 15, 16, 30, 31].map((i): [string, 0] => [line.replace(mac, mac.slice(0, i) + flip(mac[i]) + mac.slice(i + 1)), 0]), // one digit off, high or low half of a byte
      [line.replace(mac, mac.slice(0, 31) + 'g'), 0], // not a hex digit
      [line.replace('"score":', '"score":0.0'), 0], // the text changed after signing
      [line.replace(/,"mac":"[0-9a-f]{32}"}$/, '}'), 0], // unsigned
      [line.replace(/,"mac":"[0-9a-f]{32}"}$/, `;"mac":"${mac}"}`), 0], // not the tail signRecord writes
      [signedLine({ ...result(2, 'base'), output: 'déjà vu' }), 1], // not ASCII, UTF-8
    ];
    const bytes = Buffer.from(lines.map(([l]) => `${l}\n`).join(''));
    const before = Buffer.from(bytes);
    const verdicts = tailMacVerdicts(bytes, installationKey()!);
    assert.deepEqual([...verdicts], lines.map(([, v]) => v));
    assert.ok(bytes.equals(before), 'the bytes read are the bytes handed back');
    // Each line vouched for reads as signed here too.
    for (const [l, v] of lines) if (v === 1) assert.ok(hasValidMac(JSON.parse(l) as object, installationKey(), l.replace(/\r$/, '')));
  });

  it('reads every line as this thread does (signed, tampered, unsigned, CRLF, not UTF-8, escapes, blank), and checks the signed lines\' MACs off this thread', async () => {
    const data = path.join(tmp.dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"r0","input":"i","rationale":"r"}\n');
    const { hostile } = writeSidecar(path.join(tmp.dir, 'data.pisar-results.jsonl'));
    assert.ok(fs.statSync(path.join(tmp.dir, 'data.pisar-results.jsonl')).size > 16 * 1024 * 1024, 'more than two blocks');

    const here = await ResultsStore.open(data, { repair: false, offThreadMacsFromBytes: Number.POSITIVE_INFINITY });
    // HMACs made on this thread while the other store reads (the worker's are made on its own thread).
    const createHmac = cryptoModule.createHmac;
    let hmacsHere = 0;
    cryptoModule.createHmac = ((...args: Parameters<typeof cryptoModule.createHmac>) => {
      hmacsHere++;
      return createHmac(...args);
    }) as typeof cryptoModule.createHmac;
    let elsewhere: ResultsStore;
    try {
      elsewhere = await ResultsStore.open(data, { repair: false, offThreadMacsFromBytes: 0 });
    } finally {
      cryptoModule.createHmac = createHmac;
    }
    assert.deepEqual(held(elsewhere), held(here));
    const signed = held(here).rows.filter((r) => (r as { verified?: boolean } | undefined)?.verified).length;
    assert.ok(signed > 6000, `most lines read as signed here (${signed})`);
    // Each line the worker could not vouch for is checked here, by the signed text and once more by the record (up to 2 HMACs).
    assert.ok(hmacsHere <= 2 * hostile, `${hmacsHere} HMACs on this thread for ${hostile} lines the worker cannot vouch for and ${signed} signed ones`);
  });
});
