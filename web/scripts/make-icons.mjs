// Draws the PNG app icons (a speech bubble on a rounded blue square) with Node's zlib only.
// Run once when the design changes: node scripts/make-icons.mjs (the PNGs are committed).
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

function icon(size) {
  const s = size / 512;
  const inRound = (x, y, x0, y0, x1, y1, r) => {
    const cx = Math.min(Math.max(x, x0 + r), x1 - r);
    const cy = Math.min(Math.max(y, y0 + r), y1 - r);
    return x >= x0 && x <= x1 && y >= y0 && y <= y1 && (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
  };
  const rows = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let px = 0; px < size; px++) {
      const x = (px + 0.5) / s;
      const y = (py + 0.5) / s;
      let c = [0, 0, 0, 0];
      if (inRound(x, y, 0, 0, 512, 512, 96)) c = [0x2f, 0x5d, 0x8a, 255];
      const bubble = inRound(x, y, 80, 150, 432, 370, 40) || (x >= 150 && x <= 230 && y >= 370 && y <= 430 && x - 150 <= (430 - y) * (80 / 60) + 0);
      if (bubble) c = [255, 255, 255, 255];
      for (const dx of [190, 256, 322]) if ((x - dx) ** 2 + (y - 260) ** 2 <= 22 * 22) c = [0x2f, 0x5d, 0x8a, 255];
      row.set(c, 1 + px * 4);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

for (const size of [192, 512]) writeFileSync(new URL(`../public/icon-${size}.png`, import.meta.url), icon(size));
