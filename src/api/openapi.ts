import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { ERROR_CATALOGUE, type ApiErrorCode } from '../errors.js';
import type { RouteContract } from './route-contract.js';
import { artworkResponse, createArtworkBody, errorBody } from './schemas.js';

/** A route as Fastify registered it, with the contract it was declared with (none: not ours, or undeclared). */
export interface RegisteredRoute {
  method: string;
  url: string;
  readonly contract: RouteContract | undefined;
}

/**
 * Every route the app registers, in order, as Fastify's onRoute hook sees it (HEAD routes are Fastify's
 * automatic mirrors of GET and are left out). The contract is read when asked: a plugin's own onRoute hook
 * may attach it after this one ran (the docs page, which @fastify/swagger-ui registers).
 */
export function collectRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (options: RouteOptions) => {
    for (const method of [options.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: options.url, get contract() { return options.config?.contract; } });
    }
  });
  return routes;
}

/** Schemas the document names once and refers to; `io` is the side of the schema a client sees. */
const COMPONENTS = new Map<unknown, { name: string; io: 'input' | 'output' }>([
  [artworkResponse, { name: 'Artwork', io: 'output' }],
  [createArtworkBody, { name: 'CreateArtwork', io: 'input' }],
  [errorBody, { name: 'Error', io: 'output' }],
]);

type JsonSchema = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output', isComponentRoot = false): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // zod leaves a declared default out on the input side of a transform (null or absent -> the default)
      const fallback = z.globalRegistry.get(zodSchema as unknown as z.ZodType)?.default;
      if (fallback !== undefined) jsonSchema.default = fallback;
      const component = COMPONENTS.get(zodSchema);
      if (!component || (isComponentRoot && zodSchema === (schema as unknown))) return;
      for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
      jsonSchema.$ref = `#/components/schemas/${component.name}`;
    },
  }) as JsonSchema;
  delete converted.$schema;
  return converted;
}

/** `/v2/artworks/:id` as OpenAPI writes it: `/v2/artworks/{id}`. */
export const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}') || '/';

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query' | 'header'): JsonSchema[] {
  if (!schema) return [];
  const required = new Set((toJsonSchema(schema, 'input').required as string[] | undefined) ?? []);
  const properties = (toJsonSchema(schema, 'output').properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: where, required: where === 'path' || required.has(name), ...(description ? { description } : {}), schema: rest };
  });
}

/** The refusals a route's declaration implies, before its own. */
function impliedErrors(contract: RouteContract): ApiErrorCode[] {
  const codes: ApiErrorCode[] = [];
  if (contract.scope) codes.push('UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED');
  if (contract.ownOrganization) codes.push('NOT_FOUND');
  if (contract.query) codes.push('BAD_REQUEST', 'VALIDATION_FAILED');
  if (contract.body) codes.push('BAD_REQUEST', 'VALIDATION_FAILED', 'MALFORMED_JSON', 'JSON_TOO_DEEP');
  if (contract.body || contract.rawBody) codes.push('PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
  codes.push('INTERNAL');
  return codes;
}

function errorResponses(contract: RouteContract): Record<string, unknown> {
  const byStatus = new Map<number, Set<ApiErrorCode>>();
  for (const code of [...impliedErrors(contract), ...(contract.errors ?? [])]) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, codes]) => [
        String(status),
        {
          description: [...codes].map((code) => `${code}: ${ERROR_CATALOGUE[code].meaning}`).join('; '),
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      ]),
  );
}

function operation(contract: RouteContract): JsonSchema {
  const { success } = contract;
  const successContent =
    success.body instanceof z.ZodType
      ? { 'application/json': { schema: toJsonSchema(success.body, 'output') } }
      : { [success.body.mediaType]: {} };
  const requestBody = contract.body
    ? { required: true, content: { 'application/json': { schema: toJsonSchema(contract.body, 'input') } } }
    : contract.rawBody
      ? { required: true, content: Object.fromEntries(contract.rawBody.mediaTypes.map((type) => [type, { schema: { type: 'string', format: 'binary' } }])) }
      : undefined;
  const params = [...parameters(contract.params, 'path'), ...parameters(contract.query, 'query'), ...parameters(contract.headers, 'header')];
  return {
    operationId: contract.operationId,
    summary: contract.summary,
    // a public route needs nothing; a signed URL may stand in for the key where the contract says so
    security: contract.scope ? [{ bearer: [] }, ...(contract.signedUrlInsteadOfKey ? [{}] : [])] : [],
    ...(contract.scope ? { 'x-scope': contract.scope } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: { [String(success.status)]: { description: success.description, content: successContent }, ...errorResponses(contract) },
  };
}

/** The OpenAPI 3.1 document of every declared route, generated from the routes' contracts. */
export function openApiDocument(routes: readonly RegisteredRoute[], serverUrl: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const { method, url, contract } of routes) {
    if (!contract) continue;
    const path = openApiPath(url);
    (paths[path] ??= {})[method.toLowerCase()] = operation(contract);
  }
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
      schemas: Object.fromEntries([...COMPONENTS].map(([schema, { name, io }]) => [name, toJsonSchema(schema as z.ZodType, io, true)])),
    },
    paths,
  };
}

/** `GET /`: each declared route, as the document has it (Fastify's path syntax). */
export function routeList(routes: readonly RegisteredRoute[]): Array<{ method: string; path: string; description: string }> {
  return routes.flatMap(({ method, url, contract }) => (contract ? [{ method, path: url, description: contract.summary }] : []));
}
