import type { FastifyInstance } from 'fastify';
import { newArtwork } from '../../artworks/new-artwork.js';
import { presentArtwork } from '../../artworks/present.js';
import { errors } from '../../errors.js';
import { authenticate } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { createArtworkBody, listArtworksQuery, parseOrThrow, toParameters } from '../schemas.js';

const notFound = (id: string) => errors.notFound(`Artwork ${id} not found`);

export function artworkRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, links } = deps;

  app.post('/v2/artworks/face-refiner', async (request, reply) => {
    const key = await authenticate(store, request, 'generator');
    const input = parseOrThrow(createArtworkBody, request.body);
    if (input.webhook?.startsWith('http:') && !deps.allowPrivateNetworks) {
      throw errors.validation([`webhook must be an https URL (received ${JSON.stringify(input.webhook)})`]);
    }
    const artwork = newArtwork(key.orgId, toParameters(input), new Date(), deps.retentionDays);
    await store.insertArtwork(artwork);
    request.log.info({ artworkId: artwork.id }, 'artwork created');
    deps.onArtworkCreated?.();
    return reply.status(202).header('location', `/v2/artworks/${artwork.id}`).send(await presentArtwork(artwork, links));
  });

  app.get('/v2/artworks', async (request) => {
    const key = await authenticate(store, request, 'generator');
    const query = parseOrThrow(listArtworksQuery, request.query, 'query string');
    const artworks = await store.listArtworks(key.orgId, query.offset, query.limit);
    return Promise.all(artworks.map((artwork) => presentArtwork(artwork, links)));
  });

  app.get<{ Params: { id: string } }>('/v2/artworks/:id', async (request) => {
    const key = await authenticate(store, request, 'generator');
    const artwork = await store.getArtwork(key.orgId, request.params.id);
    if (!artwork) throw notFound(request.params.id);
    return presentArtwork(artwork, links);
  });

  app.post<{ Params: { id: string } }>('/v2/artworks/:id/cancel', async (request) => {
    const key = await authenticate(store, request, 'generator');
    const { id } = request.params;
    const outcome = await store.cancelArtwork(key.orgId, id, new Date());
    if (outcome === 'not-found') throw notFound(id);
    const artwork = await store.getArtwork(key.orgId, id);
    if (!artwork) throw notFound(id);
    if (outcome === 'already-final') {
      throw errors.conflict(`Artwork ${id} is already ${artwork.status}; only starting or processing artworks can be canceled`);
    }
    request.log.info({ artworkId: id }, 'artwork canceled');
    return presentArtwork(artwork, links);
  });

  app.get<{ Params: { id: string } }>('/v2/artworks/:id/webhook-deliveries', async (request) => {
    const key = await authenticate(store, request, 'generator');
    const artwork = await store.getArtwork(key.orgId, request.params.id);
    if (!artwork) throw notFound(request.params.id);
    return store.listDeliveryAttempts(artwork.id);
  });
}
