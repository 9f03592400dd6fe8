import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ApiErrorCode } from '../errors.js';
import type { Scope } from '../store/store.js';
import { parseOrThrow } from './validation.js';

/** What a success answer carries: JSON of a declared schema, or bytes of a media type. */
export type SuccessBody = z.ZodType | { mediaType: string };

/**
 * Everything a route promises, declared once beside its handler: the onRequest hook reads its scope, the
 * handler's input is validated with its schemas, and the OpenAPI document and `GET /` are generated from it.
 */
export interface RouteContract {
  method: 'GET' | 'POST' | 'DELETE';
  /** Relative to the prefix its plugin is registered with. */
  url: string;
  summary: string;
  operationId: string;
  /** The scope the calling key needs at least; absent: the route is public. Checked before the body is read. */
  scope?: Scope;
  /** A signed URL (`expires` and `signature` in the query) stands in for the key; the handler checks it. */
  signedUrlInsteadOfKey?: true;
  /** `:orgId` must be the caller's organization (an operator reaches every one); another is a 404. */
  ownOrganization?: true;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodObject;
  /** A body that is not JSON: its media types, for the document and the 415 message. */
  rawBody?: { mediaTypes: readonly string[]; accepts: string };
  bodyLimit?: number;
  success: { status: number; body: SuccessBody; description: string };
  /** The route's own refusals; those of authentication, ownership and body parsing are implied by the above. */
  errors?: readonly ApiErrorCode[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    contract?: RouteContract;
  }
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<C extends RouteContract> {
  request: FastifyRequest;
  reply: FastifyReply;
  params: Out<C['params']>;
  query: Out<C['query']>;
  /** The validated body; a call, so that a route may first refuse for its headers (Idempotency-Key). */
  body: () => Out<C['body']>;
}

/** The handler returns the declared JSON (type-checked against the schema), or the reply it sent itself. */
type Answer<C extends RouteContract> = C['success']['body'] extends z.ZodType ? z.input<C['success']['body']> : unknown;

/** Registers a route from its contract: the success status, the declared input validated, the config the hooks read. */
export function route<const C extends RouteContract>(
  app: FastifyInstance,
  contract: C,
  handler: (input: RouteInput<C>) => Promise<Answer<C> | FastifyReply>,
): void {
  app.route({
    method: contract.method,
    url: contract.url,
    ...(contract.bodyLimit === undefined ? {} : { bodyLimit: contract.bodyLimit }),
    config: { contract },
    handler: async (request, reply) => {
      reply.status(contract.success.status);
      const parse = (schema: z.ZodObject | undefined, input: unknown, what: string) =>
        schema === undefined ? undefined : parseOrThrow(schema, input, what);
      return handler({
        request,
        reply,
        params: parse(contract.params, request.params, 'path parameters') as Out<C['params']>,
        query: parse(contract.query, request.query, 'query string') as Out<C['query']>,
        body: () => parse(contract.body, request.body, 'request body') as Out<C['body']>,
      });
    },
  });
}
