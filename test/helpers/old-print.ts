import sharp from 'sharp';

/**
 * A photo made to look like a damaged old print: grey, sepia-toned, its contrast cut (to a third by default),
 * slightly blurred, scratched with light and dark lines, saved as a JPEG.
 */
export async function damagedOldPrint(file: string, damage = { contrast: 0.33, scratches: 6, opacity: 0.6 }): Promise<Buffer> {
  const { width, height } = await sharp(file).metadata();
  const w = width ?? 0;
  const h = height ?? 0;
  const scratches = Array.from({ length: damage.scratches }, (_, i) => {
    const x1 = (i * 97) % w;
    const x2 = (x1 + 160 + i * 37) % w;
    const colour = i % 3 === 0 ? '#1a140c' : '#f4ecd8';
    return `<line x1="${x1}" y1="${(i * 53) % h}" x2="${x2}" y2="${(i * 131 + 200) % h}" stroke="${colour}" stroke-width="${1 + (i % 2)}" stroke-opacity="${damage.opacity}"/>`;
  }).join('');
  const toned = await sharp(file)
    .greyscale()
    .linear(damage.contrast, 128 * (1 - damage.contrast))
    .toColourspace('srgb')
    .recomb([
      [1.07, 0, 0],
      [0, 0.94, 0],
      [0, 0, 0.72],
    ])
    .blur(1)
    .png()
    .toBuffer();
  return sharp(toned)
    .composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${scratches}</svg>`) }])
    .jpeg({ quality: 70 })
    .toBuffer();
}
