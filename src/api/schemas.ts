import { z } from 'zod';
import {
  ARTWORK_STATUSES,
  DEFAULT_MODEL,
  DENOISING,
  MODELS,
  OUTPUT_FORMATS,
  SEED,
  type ArtworkParameters,
} from '../artworks/artwork.js';
import type { PublicArtwork } from '../artworks/present.js';
import { ORGANIZATION_SCOPES, SCOPES } from '../store/store.js';

/**
 * Every request and response body of the API, declared once. Each request field's description is the sentence
 * a 400 gives for it (what it accepts), so the error texts, the OpenAPI document and validation read the same
 * numbers; the limits below are the only place they are written.
 */
export const MAX_URL_LENGTH = 4096;
/** `Prefer: wait=N`: how long a create may hold its answer for the artwork to finish (seconds). */
export const PREFER_WAIT = { min: 1, max: 60 } as const;
/** An Idempotency-Key's length, as Stripe's. */
export const IDEMPOTENCY_KEY_LENGTH = { min: 1, max: 255 } as const;
export const LIST_OFFSET = { min: 0, max: 1_000_000_000, default: 0 } as const;
export const LIST_LIMIT = { min: 1, max: 500, default: 10 } as const;
export const NAME_LENGTH = { min: 1, max: 100 } as const;
export const CREDITS_ADD = { min: 1, max: 1_000_000_000 } as const;
export const ORGANIZATION_LIMIT = { min: 1, max: 1_000_000 } as const;

/**
 * Spaces and control characters (NUL included), which the URL parser would silently drop or keep; U+FFFD, what
 * invalid UTF-8 became; and lone surrogates, which no request can carry.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
const UNSAFE_IN_URL = /[\u0000-\u0020\u007f-\u009f\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isHttpUrl(value: string): boolean {
  if (value.length > MAX_URL_LENGTH || UNSAFE_IN_URL.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

const httpUrl = (field: string) =>
  z
    .string()
    .max(MAX_URL_LENGTH)
    .refine(isHttpUrl)
    .describe(`${field} must be an absolute http or https URL of at most ${MAX_URL_LENGTH} characters`);
const oneOf = <T extends readonly [string, ...string[]]>(field: string, values: T) =>
  z.enum(values).describe(`${field} must be one of the following values: ${values.join(', ')}`);
const integer = (field: string, range: { min: number; max: number }) =>
  z.number().int().min(range.min).max(range.max).describe(`${field} must be an integer between ${range.min} and ${range.max}`);

/** Optional fields accept null as "not given", as the published (NestJS) API does; `fallback` fills it in. */
function orDefault<T extends z.ZodType>(schema: T, fallback: z.output<T>) {
  const rule = schema.description ?? '';
  return schema
    .nullish()
    .transform((value) => value ?? fallback)
    .meta({ description: rule, default: fallback });
}
function orAbsent<T extends z.ZodType>(schema: T) {
  return schema
    .nullish()
    .transform((value) => value ?? undefined)
    .describe(schema.description ?? '');
}

export const createArtworkBody = z.strictObject({
  imageUrl: httpUrl('imageUrl'),
  model: orDefault(oneOf('model', MODELS), DEFAULT_MODEL),
  denoising: orDefault(integer('denoising', DENOISING), DENOISING.default),
  webhook: orAbsent(httpUrl('webhook')),
  seed: orAbsent(integer('seed', SEED)),
  outputFormat: orDefault(oneOf('outputFormat', OUTPUT_FORMATS), 'auto'),
});

const creditsRule = `give either add (an integer from ${CREDITS_ADD.min} to ${CREDITS_ADD.max} credits to add) or unlimited: true`;
export const creditsBody = z
  .strictObject({
    add: z.number().int().min(CREDITS_ADD.min).max(CREDITS_ADD.max).optional().describe(creditsRule),
    unlimited: z.literal(true).optional().describe(creditsRule),
  })
  .refine((v) => (v.add === undefined) !== (v.unlimited === undefined), { path: ['add'] });

const organizationLimit = (field: string) =>
  z
    .number()
    .int()
    .min(ORGANIZATION_LIMIT.min)
    .max(ORGANIZATION_LIMIT.max)
    .nullable()
    .describe(`${field} must be an integer from ${ORGANIZATION_LIMIT.min} to ${ORGANIZATION_LIMIT.max}, or null for the server default`);
