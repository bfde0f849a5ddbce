// Runs the built CLI (bin/pisar-review.js) in a child process for the benchmarks; a preloaded hook
// reports the child's peak RSS and CPU time (worker threads included) as it exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Resolves with wall time, the --json document, peak RSS (MB) and CPU time (ms); rejects on a non-zero exit. */
export function runCli(root, args) {
  const report = join(mkdtempSync(join(tmpdir(), 'pisar-bench-cli-')), 'usage.json');
  const hook = join(dirname(report), 'hook.cjs');
  // Worker threads inherit --require: only the main thread writes (a terminated worker's handler could
  // truncate the file as the process ends). resourceUsage() counts every thread of the process.
  writeFileSync(hook, `if (require('worker_threads').isMainThread) process.on('exit', () => { const u = process.resourceUsage(); require('fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify({ maxRss: u.maxRSS, cpu: u.userCPUTime + u.systemCPUTime })); });\n`);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', hook, join(root, 'bin', 'pisar-review.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`pisar-review ${args.join(' ')} exited ${code}: ${err}`));
      const usage = JSON.parse(readFileSync(report, 'utf8'));
      rmSync(dirname(report), { recursive: true, force: true });
      let doc;
      try {
        doc = JSON.parse(out);
      } catch {
        return reject(new Error(`pisar-review ${args.join(' ')} exited 0 without a JSON document on stdout (${out.length} bytes): ${out.slice(0, 200)} | stderr: ${err.slice(0, 2000)}`));
      }
      resolve({ ms, doc, maxRssMb: usage.maxRss / 1024, cpuMs: usage.cpu / 1000 });
    });
  });
}
