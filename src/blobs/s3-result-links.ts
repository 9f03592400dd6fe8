import type { Artwork } from '../artworks/artwork.js';
import type { ResultLinks } from '../artworks/signed-urls.js';
import type { S3BlobStore } from './s3.js';

/** SigV4 presigned URLs cannot live longer than 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** With results in S3, clients download them straight from the bucket through presigned GET URLs. */
export class S3ResultLinks implements ResultLinks {
  constructor(private readonly blobs: S3BlobStore) {}

  async url(artwork: Artwork, index: number): Promise<string> {
    const result = artwork.results[index];
    if (!result) throw new Error(`artwork ${artwork.id} has no result ${index}`);
    const left = Math.floor((Date.parse(artwork.expiresAt) - Date.now()) / 1000);
    return this.blobs.presignedUrl(result.key, Math.max(1, Math.min(MAX_PRESIGN_SECONDS, left)));
  }
}
