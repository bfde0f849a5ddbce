import * as assert from 'node:assert/strict';
import { runSoak } from '../support/soak';

// The full 5,000-call soak is scripts/bench/soak.bench.mjs; this is the same procedure, scaled down.
describe('soak: faults under load, cancel, SIGKILL and resume', function () {
  this.timeout(180_000);

  it('ends with exactly one stored result per row and model: none duplicated, none lost, the sidecar clean', async () => {
    const report = await runSoak({
      rows: 400, models: 2, concurrencyPerModel: 8, latencyMs: 10, faultRate: 0.1,
      timeoutMs: 300, slowMs: 600, retry: { retries: 6, baseDelayMs: 20, maxDelayMs: 300 },
      cancelAt: 0.3, killAt: 0.6,
    });
    assert.equal(report.phases[0].exit, '0', 'the cancelled run exits cleanly');
    assert.equal(report.phases[0].summary?.cancelled, true);
    assert.equal(report.phases[1].exit, 'SIGKILL');
    assert.ok(report.faultsTotal > 40, `faults were injected (${report.faultsTotal})`);
    for (const kind of ['429', '500', 'reset', 'slow'] as const) assert.ok((report.faultsInjected[kind] ?? 0) > 0, `${kind} injected`);
    // A SIGKILLed phase cannot report its retries; the phases that finished did.
    assert.ok(report.retries > 0, 'faults were retried');
    assert.equal(report.duplicates, 0, 'no (row, model) stored twice');
    assert.equal(report.lost, 0, 'no (row, model) lost');
    assert.equal(report.pairsWithOneSuccess, report.pairs);
    assert.deepEqual(report.sidecarProblemsAtEnd, [], 'the sidecar parses cleanly');
    assert.equal(report.keyInSidecar, false);
    assert.equal(report.datasetUnchanged, true);
  });
});
