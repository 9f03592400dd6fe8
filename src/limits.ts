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

/** libwebp's limit on each side of an image. */
export const WEBP_MAX_SIDE = 16383;
/** libjpeg's limit on each side of an image. */
export const JPEG_MAX_SIDE = 65535;

/** A job that has crashed its worker this many times fails instead of looping forever. */
export const MAX_JOB_ATTEMPTS = 3;

/** Rounds over all ComfyUI instances before a face fails with GENERATOR_UNREACHABLE. */
export const GENERATOR_ROUNDS = 3;
