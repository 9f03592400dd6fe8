import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { uploadBlobPrefix } from '../../artworks/artwork.js';
import { AppError, JobError, errors, isApiErrorCode } from '../../errors.js';
import { inspectImage } from '../../ingest/decode.js';
import { callerOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { InFlightLimit } from '../in-flight.js';
import { overUploadQuota } from '../../limits.js';
import { sendBlob } from '../send-blob.js';
import { route } from '../route-contract.js';
import { signedUrlQuery, uploadParams, uploadResponse } from '../schemas.js';

const DAY_MS = 86_400_000;
/** A refused upload's Retry-After: a 30 MiB body takes 2-3 s at 100 Mbit/s, so a slot is likely free by then. */
const BUSY_RETRY_AFTER_SECONDS = 2;
/** Refused before its body is read: the client is told so, and the body is not received. */
const UNREAD = { connection: 'close' };
const MIME: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
  gif: 'image/gif',
};

/**
 * Uploading an image (for the web page, or any client without a public URL): the bytes are checked like a
 * fetched image (size, format from the bytes, pixel cap), stored, and answered with a signed URL that the
 * service accepts as `imageUrl` and reads from its own storage, never over the network.
 */
export const uploadRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  // This plugin's scope takes image bytes only: JSON and anything else are a 415 before the body is read.
  // The other plugins keep the JSON parser (server.ts); this one is the only place an image parser exists.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    /^(image\/[a-z0-9.+-]+|application\/octet-stream)(;|$)/,
    { parseAs: 'buffer', bodyLimit: deps.maxImageBytes },
    (_request, body, done) => done(null, body),
  );

  // Bodies are buffered whole before they can be looked at, so two things are settled on the headers, before a
  // byte is read: a declared Content-Length that would already exceed the quota, and how many bodies this
  // process receives at once (60 concurrent 31 MB uploads took one process to 2.41 GB, every one a 400 after).
  // an organization may hold half the slots (at least one): its stalled bodies cannot refuse every other one's
  const receiving = new InFlightLimit(deps.uploadsInFlight, Math.max(1, Math.floor(deps.uploadsInFlight / 2)));
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.method !== 'POST') return payload;
    // the slot first: a refusal when busy costs no database query
    const release = receiving.tryEnter(callerOf(request).orgId);
    if (release === 'process') throw errors.uploadsBusy(receiving.max, BUSY_RETRY_AFTER_SECONDS, UNREAD);
    if (release === 'key') throw errors.organizationUploadsBusy(receiving.maxPerKey, BUSY_RETRY_AFTER_SECONDS, UNREAD);
    // the response's close: sent, or the connection lost (a stalled body ends at REQUEST_TIMEOUT_MS)
    reply.raw.once('close', release);
    const declared = Number(request.headers['content-length'] ?? 0);
    // a body over MAX_IMAGE_BYTES is the parser's 413, which names the limit
    if (declared > 0 && declared <= deps.maxImageBytes) {
      const used = await deps.store.uploadBytes(callerOf(request).orgId);
      if (overUploadQuota(used, declared, deps.uploadQuotaBytes)) throw errors.uploadQuotaExceeded(deps.uploadQuotaBytes, UNREAD);
    }
    return payload;
  });

  const accepts = 'image/* or application/octet-stream (the image bytes as the body)';
  route(
    app,
    {
      method: 'POST',
      url: '',
      operationId: 'uploadImage',
      summary: 'upload an image (its bytes as the body); answers a signed URL usable as imageUrl',
      scope: 'generator',
      rawBody: { mediaTypes: ['image/*', 'application/octet-stream'], accepts },
      bodyLimit: deps.maxImageBytes,
      success: { status: 201, body: uploadResponse, description: 'the upload and its signed URL' },
      errors: [
        'BAD_REQUEST',
        'NOT_AN_IMAGE',
        'UNSUPPORTED_IMAGE_FORMAT',
        'IMAGE_TOO_MANY_PIXELS',
        'IMAGE_TOO_ELONGATED',
        'UPLOAD_QUOTA_EXCEEDED',
        'UNAVAILABLE',
        'INSUFFICIENT_STORAGE',
      ],
    },
    async ({ request }) => {
      const key = callerOf(request);
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
        throw errors.badRequest(`Expected the image bytes as the body, with Content-Type ${accepts}`);
      }
      let info;
      try {
        info = await inspectImage(request.body, deps.maxImagePixels);
      } catch (error) {
        // what the bytes are (not an image, a format or pixel limit): the code a fetched image would fail with
        if (error instanceof JobError && isApiErrorCode(error.code)) throw new AppError(error.code, error.message);
        throw error;
      }
      const now = new Date();
      const id = randomUUID();
      const expiresAt = new Date(now.getTime() + deps.retentionDays * DAY_MS);
      const contentType = MIME[info.format] ?? 'application/octet-stream';
      // The record first, within the quota; then the bytes. A failed write removes the record again.
      const upload = { id, orgId: key.orgId, contentType, bytes: request.body.length, createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() };
      if ((await deps.store.insertUpload(upload, deps.uploadQuotaBytes)) === 'over-quota') {
        throw errors.uploadQuotaExceeded(deps.uploadQuotaBytes);
      }
      try {
        await deps.blobs.put(`${uploadBlobPrefix(id)}image`, request.body, contentType);
      } catch (error) {
        await deps.store.deleteUpload(id).catch((cleanup: unknown) => request.log.error({ err: cleanup }, 'upload record not removed'));
        throw error;
      }
      request.log.info({ uploadId: id, bytes: request.body.length, format: info.format }, 'image uploaded');
      return { id, url: deps.signer.uploadUrl(id, expiresAt), expiresAt: expiresAt.toISOString(), format: info.format, width: info.width, height: info.height };
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/:id',
      operationId: 'getUpload',
      summary: 'an uploaded image (signed URL)',
      params: uploadParams,
      query: signedUrlQuery,
      success: { status: 200, body: { mediaType: 'image/*' }, description: 'the image' },
      errors: ['FORBIDDEN', 'NOT_FOUND'],
    },
    async ({ reply, params: { id }, query: { expires, signature } }) => {
      if (!signature || !expires || !deps.signer.verifyUpload(id, Number(expires), signature, new Date())) {
        throw errors.forbidden('The upload URL signature is invalid or has expired');
      }
      const upload = await deps.store.getUpload(id);
      const blob = upload ? await deps.blobs.open(`${uploadBlobPrefix(id)}image`) : null;
      if (!blob) throw errors.notFound(`Upload ${id} not found`);
      return sendBlob(reply, blob, deps.downloadIdleTimeoutMs, { 'cache-control': 'private, max-age=3600' });
    },
  );
};
