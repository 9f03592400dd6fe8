import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Artwork } from './artwork.js';

/** Where clients fetch a result image from: the URLs put in `results`. */
export interface ResultLinks {
  url(artwork: Artwork, index: number): Promise<string>;
}

/**
 * Signed, expiring URLs of this service (result images and uploaded images): anyone holding one may fetch that
 * one image until it expires, without the API key. The signature is an HMAC over what the URL names and its
 * expiry, keyed by a secret the store keeps, so every API process signs and verifies alike.
 */
export class SignedUrls implements ResultLinks {
  constructor(
    private readonly publicUrl: string,
    private readonly secret: string,
  ) {}

  private signature(artworkId: string, index: number, expires: number): string {
    return createHmac('sha256', this.secret).update(`${artworkId}/${index}/${expires}`).digest('base64url');
  }

  /** Valid until the artwork's retention ends, so the URL is stable for the artwork's whole life. */
  async url(artwork: Artwork, index: number): Promise<string> {
    const expires = Math.floor(Date.parse(artwork.expiresAt) / 1000);
    const signature = this.signature(artwork.id, index, expires);
    return `${this.publicUrl}/v2/artworks/${artwork.id}/results/${index}?expires=${expires}&signature=${signature}`;
  }

  verify(artworkId: string, index: number, expires: number, signature: string, now: Date): boolean {
    return this.check(this.signature(artworkId, index, expires), expires, signature, now);
  }

  /** Uploaded images get URLs of the same kind, accepted as `imageUrl` and shown by the web page. */
  uploadUrl(uploadId: string, expiresAt: Date): string {
    const expires = Math.floor(expiresAt.getTime() / 1000);
    return `${this.publicUrl}/v2/uploads/${uploadId}?expires=${expires}&signature=${this.uploadSignature(uploadId, expires)}`;
  }

  verifyUpload(uploadId: string, expires: number, signature: string, now: Date): boolean {
    return this.check(this.uploadSignature(uploadId, expires), expires, signature, now);
  }

  /** The upload id, when `url` is a valid, unexpired upload URL of this service. */
  uploadIdOf(url: string, now: Date): string | null {
    const prefix = `${this.publicUrl}/v2/uploads/`;
    if (!url.startsWith(prefix)) return null;
    const parsed = new URL(url);
    const id = parsed.pathname.split('/').pop() ?? '';
    const ok = this.verifyUpload(id, Number(parsed.searchParams.get('expires')), parsed.searchParams.get('signature') ?? '', now);
    return ok ? id : null;
  }

  private uploadSignature(uploadId: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`upload/${uploadId}/${expires}`).digest('base64url');
  }

  private check(expectedSignature: string, expires: number, signature: string, now: Date): boolean {
    if (!Number.isInteger(expires) || expires * 1000 < now.getTime()) return false;
    const expected = Buffer.from(expectedSignature);
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