export const limitsBody = z.strictObject({
  rateLimitPerMinute: organizationLimit('rateLimitPerMinute'),
  maxUnfinishedArtworks: organizationLimit('maxUnfinishedArtworks'),
});

const name = z
  .string()
  .min(NAME_LENGTH.min)
  .max(NAME_LENGTH.max)
  .describe(`name must be a string of ${NAME_LENGTH.min} to ${NAME_LENGTH.max} characters`);
export const createApiKeyBody = z.strictObject({ name, scope: oneOf('scope', ORGANIZATION_SCOPES) });
export const createOrganizationBody = z.strictObject({ name });

/** A query-string integer: digits only (no sign, exponent or spaces), then the range. */
const queryInteger = (field: string, range: { min: number; max: number; default: number }, rule: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/)
    .optional()
    .transform((v) => (v === undefined ? range.default : Number(v)))
    .pipe(z.number().int().min(range.min).max(range.max))
    .meta({ description: `${field} must be ${rule}`, default: range.default });

export const listArtworksQuery = z.object({
  offset: queryInteger('offset', LIST_OFFSET, `an integer of at least ${LIST_OFFSET.min}`),
  limit: queryInteger('limit', LIST_LIMIT, `an integer between ${LIST_LIMIT.min} and ${LIST_LIMIT.max}`),
});

/** A repeated parameter (an array) is no signature: it is refused as invalid, never a 400 of its own. */
export const signedUrlQuery = z.object({
  expires: z.string().optional().catch(undefined).describe('unix seconds when the signed URL expires'),
  signature: z.string().optional().catch(undefined).describe("the URL's signature"),
});

const id = (what: string) => z.string().describe(`the ${what}'s id (a UUID)`);
export const artworkParams = z.object({ id: id('artwork') });
export const resultParams = z.object({ id: id('artwork'), n: z.string().describe('the result index, from 0') });
export const uploadParams = z.object({ id: id('upload') });
export const organizationParams = z.object({ orgId: id('organization') });
export const apiKeyParams = z.object({ orgId: id('organization'), keyId: id('API key') });

export const idempotencyKeyHeader = z
  .string()
  .min(IDEMPOTENCY_KEY_LENGTH.min)
  .max(IDEMPOTENCY_KEY_LENGTH.max)
  .regex(/^[\x21-\x7e]+$/)
  .optional()
  // the 400's text, word for word as before; a retry with the same key never creates a second artwork
  .describe(`Idempotency-Key must be ${IDEMPOTENCY_KEY_LENGTH.min} to ${IDEMPOTENCY_KEY_LENGTH.max} printable ASCII characters without spaces`);
export const createArtworkHeaders = z.object({
  'idempotency-key': idempotencyKeyHeader,
  prefer: z
    .string()
    .optional()
    .describe(`wait=N (${PREFER_WAIT.min}..${PREFER_WAIT.max}): hold the answer until the artwork is final or N seconds pass`),
});

// --- responses ---------------------------------------------------------------------------------------------

const timestamp = z.string().describe('ISO 8601');

export const errorBody = z.object({
  message: z.union([z.string(), z.array(z.string())]).describe('what was wrong; an array when several fields were'),
  statusCode: z.number().int(),
  error: z.string().describe('the HTTP reason phrase'),
});

export const artworkResponse = z.object({
  id: z.string(),
  artworkType: z.enum(['face_refiner']),
  parameters: z.object({
    imageUrl: z.string(),
    model: z.enum(MODELS),
    denoising: z.number().int().min(DENOISING.min).max(DENOISING.max),
    webhook: z.string().optional(),
    seed: z.number().int().optional(),
    outputFormat: z.enum(OUTPUT_FORMATS),
  }),
  duration: z.number().describe('seconds of processing; 0 until final'),
  results: z.array(z.string()).describe('signed, expiring URLs of the refined images; empty until succeeded'),
  status: z.enum(ARTWORK_STATUSES),
  createdAt: timestamp,
  updatedAt: timestamp,
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  faces: z
    .array(
      z.object({
        box: z
          .tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()])
          .describe(
            '[x, y, width, height] of the face itself, in upright pixel coordinates of the input: brow/forehead to chin, ' +
              'cheek to cheek (the convention of common face datasets), not the detector crop. A face turned sideways or ' +
              'upside down gets the box around it in the same image axes.',
          ),
        score: z.number().describe('Face detector confidence, 0..1.'),
      }),
    )
    .nullable(),
  engine: z.string().nullable().describe('the engine that refined the faces: classical, a restorer name, comfyui:<checkpoint>'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  resultsExpireAt: timestamp,
});

