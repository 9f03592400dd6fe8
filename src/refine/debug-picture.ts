import sharp from 'sharp';
import type { Point } from './geometry.js';
import type { RgbImage } from './image.js';
import type { RefinedImage } from './pipeline.js';

const raw = (image: RgbImage) =>
  sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });

const polyline = (points: Point[], colour: string, width: number): string =>
  `<polygon points="${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="${width}"/>`;

/**
 * Before and after, side by side. On the left: where the refinement was blended in (red tint, as strong as the
 * mask), each face's detector box (yellow), its oval (green), eyes, brows and lips (cyan), and its diagnosis.
 */
export async function renderDebugPicture(source: RgbImage, refined: RefinedImage): Promise<Buffer> {
  const { width, height } = source;
  const tint = Buffer.alloc(width * height * 4);
  for (let i = 0; i < refined.coverage.length; i++) {
    const c = refined.coverage[i] as number;
    if (c <= 0) continue;
    tint[i * 4] = 255;
    tint[i * 4 + 3] = Math.round(90 * c);
  }
  const stroke = Math.max(1, Math.round(Math.max(width, height) / 600));
  const shapes = refined.faces
    .map(({ detected, landmarks, diagnosis }) => {
      const { x, y, width: w, height: h } = detected.box;
      const features = [landmarks.rightEye, landmarks.leftEye, landmarks.rightBrow, landmarks.leftBrow, landmarks.lips];
      const label =
        `noise ${diagnosis.noiseSigma.toFixed(1)} block ${diagnosis.blockiness.toFixed(2)} ` +
        `blur ${diagnosis.blurSigma.toFixed(2)}${landmarks.fromMesh ? '' : ' (no mesh)'}`;
      return [
        `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="yellow" stroke-width="${stroke}"/>`,
        polyline(landmarks.oval, 'lime', stroke),
        ...features.map((f) => polyline(f, 'cyan', stroke)),
        `<text x="${x}" y="${Math.max(10, y - 3 * stroke)}" font-size="${Math.max(9, Math.round(w / 16))}" fill="yellow" font-family="sans-serif">${label}</text>`,
      ].join('');
    })
    .join('');
  const overlay = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}</svg>`);
  const before = await raw(source)
    .composite([{ input: tint, raw: { width, height, channels: 4 } }, { input: overlay }])
    .png()
    .toBuffer();
  const after = await raw(refined.image).png().toBuffer();
  const gap = 8;
  return sharp({ create: { width: width * 2 + gap, height, channels: 3, background: '#ffffff' } })
    .composite([
      { input: before, left: 0, top: 0 },
      { input: after, left: width + gap, top: 0 },
    ])
    .png()
    .toBuffer();
}
