import sharp from 'sharp';
import type { OutputFormat } from '../artworks/artwork.js';
import type { RgbImage } from './image.js';

export interface EncodedImage {
  body: Buffer;
  contentType: string;
  extension: string;
}

/** `auto` is WebP, as in the published API; PNG is lossless, so only the faces' pixels differ from the input. */
export async function encodeImage(image: RgbImage, format: OutputFormat): Promise<EncodedImage> {
  const pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  switch (format) {
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
