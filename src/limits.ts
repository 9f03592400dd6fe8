/**
 * Fixed limits that the error catalogue's sentences cite (and through them the README's error table and the
 * OpenAPI document) as well as the code that enforces them. A leaf module: src/errors.ts reads them without
 * importing the modules that throw its errors, which import src/errors.ts themselves.
 */

/**
 * Our JSON bodies are flat objects; 32 levels is far more than any valid request. Checked on the text, before
 * JSON.parse, so that no recursive step (validation, the idempotency hash, logging) ever sees a deep value.
 */
export const MAX_JSON_DEPTH = 32;

/** Every JSON route's body limit: our largest valid body (an artwork with two 4096-character URLs) is far below. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Redirects an image fetch follows before it fails. */
export const MAX_IMAGE_REDIRECTS = 3;

/**
 * The most elongated image accepted (long side over short side). Detection tiles each pyramid level with 256 px
 * windows, and a level under 256 px high fills only part of each window, so a thin image costs windows by its
 * length, not its pixels: a 1,000,000x1 PNG of 3 KB took 8015 windows a pass (4 passes with no face found,
 * 122 s), a 2,000,000x25 one 16028. Counted with pyramidScales and windowsFor at the default 50 megapixel cap
 * (test/face-detection.test.ts counts them too): the worst image of up to 20:1 costs 1209 windows a pass, 1.09x
 * the 50 MP square's 1107 (tiling alone puts ordinary 4:3 to 4:1 images at 1130-1141); 30:1 would cost 1271,
 * 100:1 1364. 20:1 is still wider than web banners (970x90 is 10.8:1) and most stitched panoramas.
 */
export const MAX_ASPECT_RATIO = 20;

/** libwebp's limit on each side of an image. */
export const WEBP_MAX_SIDE = 16383;
/** libjpeg's limit on each side of an image. */
export const JPEG_MAX_SIDE = 65535;

/** A job that has crashed its worker this many times fails instead of looping forever. */
export const MAX_JOB_ATTEMPTS = 3;

/** Rounds over all ComfyUI instances before a face fails with GENERATOR_UNREACHABLE. */
export const GENERATOR_ROUNDS = 3;

/** The upload quota's rule, for the early check on a declared Content-Length and for the insert itself. */
export function overUploadQuota(usedBytes: number, addedBytes: number, quotaBytes: number): boolean {
  return usedBytes + addedBytes > quotaBytes;
}
