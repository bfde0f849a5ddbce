import { parseArgs } from 'node:util';
import { FakeOpenAIServer, type FaultKind } from './openaiServer';

/**
 * Runs the fake OpenAI server as its own process for e2e tests and benchmarks:
 *   node out/test/support/openaiServerMain.js --port 0 [--latency 50] [--fault-rate 0.1]
 *     [--fault-kinds 429,500,reset,slow] [--slow-ms 5000] [--retry-after 1] [--max-concurrent 4] [--seed 1]
 *     [--key sk-test] [--models a,b]
 * Prints its baseUrl (http://127.0.0.1:<port>/v1) as the first line of stdout, then serves until
 * SIGTERM/SIGINT. GET /_stats returns counts as JSON; POST /_reset clears them.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      latency: { type: 'string', default: '0' },
      'fault-rate': { type: 'string', default: '0' },
      'fault-kinds': { type: 'string' },
      'slow-ms': { type: 'string' },
      'retry-after': { type: 'string' },
      'max-concurrent': { type: 'string' },
      seed: { type: 'string', default: '1' },
      key: { type: 'string' },
      models: { type: 'string' },
    },
  });
  const server = await FakeOpenAIServer.start({
    port: Number(values.port),
    latencyMs: Number(values.latency),
    faultRate: Number(values['fault-rate']),
    faultKinds: values['fault-kinds']?.split(',').map((k) => k.trim() as FaultKind),
    slowMs: values['slow-ms'] ? Number(values['slow-ms']) : undefined,
    retryAfterSec: values['retry-after'] ? Number(values['retry-after']) : undefined,
    maxConcurrent: values['max-concurrent'] ? Number(values['max-concurrent']) : undefined,
    seed: Number(values.seed),
    requireKey: values.key,
    models: values.models?.split(',').map((m) => m.trim()),
  });
  server.recordRequests = false;
  process.stdout.write(server.url + '\n');
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`openaiServerMain: ${(err as Error).message}\n`);
  process.exit(1);
});
