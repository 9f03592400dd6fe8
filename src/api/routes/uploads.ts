import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { uploadBlobPrefix } from '../../artworks/artwork.js';
import { AppError, JobError, errors } from '../../errors.js';
import { inspectImage } from '../../ingest/decode.js';
import { callerOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';

const DAY_MS = 86_400_000;
const MIME: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
  gif: 'image/gif',
};

interface UploadRequest {
  Params: { id: string };
  Querystring: { expires?: string; signature?: string };
}

/**
 * Uploading an image (for the web page, or any client without a public URL): the bytes are checked like a
 * fetched image (size, format from the bytes, pixel cap), stored, and answered with a signed URL that the
 * service accepts as `imageUrl` and reads from its own storage, never over the network.
 */
export function uploadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // This scope (see server.ts) takes image bytes only: JSON and anything else are a 415 before the body is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    /^(image\/[a-z0-9.+-]+|application\/octet-stream)(;|$)/,
    { parseAs: 'buffer', bodyLimit: deps.maxImageBytes },
    (_request, body, done) => done(null, body),
  );

  const accepts = 'image/* or application/octet-stream (the image bytes as the body)';
  app.post('/v2/uploads', { bodyLimit: deps.maxImageBytes, config: { scope: 'generator', accepts } }, async (request, reply) => {
    const key = callerOf(request);
    if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
      throw errors.badRequest(`Expected the image bytes as the body, with Content-Type ${accepts}`);
    }
    let info;
    try {
      info = await inspectImage(request.body, deps.maxImagePixels);
    } catch (error) {
      if (error instanceof JobError) throw new AppError(error.code, 400, error.message);
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
    return reply.status(201).send({
      id,
      url: deps.signer.uploadUrl(id, expiresAt),
      expiresAt: expiresAt.toISOString(),
      format: info.format,
      width: info.width,
      height: info.height,
    });
  });

  app.get<UploadRequest>('/v2/uploads/:id', async (request, reply) => {
    const { id } = request.params;
    const { expires, signature } = request.query;
    if (!signature || !expires || !deps.signer.verifyUpload(id, Number(expires), signature, new Date())) {
      throw errors.forbidden('The upload URL signature is invalid or has expired');
    }
    const upload = await deps.store.getUpload(id);
    const blob = upload ? await deps.blobs.get(`${uploadBlobPrefix(id)}image`) : null;
    if (!blob) throw errors.notFound(`Upload ${id} not found`);
    return reply.header('content-type', blob.contentType).header('cache-control', 'private, max-age=3600').send(blob.body);
  });
}