export const deliveryAttemptsResponse = z.array(
  z.object({
    deliveryId: z.string(),
    attemptedAt: timestamp,
    statusCode: z.number().int().nullable().describe("the receiver's HTTP status; null when it did not answer"),
    error: z.string().nullable(),
    durationMs: z.number(),
  }),
);

const scope = z.enum(SCOPES);
export const apiKeyResponse = z.object({
  id: z.string(),
  organizationId: z.string(),
  name: z.string(),
  scope,
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable().describe('to the minute'),
  revokedAt: timestamp.nullable(),
});
export const createdApiKeyResponse = apiKeyResponse
  .pick({ id: true, organizationId: true, name: true, scope: true, createdAt: true })
  .extend({ secret: z.string().describe('shown once') });
export const createdOrganizationResponse = z.object({
  organizationId: z.string(),
  name: z.string(),
  keyId: z.string(),
  scope,
  secret: z.string().describe("the admin key's secret, shown once"),
});
export const meResponse = z.object({
  organizationId: z.string(),
  organizationName: z.string(),
  keyId: z.string(),
  name: z.string(),
  scope,
  credits: z.number().int().nullable().describe('null: unlimited'),
  rateLimitPerMinute: z.number().int(),
  maxUnfinishedArtworks: z.number().int(),
});
export const creditsResponse = z.object({ organizationId: z.string(), credits: z.number().int().nullable() });
export const limitsResponse = z.object({
  organizationId: z.string(),
  rateLimitPerMinute: z.number().int().nullable(),
  maxUnfinishedArtworks: z.number().int().nullable(),
});
export const webhookSecretResponse = z.object({
  organizationId: z.string(),
  secret: z.string().describe('whsec_…, shown once'),
  previousSecretValidUntil: timestamp,
});

export const ENGINE_KINDS = ['classical', 'restorer', 'comfyui'] as const;
export const modelsResponse = z.array(
  z.object({
    model: z.enum(MODELS),
    engine: z.string(),
    kind: z.enum(ENGINE_KINDS),
    ready: z.boolean(),
    reason: z.string().optional().describe('why it is not ready, and what to do'),
    detail: z.string().optional(),
  }),
);

export const uploadResponse = z.object({
  id: z.string(),
  url: z.string().describe('a signed URL that imageUrl accepts'),
  expiresAt: timestamp,
  format: z.string(),
  width: z.number().int(),
  height: z.number().int(),
});

export const routeListResponse = z.object({
  name: z.literal('face-refiner'),
  routes: z.array(z.object({ method: z.string(), path: z.string(), description: z.string() })),
});
export const healthResponse = z.object({ status: z.literal('ok') });
export const readinessResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  queueDepth: z.number().int(),
  freeBytes: z.number().nullable(),
  modelsUnavailable: z.array(z.object({ model: z.enum(MODELS), engine: z.string(), reason: z.string().optional() })),
});

// The artwork the service presents (artworks/present.ts, also sent to webhooks) is what this schema declares.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const presentedIsDeclared: Same<PublicArtwork, z.output<typeof artworkResponse>> = true;
void presentedIsDeclared;

export type CreateArtworkInput = z.output<typeof createArtworkBody>;

export function toParameters(input: CreateArtworkInput): ArtworkParameters {
  const parameters: ArtworkParameters = {
    imageUrl: input.imageUrl,
    model: input.model,
    denoising: input.denoising,
    outputFormat: input.outputFormat,
  };
  if (input.webhook !== undefined) parameters.webhook = input.webhook;
  if (input.seed !== undefined) parameters.seed = input.seed;
  return parameters;
}
