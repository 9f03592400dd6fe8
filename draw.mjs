import sharp from 'sharp';
export async function draw(file, out, sets, crop) {
  const meta = await sharp(file).metadata();
  const rects = sets.flatMap(({ boxes, color }) => boxes.map(b => `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" fill="none" stroke="${color}" stroke-width="2"/>`));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${meta.width}" height="${meta.height}">${rects.join('')}</svg>`;
  let img = sharp(file).rotate().composite([{ input: Buffer.from(svg) }]);
  let buf = await img.png().toBuffer();
  if (crop) buf = await sharp(buf).extract(crop).png().toBuffer();
  await sharp(buf).toFile(out);
}
