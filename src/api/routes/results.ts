import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import { authenticate } from '../auth.js';
import type { ApiDeps } from '../deps.js';

interface ResultRequest {
  Params: { id: string; n: string };
  Querystring: { expires?: string; signature?: string };
}

/**
 * A result image. With a valid signature (the URLs in `results`) no API key is needed; without one, the
 * owner's API key is. Either way a missing or expired result is a 404 that tells nothing about other orgs.
 */
export function resultRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<ResultRequest>('/v2/artworks/:id/results/:n', async (request, reply) => {
    const { id, n } = request.params;
    const index = /^\d{1,3}$/.test(n) ? Number(n) : -1;
    const { expires, signature } = request.query;
    let artwork;
    if (signature !== undefined || expires !== undefined) {
      const valid =
        index >= 0 &&
        typeof signature === 'string' &&
        typeof expires === 'string' &&
        deps.signer.verify(id, index, Number(expires), signature, new Date());
      if (!valid) throw errors.forbidden('The result URL signature is invalid or has expired');
      artwork = await deps.store.getArtworkById(id);
    } else {
      const key = await authenticate(deps, request, reply, 'generator');
      artwork = await deps.store.getArtwork(key.orgId, id);
    }
    const result = artwork?.status === 'succeeded' ? artwork.results[index] : undefined;
    if (!artwork || !result) throw errors.notFound(`Result ${n} of artwork ${id} not found`);
    const blob = await deps.blobs.get(result.key);
    if (!blob) throw errors.notFound(`Result ${n} of artwork ${id} not found`);
    return reply
      .header('content-type', blob.contentType)
      .header('cache-control', 'private, max-age=3600')
      .header('content-disposition', `inline; filename="${id}-${index}.${result.key.split('.').pop() ?? 'img'}"`)
      .send(blob.body);
  });
}
