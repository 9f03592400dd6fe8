import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { Artwork } from '../../artworks/artwork.js';
import { isFinal } from '../../artworks/status.js';
import type { Store } from '../../store/store.js';
import { newArtwork } from '../../artworks/new-artwork.js';
import { presentArtwork } from '../../artworks/present.js';
import { errors } from '../../errors.js';
import { addressPolicy } from '../../net/guarded-agent.js';
import { checkWebhookUrl } from '../../webhooks/webhook-url.js';
import { callerOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { route } from '../route-contract.js';
import {
  artworkParams,
  artworkResponse,
  createArtworkBody,
  createArtworkHeaders,
  deliveryAttemptsResponse,
  idempotencyKeyHeader,
  listArtworksQuery,
  PREFER_WAIT,
  toParameters,
} from '../schemas.js';

const notFound = (id: string) => errors.notFound(`Artwork ${id} not found`);

/** The header's declared rule; a 400 with its description (a header is not a field, so not VALIDATION_FAILED). */
function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const rule = idempotencyKeyHeader;
  const parsed = rule.safeParse(Array.isArray(header) ? header[0] : header);
  if (!parsed.success || parsed.data === undefined) throw errors.badRequest(rule.description ?? 'Idempotency-Key is invalid');
  return parsed.data;
}

/** `Prefer: wait=N` (RFC 7240), N within PREFER_WAIT; other preferences are ignored, as the RFC asks. */
function readPreferWait(header: string): number | undefined {
  const match = header ? /(?:^|[,;\s])wait=(\d+)/i.exec(header) : null;
  if (!match) return undefined;
  const seconds = Number(match[1]);
  const { min, max } = PREFER_WAIT;
  if (seconds < min || seconds > max) throw errors.badRequest(`Prefer: wait must be from ${min} to ${max} seconds (received ${seconds})`);
  return seconds;
}

/**
 * How long past the request's own wait an unfinished Idempotency-Key is held before it counts as abandoned by a
 * crashed process: between taking the key and answering there is one transaction and one read (milliseconds),
 * so 5 s is generous for a slow database and short enough for a client retrying after a crash.
 */
const IDEMPOTENCY_HOLD_MARGIN_MS = 5_000;

/** An upload URL is usable as imageUrl by the organization that uploaded it only. */
async function checkUploadBelongs(deps: ApiDeps, orgId: string, imageUrl: string): Promise<void> {
  const uploadId = deps.signer.uploadIdOf(imageUrl, new Date());
  if (uploadId === null) return;
  const upload = await deps.store.getUpload(uploadId);
  if (upload?.orgId !== orgId) {
    throw errors.validation([`imageUrl names an upload that this organization does not have (upload ${uploadId})`]);
  }
}

function hashBody(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');
}

/** Polls the store (not this process's worker: the job may run on another machine) until final or timeout. */
async function waitUntilFinal(store: Store, artwork: Artwork, seconds: number): Promise<Artwork> {
  const deadline = Date.now() + seconds * 1000;
  let current = artwork;
  while (!isFinal(current.status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))));
    current = (await store.getArtworkById(artwork.id)) ?? current;
  }
  return current;
}

