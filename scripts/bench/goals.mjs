// The goals of issue 23 side by side, read from what the benches of this run wrote to bench-results/ (a file older
// than the run is not shown as current): each goal with the ratio measured, the machine's measured peak and the load.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const fmt = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const verdict = (ok) => (ok ? 'met' : 'not met');

/** A bench's JSON written since `since` (ms), else undefined. */
function fresh(root, name, since) {
  const file = join(root, 'bench-results', `${name}.json`);
  if (!existsSync(file) || statSync(file).mtimeMs < since) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Lines of the summary; a goal whose bench did not run in this run says so. */
export function goalLines(root, since) {
  const lines = [];
  const notRun = (what, bench) => lines.push(`  ${what}: not measured in this run (${bench} did not run or failed)`);
  const scorer = fresh(root, 'scorer', since);
  if (scorer) {
    const { peak } = scorer;
    lines.push(`  machine's measured peak: ${fmt(peak.gflops, 0)} GFLOP/s fp32, ${fmt(peak.int8Gops, 0)} GOP/s int8 (${peak.describe})`);
    for (const r of scorer.results) {
      const layout = r.padding ? ` (raw: ${r.padding.rawLayout}${r.rawBatched ? `; CLI / raw batched ${fmt(r.ratios.cliOverRawBatched)} wall, ${fmt(r.ratios.cliOverRawBatchedCpu)} per CPU-second` : ''}; padding raw ${fmt(100 * r.padding.raw, 2)}%, CLI ${fmt(100 * r.padding.product, 2)}%)` : '';
      lines.push(`  23.1 scorer ${r.dtype}${layout}: CLI / best raw ONNX Runtime ${fmt(r.ratios.cliOverRaw)} wall, ${fmt(r.ratios.cliOverRawCpu)} per CPU-second (goal >= 0.9: ${verdict(r.ratios.cliOverRaw >= 0.9 && r.ratios.cliOverRawCpu >= 0.9)}); CLI / naive loop ${fmt(r.ratios.cliOverNaive)} wall, ${fmt(r.ratios.cliOverNaiveCpu)} per CPU-second (goal >= 3: ${verdict(r.ratios.cliOverNaive >= 3 && r.ratios.cliOverNaiveCpu >= 3)}); raw at ${fmt(100 * r.shareOfPeak, 1)}% of the measured peak; load ${r.loadAverage.join(' ')}`);
    }
  } else notRun('23.1 scorer', 'scorer.bench.mjs');
  const report = fresh(root, 'report', since);
  if (report) {
    const large = report.runs.at(-1);
    const small = report.runs[0];
    for (const c of ['report', 'compare']) {
      const growth = large[c].cpuMs / large.rows / (small[c].cpuMs / small.rows);
      lines.push(`  23.2 ${c} at ${large.rows} rows: ${fmt(large[c].ms / 1000, 1)} s wall, ${fmt(large[c].cpuMs / 1000, 1)} s CPU, peak ${fmt(large[c].peakRssMb, 0)} MB (goal <= 30 s and <= 1536 MB at 1,000,000: ${verdict(large.rows >= 1e6 && large[c].ms <= 30000 && large[c].peakRssMb <= 1536)}); CPU per row ${fmt(growth)}x that at ${small.rows} (linear <= 1.3: ${verdict(growth <= 1.3)}); load ${large.load}`);
    }
    lines.push(`  23.4 inspect at ${large.rows} rows: ${fmt(large.inspect.cpuMs / large.plainRead.cpuMs)}x a plain read that splits lines, CPU time (goal <= 3x: ${verdict(large.inspect.cpuMs <= 3 * large.plainRead.cpuMs)})`);
  } else notRun('23.2 report/compare and 23.4 inspect', 'report.bench.mjs');
  const scale = fresh(root, 'scale', since);
  if (scale) {
    const at100k = scale.runs.find((r) => r.rows === 100_000);
    const large = scale.runs.at(-1);
    lines.push(`  23.3 score peak RSS at 100,000 rows: ${at100k ? `${fmt(at100k.rssOverFile)}x the file (${fmt(at100k.peakRssMb, 0)} MB; goal < 2x: ${verdict(at100k.rssOverFile < 2)})` : 'not run at that size'}; at ${large.rows} rows: ${fmt(large.rssOverFile)}x (${fmt(large.peakRssMb, 0)} MB), ${fmt(large.ms / 1000, 1)} s wall, ${fmt(large.cpuMs / 1000, 1)} s CPU; load ${large.load}`);
  } else notRun('23.3 score memory', 'scale.bench.mjs');
  const activation = fresh(root, 'activation', since);
  if (activation) {
    const baseline = activation.baseline ? `; ${activation.baseline.name} (one bundle) ${activation.baseline.runningExtensionsActivationMs} ms, ${fmt(activation.runningExtensionsActivationMs / activation.baseline.runningExtensionsActivationMs, 3)}x` : '';
    lines.push(`  23.5 activation in code-server: ${activation.runningExtensionsActivationMs} ms (Running Extensions, median of ${activation.rounds ?? 1}; goal < ${activation.goalMs} ms: ${verdict(activation.runningExtensionsActivationMs < activation.goalMs)}, ${fmt(activation.runningExtensionsActivationMs / activation.goalMs)}x the goal), activate() body ${activation.activateFunctionMs} ms, review features loaded after activation in ${activation.reviewFeaturesLoadMs ?? '?'} ms${baseline}; load ${activation.loadAfter}`);
  } else notRun('23.5 activation', 'activation.bench.mjs (needs the e2e cache)');
  return lines;
}
