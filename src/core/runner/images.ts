import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { imagePathProblem } from '../dataset/findings';
import type { ImageRef } from '../dataset/types';
import { openSafe, UnsafeFileError, unsafeFileProblem } from '../store/safeFile';

/** Largest image sent inline as a data URL (OpenAI accepts up to 20 MB per image). */
export const DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024;

/** An image that cannot be sent; the row is marked failed with this reason and no call is made. */
export class ImageError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = 'ImageError';
  }
}

const SIGNATURES: { mime: string; test: (b: Buffer) => boolean }[] = [
  { mime: 'image/png', test: (b) => b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/jpeg', test: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/gif', test: (b) => b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6)) },
  { mime: 'image/webp', test: (b) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP' },
];

/** The image type from its first bytes (never from the file name), or undefined. */
export function sniffImageType(bytes: Buffer): string | undefined {
  return SIGNATURES.find((s) => s.test(bytes))?.mime;
}

/**
 * The URL to send for a row's image: http(s) and data URLs as written, a local path (relative to the
 * dataset's folder, and staying inside it after symlinks) read, checked and turned into a data URL.
 */
export async function imageUrlFor(ref: ImageRef, datasetFile: string, maxBytes = DEFAULT_MAX_IMAGE_BYTES): Promise<string> {
  if (ref.kind === 'url') {
    if (!/^https?:\/\//i.test(ref.value.trim())) throw new ImageError(`image URL ${JSON.stringify(ref.value.slice(0, 60))} is not http(s); it was not sent`, 'Use an http(s) URL, a base64 data URL of a PNG, JPEG, GIF or WebP image, or a path inside the dataset\'s folder.');
    return ref.value;
  }
  if (ref.kind === 'data') {
    // Only base64 raster images are sent: an SVG (which can fetch an external href), text/html or a
    // percent-encoded data URL is not an image a model should be handed.
    const head = /^data:([^;,]*)((?:;[^;,]*)*),/i.exec(ref.value);
    const type = head?.[1].trim().toLowerCase() ?? '';
    if (!head || !/;base64$/i.test(head[2]) || !/^image\/(png|jpe?g|gif|webp)$/.test(type)) {
      throw new ImageError(`inline image ${JSON.stringify(ref.value.slice(0, 40))}… is not a base64 PNG, JPEG, GIF or WebP data URL${type ? ` (it is ${JSON.stringify(type)}${head && !/;base64$/i.test(head[2]) ? ', not base64' : ''})` : ''}; it was not sent`, 'Give the image as data:image/png;base64,… (or a file inside the dataset\'s folder).');
    }
    const approxBytes = Math.floor((ref.value.length - ref.value.indexOf(',') - 1) * 0.75);
    if (approxBytes > maxBytes) {
      throw new ImageError(`inline image is ${formatBytes(approxBytes)}, over the ${formatBytes(maxBytes)} limit`, 'Use a smaller image.');
    }
    // Inline bytes (a data URL, Hugging Face {bytes}) are checked like files: only real images are sent.
    const comma = ref.value.indexOf(',');
    if (!sniffImageType(Buffer.from(ref.value.slice(comma + 1, comma + 1 + 64), 'base64'))) {
      throw new ImageError('inline image is not a PNG, JPEG, GIF or WebP image (checked by its first bytes)', 'Fix the row\'s image bytes or data URL.');
    }
    return ref.value;
  }
  const problem = imagePathProblem(datasetFile, ref);
  if (problem) throw new ImageError(problem, 'Move the image into the dataset\'s folder and refer to it by a relative path.');
  const folder = path.dirname(path.resolve(datasetFile));
  const resolved = path.resolve(folder, ref.value);
  let real: string;
  let realFolder: string;
  try {
    [real, realFolder] = await Promise.all([fsp.realpath(resolved), fsp.realpath(folder)]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageError(`image "${ref.value}" cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? String(err)})`, `Check the path; it is relative to ${folder}.`);
  }
  const rel = path.relative(realFolder, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ImageError(`image "${ref.value}" is a link to a file outside the dataset's folder; it will not be read`, 'Copy the image into the dataset\'s folder instead of linking to it.');
  }
  // Checked before opening (a FIFO or a device would block the run), then again on the fd; a hard link
  // may be a second name of a file outside the folder, so it is refused like a symlink out.
  let handle: fsp.FileHandle;
  try {
    const problem = unsafeFileProblem(real);
    if (problem) throw problem;
    handle = await openSafe(real, 'read');
  } catch (err) {
    if (err instanceof UnsafeFileError) throw new ImageError(`image "${ref.value}" ${err.reason}`, 'Point the row at an ordinary image file inside the dataset\'s folder (copy it there; no links).');
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (stat.size > maxBytes) {
      throw new ImageError(`image "${ref.value}" is ${formatBytes(stat.size)}, over the ${formatBytes(maxBytes)} limit`, 'Resize or recompress the image.');
    }
    const bytes = await handle.readFile();
    const mime = sniffImageType(bytes);
    if (!mime) {
      throw new ImageError(`"${ref.value}" is not a PNG, JPEG, GIF or WebP image (checked by its first bytes)`, 'Convert it to PNG or JPEG, or fix the row\'s image path.');
    }
    return `data:${mime};base64,${bytes.toString('base64')}`;
  } finally {
    await handle.close();
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}
