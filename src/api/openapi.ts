import { z } from 'zod';
import { ARTWORK_STATUSES, MODELS } from '../artworks/artwork.js';
import { createApiKeyBody, createArtworkBody, creditsBody, limitsBody } from './schemas.js';

/** JSON Schema of what a client sends, from the same zod schemas that validate requests. */
const requestSchema = (schema: z.ZodType): Record<string, unknown> => {
  const converted = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete converted.$schema;
  return converted;
};

const error = {
  type: 'object',
  required: ['message', 'statusCode', 'error'],
  properties: {
    message: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    statusCode: { type: 'integer' },
    error: { type: 'string' },
  },
};

const artwork = {
  type: 'object',
  required: ['id', 'artworkType', 'parameters', 'duration', 'results', 'status', 'createdAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    artworkType: { type: 'string', enum: ['face_refiner'] },
    parameters: {
      type: 'object',
      required: ['imageUrl', 'model', 'denoising'],
      properties: {
        imageUrl: { type: 'string' },
        model: { type: 'string', enum: [...MODELS] },
        denoising: { type: 'integer', minimum: 1, maximum: 5 },
        webhook: { type: 'string' },
        seed: { type: 'integer' },
        outputFormat: { type: 'string' },
      },
    },
    duration: { type: 'number' },
    results: { type: 'array', items: { type: 'string', format: 'uri' } },
    status: { type: 'string', enum: [...ARTWORK_STATUSES] },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    completedAt: { type: ['string', 'null'], format: 'date-time' },
    faces: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        properties: {
          box: {
            type: 'array',
            items: { type: 'integer' },
            minItems: 4,
            maxItems: 4,
            description:
              '[x, y, width, height] of the face itself, in upright pixel coordinates of the input: brow/forehead to chin, ' +
              'cheek to cheek (the convention of common face datasets), not the detector crop. A face turned sideways or ' +
              'upside down gets the box around it in the same image axes.',
          },
          score: { type: 'number', description: 'Face detector confidence, 0..1.' },
        },
      },
    },
    engine: { type: ['string', 'null'], description: 'the engine that refined the faces: classical, a restorer name, comfyui:<checkpoint>' },
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
    resultsExpireAt: { type: 'string', format: 'date-time' },
  },
};

const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [String(code), { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));
const json = (schema: unknown, description: string) => ({ description, content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const orgParam = { name: 'orgId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const artworkRef = { $ref: '#/components/schemas/Artwork' };

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Face Refiner API',
      version: '2',
      description: 'Clean up and sharpen the faces in an image (compatible with Tengr.ai API v2 "Face refiner").',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Artwork: artwork, Error: error, CreateArtwork: requestSchema(createArtworkBody) },
    },
    paths: {
      '/v2/artworks/face-refiner': {
        post: {
          summary: 'Face refiner',
          operationId: 'createFaceRefiner',
          parameters: [
            { name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 255 } },
            { name: 'Prefer', in: 'header', schema: { type: 'string', example: 'wait=30' } },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateArtwork' } } } },
          responses: { '202': json(artworkRef, 'The artwork'), ...errorResponses(400, 401, 403, 409, 413, 422, 429, 500) },
        },
      },
      '/v2/artworks': {
        get: {
          summary: "The organization's artworks, newest first",
          operationId: 'listArtworks',
          parameters: [
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 10 } },
          ],
          responses: { '200': json({ type: 'array', items: artworkRef }, 'Artworks'), ...errorResponses(400, 401, 429) },
        },
      },
      '/v2/artworks/{id}': {
        get: { summary: 'One artwork', operationId: 'getArtwork', parameters: [idParam], responses: { '200': json(artworkRef, 'The artwork'), ...errorResponses(401, 404, 429) } },
      },
      '/v2/artworks/{id}/cancel': {
        post: { summary: 'Cancel', operationId: 'cancelArtwork', parameters: [idParam], responses: { '200': json(artworkRef, 'The canceled artwork'), ...errorResponses(401, 404, 409, 429) } },
      },
      '/v2/artworks/{id}/results/{n}': {
        get: {
          summary: 'A result image (signed URL or API key)',
          operationId: 'getResult',
          security: [],
          parameters: [idParam, { name: 'n', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { '200': { description: 'The image', content: { 'image/*': {} } }, ...errorResponses(403, 404) },
        },
      },
      '/v2/organizations/{orgId}/api-keys': {
        post: {
          summary: 'Create an API key (admin)',
          operationId: 'createApiKey',
          parameters: [orgParam],
          requestBody: { required: true, content: { 'application/json': { schema: requestSchema(createApiKeyBody) } } },
          responses: { '201': json({ type: 'object' }, 'The key, with its secret (shown once)'), ...errorResponses(400, 401, 403, 404) },
        },
      },
      '/v2/organizations/{orgId}/credits': {
        post: {
          summary: 'Add credits or make them unlimited (admin)',
          operationId: 'setCredits',
          parameters: [orgParam],
          requestBody: { required: true, content: { 'application/json': { schema: requestSchema(creditsBody) } } },
          responses: { '200': json({ type: 'object' }, 'The balance'), ...errorResponses(400, 401, 403, 404) },
        },
      },
      '/v2/organizations/{orgId}/limits': {
        post: {
          summary: 'Set rate limit and unfinished-artwork cap (admin)',
          operationId: 'setLimits',
          parameters: [orgParam],
          requestBody: { required: true, content: { 'application/json': { schema: requestSchema(limitsBody) } } },
          responses: { '200': json({ type: 'object' }, 'The limits'), ...errorResponses(400, 401, 403, 404) },
        },
      },
      '/v2/organizations/{orgId}/webhook-secret': {
        post: { summary: 'Rotate the webhook secret (admin)', operationId: 'rotateWebhookSecret', parameters: [orgParam], responses: { '200': json({ type: 'object' }, 'The new secret'), ...errorResponses(401, 403, 404) } },
      },
      '/v2/models': {
        get: {
          summary: "Each API model value, the engine bound to it, and whether it is ready (and why not)",
          operationId: 'listModels',
          responses: {
            '200': json(
              {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    model: { type: 'string', enum: [...MODELS] },
                    engine: { type: 'string' },
                    kind: { type: 'string', enum: ['classical', 'restorer', 'comfyui'] },
                    ready: { type: 'boolean' },
                    reason: { type: 'string' },
                    detail: { type: 'string' },
                  },
                },
              },
              'The models',
            ),
            ...errorResponses(401),
          },
        },
      },
      '/v2/me': { get: { summary: 'The calling key', operationId: 'me', responses: { '200': json({ type: 'object' }, 'The key'), ...errorResponses(401) } } },
    },
  };
}
