import * as fs from 'node:fs';
import { DatasetReadError } from './errors';

/**
 * True when text that an editor took for JSON (a `.json` file) is JSONL: its first two non-blank
 * lines are each a whole JSON object. A pretty-printed document or a one-line JSON file is not.
 */
export function looksLikeJsonl(text: string): boolean {
  let objects = 0;
  let start = 0;
  for (let n = 0; n < 50 && start < text.length && objects < 2; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    if (!line.startsWith('{') || !line.endsWith('}')) return false;
    try {
      const value: unknown = JSON.parse(line.replace(/^\uFEFF/, ''));
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    } catch {
      return false;
    }
    objects++;
  }
  return objects >= 2;
}

/** The first KiB of a file, to sniff its format. */
export async function readHead(file: string): Promise<Buffer> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const buffer = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DatasetReadError(file, `${file}: cannot be read (${code ?? String(error)})`, 'Check the file\'s permissions.');
  } finally {
    await handle?.close();
  }
}

/** gzip, by its magic bytes (whatever the file's name). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** UTF-16 by its BOM, or by the zero bytes of ASCII text written as UTF-16 without one. */
export function utf16Of(head: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head.length >= 4 && head[0] !== 0 && head[1] === 0 && head[2] !== 0 && head[3] === 0) return 'utf-16le';
  if (head.length >= 4 && head[0] === 0 && head[1] !== 0 && head[2] === 0 && head[3] !== 0) return 'utf-16be';
  return undefined;
}

/** The finding text for a UTF-16 file (read by converting it). */
export function utf16Note(encoding: 'utf-16le' | 'utf-16be'): [message: string, fix: string] {
  return [
    `the file is ${encoding.toUpperCase()}; it was read by converting it to UTF-8 (inline scores in the editor need UTF-8)`,
    'Save the file as UTF-8 (VS Code: "Save with Encoding" > UTF-8; iconv -f UTF-16 -t UTF-8).',
  ];
}

/** A file that is plainly not JSONL text (an archive, Parquet, a spreadsheet, binary): refused with what to do. */
export function refusedFormat(file: string, head: Uint8Array, where = ''): DatasetReadError | undefined {
  const starts = (...bytes: number[]) => head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
  const what = (kind: string, fix: string) => new DatasetReadError(file, `${file}: ${where ? `${where}: ` : ''}is ${kind}, not JSONL text (one JSON object a line)`, fix);
  if (starts(0x50, 0x41, 0x52, 0x31)) return what('a Parquet file', 'Convert it to JSONL, e.g. in Python: pandas.read_parquet(path).to_json(out, orient="records", lines=True, force_ascii=False).');
  if (starts(0x50, 0x4b, 0x03, 0x04)) return what('a zip archive (or an .xlsx/.docx file)', 'Unzip it and open the .jsonl inside, or export the sheet as JSONL.');
  if (starts(0x42, 0x5a, 0x68)) return what('bzip2-compressed', 'Decompress it first (bunzip2 -k <file>); gzip (.gz) files are read as they are.');
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return what('xz-compressed', 'Decompress it first (xz -dk <file>); gzip (.gz) files are read as they are.');
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return what('zstd-compressed', 'Decompress it first (zstd -d <file>); gzip (.gz) files are read as they are.');
  if (head.length > 0 && !utf16Of(head) && !isGzip(head) && head.includes(0)) {
    return what('binary data', 'Open the JSONL text file itself (one JSON object a line, UTF-8).');
  }
  return undefined;
}
