import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { route } from '../route-contract.js';
import { sendBlob } from '../send-blob.js';
import { resultParams, signedUrlQuery } from '../schemas.js';

/**
 * A result image. With a valid signature (the URLs in `results`) no API key is needed; without one, the
 * owner's API key is. Either way a missing or expired result is a 404 that tells nothing about other orgs.
 */
export const resultRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  route(
    app,
    {
      method: 'GET',
      url: '/:id/results/:n',
      operationId: 'getResult',
      summary: 'the n-th result image (signed URL, or the API key)',
      scope: 'generator',
      signedUrlInsteadOfKey: true,
      params: resultParams,
      query: signedUrlQuery,
      success: { status: 200, body: { mediaType: 'image/*' }, description: 'the image' },
      errors: ['FORBIDDEN', 'NOT_FOUND'],
    },
    async ({ request, reply, params: { id, n }, query: { expires, signature } }) => {
      const index = /^\d{1,3}$/.test(n) ? Number(n) : -1;
      let artwork;
      if (request.caller === null) {
        // the onRequest hook let the signed URL's parameters stand in for a key
        const valid =
          index >= 0 &&
          typeof signature === 'string' &&
          typeof expires === 'string' &&
          deps.signer.verify(id, index, Number(expires), signature, new Date());
        if (!valid) throw errors.forbidden('The result URL signature is invalid or has expired');
        artwork = await deps.store.getArtworkById(id);
      } else {
        artwork = await deps.store.getArtwork(request.caller.orgId, id);
      }
      const result = artwork?.status === 'succeeded' ? artwork.results[index] : undefined;
      if (!artwork || !result) throw errors.notFound(`Result ${n} of artwork ${id} not found`);
      const blob = await deps.blobs.open(result.key);
      if (!blob) throw errors.notFound(`Result ${n} of artwork ${id} not found`);
      return sendBlob(reply, blob, deps.downloadIdleTimeoutMs, {
        'cache-control': 'private, max-age=3600',
        'content-disposition': `inline; filename="${id}-${index}.${result.key.split('.').pop() ?? 'img'}"`,
      });
    },
  );
};
