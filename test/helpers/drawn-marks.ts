import sharp from 'sharp';
import type { RgbImage } from '../../src/refine/image.js';

const SKIN = '#d9a384';

/**
 * Logo-like marks, tattoo black, drawn on a skin-coloured forearm across a grey-blue shirt: shapes with two
 * "eyes" and a "mouth" (what fools face detectors), and plain ones. Each is drawn twice, upright and turned.
 */
export const MARKS: Record<string, string> = {
  // BlazeFace and the face mesh both take this one for a face (mesh confidence 0.94-0.99): its flat nose gives it away.
  'line-drawn smiley':
    '<circle r="60" fill="none" stroke="black" stroke-width="8"/><circle cx="-22" cy="-18" r="9"/><circle cx="22" cy="-18" r="9"/><path d="M -32 14 Q 0 48 32 14" fill="none" stroke="black" stroke-width="8"/>',
  'filled disc with two eye holes and a smile': `<circle r="60"/><circle cx="-22" cy="-18" r="10" fill="${SKIN}"/><circle cx="22" cy="-18" r="10" fill="${SKIN}"/><path d="M -32 14 Q 0 48 32 14" fill="none" stroke="${SKIN}" stroke-width="8"/>`,
  'two dots over a bar': '<circle cx="-25" cy="-15" r="12"/><circle cx="25" cy="-15" r="12"/><rect x="-25" y="25" width="50" height="10"/>',
  'ring around a dot': '<circle r="50" fill="none" stroke="black" stroke-width="14"/><circle r="14"/>',
  star: '<polygon points="0,-60 14,-18 58,-18 22,8 36,50 0,24 -36,50 -22,8 -58,-18 -14,-18"/>',
  'tribal swooshes': '<path d="M -60 0 C -30 -50 30 -50 60 0 C 30 -20 -30 -20 -60 0 Z"/><path d="M -40 30 C -10 0 10 0 40 30 C 10 15 -10 15 -40 30 Z"/>',
  skull: `<ellipse cx="0" cy="-10" rx="50" ry="55"/><ellipse cx="-20" cy="-15" rx="13" ry="15" fill="${SKIN}"/><ellipse cx="20" cy="-15" rx="13" ry="15" fill="${SKIN}"/><polygon points="0,5 -7,20 7,20" fill="${SKIN}"/><rect x="-25" y="35" width="50" height="22"/>`,
};

/** A 640x480 picture of `mark` drawn `size` px wide on the arm, slightly blurred like ink under skin. */
export async function drawnMark(mark: string, size: number): Promise<RgbImage> {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#6a7a8a"/>' +
    `<path d="M -20 150 Q 320 90 660 170 L 660 360 Q 320 300 -20 350 Z" fill="${SKIN}"/>` +
    `<g transform="translate(200 250) scale(${size / 140})">${mark}</g>` +
    `<g transform="translate(470 240) scale(${size / 200}) rotate(12)">${mark}</g></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).blur(1.2).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}