/** The artworks of the caller's organization: create, list, read, cancel, and their webhook deliveries. */
export const artworkRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { store, links } = deps;
  // the delivery checks the same rule again, with the policy the process was started with
  const policy = addressPolicy(deps.allowPrivateNetworks);

  route(
    app,
    {
      method: 'POST',
      url: '/face-refiner',
      operationId: 'createFaceRefiner',
      summary: 'create a face-refiner artwork (generator)',
      scope: 'generator',
      headers: createArtworkHeaders,
      body: createArtworkBody,
      success: { status: 202, body: artworkResponse, description: 'the artwork, starting (or final, with Prefer: wait)' },
      errors: ['CONFLICT', 'IDEMPOTENCY_MISMATCH', 'NO_CREDITS', 'TOO_MANY_UNFINISHED', 'INSUFFICIENT_STORAGE'],
    },
    async ({ request, reply, body }) => {
      const key = callerOf(request);
      const idempotencyKey = readIdempotencyKey(request.headers['idempotency-key']);
      const waitSeconds = readPreferWait([request.headers.prefer].flat().join(','));
      if (idempotencyKey) {
        const holdMs = (waitSeconds ?? 0) * 1000 + IDEMPOTENCY_HOLD_MARGIN_MS;
        const begun = await store.beginIdempotent(key.orgId, idempotencyKey, hashBody(request.body), Date.now(), holdMs);
        if (begun.state === 'mismatch') {
          throw errors.idempotencyMismatch(idempotencyKey);
        }
        if (begun.state === 'in-flight') throw errors.conflict(`A request with Idempotency-Key ${idempotencyKey} is still in progress`);
        if (begun.state === 'done') {
          return reply.status(begun.statusCode).header('idempotent-replayed', 'true').type('application/json').send(begun.body);
        }
        if (begun.state === 'recovered') {
          // The first request stored (and was charged for) this artwork, then its process died before answering.
          const artwork = await store.getArtwork(key.orgId, begun.artworkId);
          if (!artwork) throw notFound(begun.artworkId);
          const presented = JSON.stringify(await presentArtwork(artwork, links));
          await store.finishIdempotent(key.orgId, idempotencyKey, 202, presented);
          request.log.info({ artworkId: artwork.id }, 'idempotency key recovered after an unfinished request');
          return reply.header('idempotent-replayed', 'true').header('location', `/v2/artworks/${artwork.id}`).type('application/json').send(presented);
        }
      }
      try {
        const input = body();
        const webhook = input.webhook === undefined ? undefined : checkWebhookUrl(input.webhook, policy, deps.allowPrivateNetworks);
        if (webhook && 'message' in webhook) throw errors.validation([webhook.message]);
        await checkUploadBelongs(deps, key.orgId, input.imageUrl);
        const maxUnfinished = key.org.maxUnfinished ?? deps.limits.maxUnfinished;
        let artwork = newArtwork(key.orgId, toParameters(input), new Date(), deps.retentionDays);
        const inserted = await store.insertArtwork(artwork, maxUnfinished, idempotencyKey);
        if (inserted === 'no-credits') throw errors.noCredits(key.orgId);
        if (inserted === 'too-many-unfinished') throw errors.tooManyUnfinished(maxUnfinished);
        request.log.info({ artworkId: artwork.id }, 'artwork created');
        deps.onArtworkCreated?.();
        if (waitSeconds) {
          artwork = await waitUntilFinal(store, artwork, waitSeconds);
          reply.header('preference-applied', `wait=${waitSeconds}`);
        }
        const presented = JSON.stringify(await presentArtwork(artwork, links));
        if (idempotencyKey) await store.finishIdempotent(key.orgId, idempotencyKey, 202, presented);
        return reply.header('location', `/v2/artworks/${artwork.id}`).type('application/json').send(presented);
      } catch (error) {
        // Like Stripe: a request that was refused (validation, credits, limits) leaves no result to replay.
        if (idempotencyKey) await store.abandonIdempotent(key.orgId, idempotencyKey);
        throw error;
      }
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '',
      operationId: 'listArtworks',
      summary: "list the organization's artworks, newest first",
      scope: 'generator',
      query: listArtworksQuery,
      success: { status: 200, body: z.array(artworkResponse), description: 'the artworks' },
    },
    async ({ request, query }) => {
      const artworks = await store.listArtworks(callerOf(request).orgId, query.offset, query.limit);
      return Promise.all(artworks.map((artwork) => presentArtwork(artwork, links)));
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/:id',
      operationId: 'getArtwork',
      summary: 'one artwork',
      scope: 'generator',
      params: artworkParams,
      success: { status: 200, body: artworkResponse, description: 'the artwork' },
      errors: ['NOT_FOUND'],
    },
    async ({ request, params }) => {
      const artwork = await store.getArtwork(callerOf(request).orgId, params.id);
      if (!artwork) throw notFound(params.id);
      return presentArtwork(artwork, links);
    },
  );

  route(
    app,
    {
      method: 'POST',
      url: '/:id/cancel',
      operationId: 'cancelArtwork',
      summary: 'cancel a starting or processing artwork',
      scope: 'generator',
      params: artworkParams,
      success: { status: 200, body: artworkResponse, description: 'the canceled artwork' },
      errors: ['NOT_FOUND', 'CONFLICT'],
    },
    async ({ request, params: { id } }) => {
      const key = callerOf(request);
      const outcome = await store.cancelArtwork(key.orgId, id, new Date());
      if (outcome === 'not-found') throw notFound(id);
      const artwork = await store.getArtwork(key.orgId, id);
      if (!artwork) throw notFound(id);
      if (outcome === 'already-final') {
        throw errors.conflict(`Artwork ${id} is already ${artwork.status}; only starting or processing artworks can be canceled`);
      }
      request.log.info({ artworkId: id }, 'artwork canceled');
      return presentArtwork(artwork, links);
    },
  );

  route(
    app,
    {
      method: 'GET',
      url: '/:id/webhook-deliveries',
      operationId: 'listWebhookDeliveries',
      summary: "the artwork's webhook delivery attempts and their outcomes",
      scope: 'generator',
      params: artworkParams,
      success: { status: 200, body: deliveryAttemptsResponse, description: 'the attempts, oldest first' },
      errors: ['NOT_FOUND'],
    },
    async ({ request, params }) => {
      const artwork = await store.getArtwork(callerOf(request).orgId, params.id);
      if (!artwork) throw notFound(params.id);
      return store.listDeliveryAttempts(artwork.id);
    },
  );
};
