// Writes the sample's placeholder images: tiny 8x8 solid-colour PNGs, so image rows work offline.
// Usage: node samples/make-images.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'images');

/** Image name -> RGB colour. Names match the `image` fields in make-sample.mjs. */
export const IMAGES = {
  'warehouse-amber.png': [255, 191, 0],
  'kitchen-red.png': [200, 40, 40],
  'junction-grey.png': [128, 128, 128],
  'field-green.png': [60, 160, 60],
  'pool-teal.png': [0, 128, 128],
  'store-purple.png': [120, 60, 160],
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A width x height 8-bit RGB PNG filled with one colour. */
export function solidPng([r, g, b], width = 8, height = 8) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour RGB
  // bytes 10-12: compression, filter, interlace = 0
  const row = Buffer.alloc(1 + width * 3); // leading 0 = filter type None
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync(outDir, { recursive: true });
for (const [name, rgb] of Object.entries(IMAGES)) {
  const png = solidPng(rgb);
  writeFileSync(join(outDir, name), png);
  console.log(`samples/images/${name} (${png.length} bytes)`);
}
