import sharp from 'sharp';

/**
 * A real photo made into a caricature's proportions: everything below `fromY` (a line through the eyes) squashed
 * vertically by `squash`, so the mouth and chin move up towards the eyes as on a doll or a caricature figurine,
 * while the eyes, nose shading and skin stay a real face's. Returns the PNG.
 */
export async function caricature(file: string, fromY: number, squash: number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(file).metadata();
  const top = await sharp(file).extract({ left: 0, top: 0, width, height: fromY }).png().toBuffer();
  const lowerHeight = Math.max(1, Math.round((height - fromY) * squash));
  const lower = await sharp(file)
    .extract({ left: 0, top: fromY, width, height: height - fromY })
    .resize(width, lowerHeight, { fit: 'fill' })
    .png()
    .toBuffer();
  return sharp({ create: { width, height: fromY + lowerHeight, channels: 3, background: '#000' } })
    .composite([
      { input: top, top: 0, left: 0 },
      { input: lower, top: fromY, left: 0 },
    ])
    .png()
    .toBuffer();
}
