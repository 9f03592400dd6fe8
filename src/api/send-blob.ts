import type { FastifyReply } from 'fastify';
import type { BlobStream } from '../blobs/blobs.js';

/**
 * Answers with a blob's bytes as they are read from storage, never a whole copy in memory. A client that stops
 * reading fills its socket's buffers and the stream stops: after `idleTimeoutMs` without a byte moving the
 * connection is closed, which closes the file or the object-storage response too. (Fastify's own
 * connectionTimeout would apply to every request, `Prefer: wait` creates that stay silent for up to 60 s too.)
 */
export function sendBlob(reply: FastifyReply, blob: BlobStream, idleTimeoutMs: number, headers: Record<string, string>): FastifyReply {
  reply.raw.setTimeout(idleTimeoutMs, () => reply.raw.destroy());
  reply.raw.once('close', () => blob.body.destroy());
  reply.headers({ ...headers, 'content-type': blob.contentType });
  if (blob.bytes !== undefined) reply.header('content-length', String(blob.bytes));
  return reply.send(blob.body);
}
