import * as fs from 'node:fs';
import { TextDecoder } from 'node:util';
import * as zlib from 'node:zlib';
import { DatasetReadError } from './errors';
import { isGzip, refusedFormat, utf16Note, utf16Of } from './format';
import type { Indexer } from './indexer';
import { BlockSource } from './source';

/** Most bytes a gzip (or UTF-16) dataset may take once decompressed or converted to UTF-8: 1 GiB. */
export const DEFAULT_MAX_INFLATED_BYTES = 1 << 30;

/** Where a person sets the limit, for the error that names it. */
export const MAX_INFLATED_SETTING = 'pisarReview.dataset.maxInflatedBytes (CLI: --max-inflated-bytes, or "dataset": {"maxInflatedBytes": …} in the config)';

const CHUNK_BYTES = 1 << 20;

/**
 * Streams a gzip-compressed or UTF-16 file through the indexer (the same line reader as a plain file),
 * keeping the UTF-8 bytes in memory blocks for rows read later. Every gzip member is read. Past
 * `maxInflatedBytes` the read stops with an error naming the limit and its setting: a small file
 * that inflates to gigabytes (a gzip bomb) never fills the memory.
 */
export async function indexDecoded(file: string, head: Uint8Array, indexer: Indexer, maxInflatedBytes = DEFAULT_MAX_INFLATED_BYTES): Promise<BlockSource> {
  const gzip = isGzip(head);
  const blocks = new BlockSource();
  const raw = fs.createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const gunzip = gzip ? zlib.createGunzip({ chunkSize: 256 * 1024 }) : undefined;
  const stream: NodeJS.ReadableStream = gunzip ? raw.pipe(gunzip) : raw;
  if (gunzip) raw.once('error', (error) => gunzip.destroy(error));
  let decoder: TextDecoder | undefined;
  let inflated = 0;
  let first = true;
  const where = gzip ? 'decompresses' : 'converted to UTF-8 takes';
  const tooBig = () =>
    new DatasetReadError(
      file,
      `${file}: ${where} to more than ${maxInflatedBytes} bytes, the limit ${MAX_INFLATED_SETTING}; it was not read (no row of it is shown)`,
      gzip
        ? `Decompress it yourself (gunzip -k <file>) and open the plain .jsonl, which is streamed from disk with no such limit; or, if you trust the file and have the memory, raise ${MAX_INFLATED_SETTING}.`
        : `Save it as UTF-8 (iconv -f UTF-16 -t UTF-8), which is streamed from disk with no such limit; or raise ${MAX_INFLATED_SETTING}.`,
    );
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        if (gzip) {
          const refused = refusedFormat(file, chunk.subarray(0, 16), 'inside the gzip file');
          if (refused) throw refused;
          indexer.note(`the file is gzip-compressed; it was decompressed as it was read (held in memory, at most ${maxInflatedBytes} bytes)`);
        }
        const encoding = utf16Of(chunk.subarray(0, 4));
        if (encoding) {
          decoder = new TextDecoder(encoding); // drops the BOM
          indexer.note(...utf16Note(encoding));
        }
      }
      const utf8 = decoder ? Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8') : chunk;
      inflated += utf8.length;
      if (inflated > maxInflatedBytes) throw tooBig();
      blocks.append(utf8);
      indexer.push(utf8);
    }
    if (decoder) {
      const rest = Buffer.from(decoder.decode(), 'utf8');
      inflated += rest.length;
      if (inflated > maxInflatedBytes) throw tooBig();
      blocks.append(rest);
      indexer.push(rest);
    }
  } catch (error) {
    raw.destroy();
    gunzip?.destroy();
    if (error instanceof DatasetReadError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (gzip && code !== 'EACCES' && code !== 'EISDIR' && code !== 'ENOENT') {
      throw new DatasetReadError(file, `${file}: is gzip-compressed but cannot be decompressed (${(error as Error).message})`, 'Check the file is complete (re-download it), or decompress it yourself: gunzip -k <file>.');
    }
    throw new DatasetReadError(file, `${file}: cannot be read (${code ?? String(error)})`, 'Check the file\'s permissions.');
  }
  return blocks;
}
