// "Export Dataset Copy with Annotations…" (issue 24.3/24.4: the contradiction flag and the judge's verdict as a column
// in exports): each row of the copy carries each model's current result, its contradiction check read at the threshold
// in force, and the judge's stored verdict, as JSON data; annotations as before.
import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { annotatedCopyFields, ANNOTATIONS_FIELD, RESULTS_FIELD, type CopiedResult } from '../../src/core/review/annotatedCopy';
import { DatasetReview } from '../../src/core/review/datasetReview';
import { AnnotationStore } from '../../src/core/store/annotations';
import type { NliCheck } from '../../src/core/store/results';
import { makeTempDir } from '../support/files';
import { writeScoredDataset } from '../support/storedResults';

const nli = (contradiction: number, reference?: number): NliCheck => ({ contradiction, entailment: (1 - contradiction) / 2, neutral: (1 - contradiction) / 2, ...(reference !== undefined ? { reference } : {}), model: { id: 'tiny-nli', weights: '0123456789ab' } });
const judged = { model: 'judge', modelId: 'judge-1', promptHash: '0123456789abcdef', at: '2026-01-01T00:00:00.000Z' };

describe('annotated copy: scores, contradiction check and judge verdicts per output', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('pisar-copy-')));
  afterEach(() => tmp.cleanup());

  it('each current output carries its score, P(contradiction) with the flag at the threshold in force, and the judge\'s verdict or failure; stale results and rows without any are left out', async () => {
    const file = path.join(tmp.dir, 'data.jsonl');
    const rows = [
      { id: 'a', input: 'Why brake?', rationale: 'The crest hides traffic.' },
      { id: 'b', input: 'Why slow?', rationale: ['Children cross.', 'A school is near.'] },
      { id: 'c', input: 'Why wait?', rationale: 'The light is red.' },
      { id: 'd', input: 'Why look?', rationale: 'Cyclists pass.' },
      { id: 'e', input: 'Why stop?', rationale: 'A sign says so.' },
    ];
    const dataset = await writeScoredDataset(file, rows, (i) => [
      [
        { model: 'm', output: 'Traffic is hidden.', score: 0.91, nli: nli(0.55), judge: { ...judged, verdict: 'bad' as const, reason: '=HYPERLINK("http://evil.example","click")' } },
        { model: 'n', output: 'It is not hidden.', score: 0.88, nli: nli(0.97), judge: { ...judged, verdict: 'good' as const, rating: 4, reason: 'Close.' } },
      ],
      [{ model: 'm', output: 'A school is near.', score: 0.99, matchedReference: 1, nli: nli(0.02, 1), judge: { ...judged, error: { kind: 'unparsable', message: 'the judge\'s answer is not one JSON object: "fine"' } } }],
      [{ model: 'm', error: { kind: 'server', message: 'HTTP 500' } }],
      [{ model: 'm', output: 'Look out.', score: 0.5, nli: nli(0.9) }],
      [],
    ][i]);
    // Row d changes after it was scored: its result is stale and leaves the copy; an annotation on e alone gives it a field.
    await fsp.writeFile(file, (await fsp.readFile(file, 'utf8')).replace('Cyclists pass.', 'Cyclists overtake.'));
    const annotations = await AnnotationStore.forDataset(file);
    await annotations.add({ rowId: 'e', rowHash: dataset.rowHash(4), target: { kind: 'reference' }, label: 'wrong', note: '=1+1' });

    const review = await DatasetReview.open(file, { threshold: 0.7, models: [], contradiction: { enabled: true, model: 'tiny-nli', threshold: 0.6 } });
    try {
      const fields = annotatedCopyFields(review);
      const results = (line: number) => fields.get(line)?.[RESULTS_FIELD] as Record<string, CopiedResult> | undefined;
      assert.deepEqual(results(1), {
        // 0.55 is below the 0.6 in force: not flagged (the default 0.5 would flag it).
        m: { score: 0.91, contradiction: { probability: 0.55, contradicts: false, threshold: 0.6, model: 'tiny-nli' }, judge: { ...judged, verdict: 'bad', reason: '=HYPERLINK("http://evil.example","click")' } },
        n: { score: 0.88, contradiction: { probability: 0.97, contradicts: true, threshold: 0.6, model: 'tiny-nli' }, judge: { ...judged, verdict: 'good', rating: 4, reason: 'Close.' } },
      });
      assert.deepEqual(results(2), { m: { score: 0.99, contradiction: { probability: 0.02, contradicts: false, threshold: 0.6, reference: 1, model: 'tiny-nli' }, judge: { ...judged, error: { kind: 'unparsable', message: 'the judge\'s answer is not one JSON object: "fine"' } } } });
      assert.equal(results(3)?.m.score, undefined);
      assert.match(results(3)!.m.error!, /HTTP 500/);
      assert.equal(fields.has(4), false, 'the stale result is not exported');
      assert.deepEqual(Object.keys(fields.get(5)!), [ANNOTATIONS_FIELD]);
      assert.deepEqual((fields.get(5)![ANNOTATIONS_FIELD] as { label: string; note: string }[]).map((a) => [a.label, a.note]), [['wrong', '=1+1']]);

      // The copy's line is the row as written plus the fields, as JSON: the reason is a JSON string, read back as written.
      const line = JSON.stringify({ ...rows[0], ...fields.get(1) });
      const back = JSON.parse(line) as { [RESULTS_FIELD]: Record<string, CopiedResult> };
      assert.equal(back[RESULTS_FIELD].m.judge!.reason, '=HYPERLINK("http://evil.example","click")');
    } finally {
      await review.dataset.close();
    }
  });
});
