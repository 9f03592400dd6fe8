import { uploadBlobPrefix } from '../artworks/artwork.js';
import type { SignedUrls } from '../artworks/signed-urls.js';
import type { BlobStore } from '../blobs/blobs.js';
import { JobError } from '../errors.js';
import { fetchImage, type FetchImageOptions } from './fetch-image.js';

/**
 * Where a job's input bytes come from: an upload of this service (its signed URL) is read from storage, never
 * fetched over the network; any other imageUrl is fetched as untrusted input.
 */
export function inputSource(
  signer: SignedUrls,
  blobs: BlobStore,
  fetchOptions: Omit<FetchImageOptions, 'signal'>,
): (url: string, signal: AbortSignal) => Promise<Buffer> {
  return async (url, signal) => {
    const uploadId = signer.uploadIdOf(url, new Date());
    if (!uploadId) return fetchImage(url, { ...fetchOptions, signal });
    const uploaded = await blobs.get(`${uploadBlobPrefix(uploadId)}image`);
    if (!uploaded) throw new JobError('UPLOAD_NOT_FOUND', 'The uploaded image has expired or was deleted');
    return uploaded.body;
  };
}
