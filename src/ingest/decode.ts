import sharp, { type Metadata } from 'sharp';
import { JobError } from '../errors.js';
import { MAX_ASPECT_RATIO } from '../limits.js';
import type { RgbImage } from '../refine/image.js';

export interface DecodedImage {
  image: RgbImage;
  /** The container format sharp found in the bytes (jpeg, png, webp, ...). */
  format: string;
}

export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'heif', 'tiff', 'gif'] as const;

export interface ImageInfo {
  format: string;
  width: number;
  height: number;
  hasAlpha: boolean;
}

/**
 * What the bytes are, from the bytes alone (never a header or a file name): one of the accepted formats,
 * within the pixel cap and the aspect ratio bound (MAX_ASPECT_RATIO says why), or a JobError saying why not. Reads the header only; decodes no pixels.
 */
export async function inspectImage(bytes: Buffer, maxPixels: number): Promise<ImageInfo> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new JobError(
      'NOT_AN_IMAGE',
      `Expected a JPEG, PNG, WebP, AVIF, TIFF or GIF image but the bytes are not one (${(error as Error).message})`,
    );
  }
  const { format, width = 0, height = 0 } = meta;
  if (!format || !(ACCEPTED_FORMATS as readonly string[]).includes(format)) {
    throw new JobError(
      'UNSUPPORTED_IMAGE_FORMAT',
      `Expected a JPEG, PNG, WebP, AVIF, TIFF or GIF image but received ${format ?? 'an unknown format'}`,
    );
  }
  if (width * height > maxPixels) {
    throw new JobError(
      'IMAGE_TOO_MANY_PIXELS',
      `Expected at most ${maxPixels} pixels but the image is ${width}x${height} (${width * height})`,
    );
  }
  const [long, short] = width >= height ? [width, height] : [height, width];
  if (long > MAX_ASPECT_RATIO * short) {
    throw new JobError(
      'IMAGE_TOO_ELONGATED',
      `Expected an aspect ratio of at most ${MAX_ASPECT_RATIO}:1 but received ${width}x${height} (${(long / Math.max(1, short)).toFixed(1)}:1)`,
    );
  }
  return { format, width, height, hasAlpha: meta.hasAlpha === true };
}

/**
 * Bytes to upright 8-bit sRGB pixels: EXIF orientation applied, CMYK, grayscale and 16-bit converted, the first
 * frame of an animation, alpha kept when there is one. The format is read from the bytes, never trusted from
 * a header or a file name.
 */
export async function decodeImage(bytes: Buffer, maxPixels: number): Promise<DecodedImage> {
  const { format, hasAlpha } = await inspectImage(bytes, maxPixels);
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, pages: 1, failOn: 'error' })
      .rotate()
      .toColourspace('srgb');
    pipeline = hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return {
      image: {
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        width: info.width,
        height: info.height,
        channels: info.channels === 4 ? 4 : 3,
      },
      format,
    };
  } catch (error) {
    throw new JobError('IMAGE_DECODE_FAILED', `The ${format} image could not be decoded: ${(error as Error).message}`);
  }
}
