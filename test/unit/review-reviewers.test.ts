import * as assert from 'node:assert/strict';
import { AnnotationStore } from '../../src/core/store/annotations';
import { ReviewFixture } from './reviewFixture';

describe('several reviewers through the review model', () => {
  it('each reviewer labels a target on their own; a second label by the same reviewer edits theirs', async () => {
    const fixture = await ReviewFixture.create([{ id: 'r1', input: 'q', reference: 'because' }], ['ft']);
    fixture.reviewer = 'ana@example.org';
    await fixture.model.annotate(0, { kind: 'reference' }, 'wrong');
    fixture.reviewer = 'bo@example.org';
    await fixture.model.annotate(0, { kind: 'reference' }, 'fine');
    fixture.reviewer = 'ana@example.org';
    await fixture.model.annotate(0, { kind: 'reference' }, 'incomplete');
    const store = await AnnotationStore.forDataset(fixture.file);
    const labels = store.all().map((a) => `${a.reviewer}=${a.label}`).sort();
    assert.deepEqual(labels, ['ana@example.org=incomplete', 'bo@example.org=fine']);
  });
});
