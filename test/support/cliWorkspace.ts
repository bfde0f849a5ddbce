import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { jsonl, makeTempDir, repoRoot } from './files';
import { FakeOpenAIServer, type FakeOpenAIOptions } from './openaiServer';

/** The project's tiny embedding model (test/fixtures/models/tiny): real ONNX inference, in milliseconds. */
export const TINY_MODEL = path.join(repoRoot, 'test', 'fixtures', 'models', 'tiny');

/** A dataset written for a CLI test, its config, and the flags every `score` of it passes. */
export interface CliDataset {
  readonly data: string;
  readonly config: string;
  /** `<data> --config <config> --embedding-model <tiny> --cache-dir <folder>/cache` */
  readonly common: string[];
}

/** One CLI test's world: a fresh folder, the fake OpenAI server it starts, a dataset and config in the folder. */
export interface CliWorkspace {
  /** This test's folder (a new one for each test, removed after it). */
  readonly dir: string;
  /** Starts the fake OpenAI server on 127.0.0.1 for this test; it is closed after the test. */
  startServer(options?: FakeOpenAIOptions): Promise<FakeOpenAIServer>;
  /** Writes `rows` as data.jsonl and `{ models }` as config.json in the folder. */
  dataset(rows: readonly unknown[], models: readonly Record<string, unknown>[]): Promise<CliDataset>;
}

/**
 * The fake-server + temp-dir + CLI setup the CLI tests share. Call it in a describe: it registers the
 * beforeEach that makes the folder and the afterEach that closes the server and removes the folder.
 */
export function useCliWorkspace(prefix: string): CliWorkspace {
  let tmp: ReturnType<typeof makeTempDir> | undefined;
  let server: FakeOpenAIServer | undefined;
  beforeEach(() => {
    tmp = makeTempDir(prefix);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    tmp?.cleanup();
    tmp = undefined;
  });
  const dir = () => {
    if (!tmp) throw new Error('useCliWorkspace: the folder exists only while a test runs');
    return tmp.dir;
  };
  return {
    get dir() {
      return dir();
    },
    async startServer(options) {
      await server?.close();
      server = await FakeOpenAIServer.start(options);
      return server;
    },
    async dataset(rows, models) {
      const data = path.join(dir(), 'data.jsonl');
      await fsp.writeFile(data, jsonl(rows));
      const config = path.join(dir(), 'config.json');
      await fsp.writeFile(config, JSON.stringify({ models }));
      return { data, config, common: [data, '--config', config, '--embedding-model', TINY_MODEL, '--cache-dir', path.join(dir(), 'cache')] };
    },
  };
}
