import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring result URLs: anyone holding one may fetch that one image until it expires, without the API
 * key. The signature is an HMAC over artwork id, result index and expiry, keyed by a secret the store keeps,
 * so every API process signs and verifies alike.
 */
export class ResultUrlSigner {
  constructor(
    private readonly publicUrl: string,
    private readonly secret: string,
  ) {}

  private signature(artworkId: string, index: number, expires: number): string {
    return createHmac('sha256', this.secret).update(`${artworkId}/${index}/${expires}`).digest('base64url');
  }

  url(artworkId: string, index: number, expiresAt: Date): string {
    const expires = Math.floor(expiresAt.getTime() / 1000);
    const signature = this.signature(artworkId, index, expires);
    return `${this.publicUrl}/v2/artworks/${artworkId}/results/${index}?expires=${expires}&signature=${signature}`;
  }

  verify(artworkId: string, index: number, expires: number, signature: string, now: Date): boolean {
    if (!Number.isInteger(expires) || expires * 1000 < now.getTime()) return false;
    const expected = Buffer.from(this.signature(artworkId, index, expires));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
