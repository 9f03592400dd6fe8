import sharp from 'sharp';
import { JobError } from '../errors.js';
import type { RgbImage } from '../refine/image.js';

export interface DecodedImage {
  image: RgbImage;
  /** The container format sharp found in the bytes (jpeg, png, webp, ...). */
  format: string;
}

export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'heif', 'tiff', 'gif'] as const;

/**
 * Bytes to upright 8-bit sRGB pixels: EXIF orientation applied, CMYK, grayscale and 16-bit converted, the first
 * frame of an animation, alpha kept when there is one. The format is read from the bytes, never trusted from
 * a header or a file name.
 */
export async function decodeImage(bytes: Buffer, maxPixels: number): Promise<DecodedImage> {
  let format: string | undefined;
  let hasAlpha = false;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    format = meta.format;
    hasAlpha = meta.hasAlpha === true;
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > maxPixels) {
      throw new JobError(
        'IMAGE_TOO_MANY_PIXELS',
        `Expected at most ${maxPixels} pixels but the image is ${meta.width}x${meta.height} (${pixels})`,
      );
    }
  } catch (error) {
    if (error instanceof JobError) throw error;
    throw new JobError(
      'NOT_AN_IMAGE',
      `Expected a JPEG, PNG, WebP, AVIF, TIFF or GIF image but the bytes are not one (${(error as Error).message})`,
    );
  }
  if (!format || !(ACCEPTED_FORMATS as readonly string[]).includes(format)) {
    throw new JobError(
      'UNSUPPORTED_IMAGE_FORMAT',
      `Expected a JPEG, PNG, WebP, AVIF, TIFF or GIF image but received ${format ?? 'an unknown format'}`,
    );
  }
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
