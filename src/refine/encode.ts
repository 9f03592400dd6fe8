import sharp from 'sharp';
import type { OutputFormat } from '../artworks/artwork.js';
import { JobError } from '../errors.js';
import { JPEG_MAX_SIDE, WEBP_MAX_SIDE } from '../limits.js';
import type { RgbImage } from './image.js';


const tooLargeForWebp = (width: number, height: number): boolean => width > WEBP_MAX_SIDE || height > WEBP_MAX_SIDE;

/**
 * Checked right after decoding, before any work: an explicit `webp` that cannot hold the image fails at once
 * with a code that says so (instead of an internal error after the whole refinement). `auto` is WebP when it
 * fits and PNG (lossless, no side limit that a pixel-capped image reaches) when it does not: the result's
 * content type and file extension say which.
 */
export function checkOutputFits(format: OutputFormat, width: number, height: number): void {
  if (format === 'webp' && tooLargeForWebp(width, height)) {
    throw new JobError(
      'IMAGE_TOO_LARGE_FOR_WEBP',
      `Expected at most ${WEBP_MAX_SIDE} pixels a side for outputFormat webp but the image is ${width}x${height}; ask for png, jpeg or auto`,
    );
  }
  if (format === 'jpeg' && (width > JPEG_MAX_SIDE || height > JPEG_MAX_SIDE)) {
    throw new JobError(
      'IMAGE_TOO_LARGE_FOR_JPEG',
      `Expected at most ${JPEG_MAX_SIDE} pixels a side for outputFormat jpeg but the image is ${width}x${height}; ask for png or auto`,
    );
  }
}

export interface EncodedImage {
  body: Buffer;
  contentType: string;
  extension: string;
}

/**
 * `auto` is WebP, as in the published API (PNG when the image is wider or taller than WebP allows); PNG is
 * lossless, so only the faces' pixels differ from the input.
 */
export async function encodeImage(image: RgbImage, format: OutputFormat): Promise<EncodedImage> {
  const pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  switch (format === 'auto' && tooLargeForWebp(image.width, image.height) ? 'png' : format) {
    case 'png':
      return { body: await pipeline.png({ compressionLevel: 6 }).toBuffer(), contentType: 'image/png', extension: 'png' };
    case 'jpeg':
      return {
        body: await pipeline.jpeg({ quality: 92, chromaSubsampling: '4:4:4' }).toBuffer(),
        contentType: 'image/jpeg',
        extension: 'jpg',
      };
    case 'auto':
    case 'webp':
      return { body: await pipeline.webp({ quality: 92 }).toBuffer(), contentType: 'image/webp', extension: 'webp' };
  }
}
