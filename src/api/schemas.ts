import { z } from 'zod';
import { DEFAULT_MODEL, MODELS, OUTPUT_FORMATS, type ArtworkParameters } from '../artworks/artwork.js';
import { ORGANIZATION_SCOPES } from '../store/store.js';
import { errors } from '../errors.js';

const MAX_URL_LENGTH = 4096;

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

/** Optional fields accept null as "not given", as the published (NestJS) API does. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());

/** One sentence per field that says what is accepted; used whatever rule the value broke. */
const FIELD_RULES: Record<string, string> = {
  imageUrl: `imageUrl must be an absolute http or https URL of at most ${MAX_URL_LENGTH} characters`,
  model: `model must be one of the following values: ${MODELS.join(', ')}`,
  denoising: 'denoising must be an integer between 1 and 5',
  webhook: `webhook must be an absolute http or https URL of at most ${MAX_URL_LENGTH} characters`,
  seed: 'seed must be an integer between 1 and 2147483647',
  outputFormat: `outputFormat must be one of the following values: ${OUTPUT_FORMATS.join(', ')}`,
  name: 'name must be a string of 1 to 100 characters',
  scope: `scope must be one of the following values: ${ORGANIZATION_SCOPES.join(', ')}`,
  offset: 'offset must be an integer of at least 0',
  add: 'give either add (an integer from 1 to 1000000000 credits to add) or unlimited: true',
  unlimited: 'give either add (an integer from 1 to 1000000000 credits to add) or unlimited: true',
  rateLimitPerMinute: 'rateLimitPerMinute must be an integer from 1 to 1000000, or null for the server default',
  maxUnfinishedArtworks: 'maxUnfinishedArtworks must be an integer from 1 to 1000000, or null for the server default',
  limit: 'limit must be an integer between 1 and 500',
};

export const createArtworkBody = z.strictObject({
  imageUrl: z.string().refine(isHttpUrl),
  model: optional(z.enum(MODELS)).transform((v) => v ?? DEFAULT_MODEL),
  denoising: optional(z.number().int().min(1).max(5)).transform((v) => v ?? 3),
  webhook: optional(z.string().refine(isHttpUrl)),
  seed: optional(z.number().int().min(1).max(2147483647)),
  outputFormat: optional(z.enum(OUTPUT_FORMATS)).transform((v) => v ?? 'auto'),
});

export const creditsBody = z
  .strictObject({
    add: z.number().int().min(1).max(1_000_000_000).optional(),
    unlimited: z.literal(true).optional(),
  })
  .refine((v) => (v.add === undefined) !== (v.unlimited === undefined), { path: ['add'] });

export const limitsBody = z.strictObject({
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).nullable(),
  maxUnfinishedArtworks: z.number().int().min(1).max(1_000_000).nullable(),
});

export const createApiKeyBody = z.strictObject({
  name: z.string().min(1).max(100),
  scope: z.enum(ORGANIZATION_SCOPES),
});

export const createOrganizationBody = z.strictObject({
  name: z.string().min(1).max(100),
});

const queryInteger = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/)
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

export const listArtworksQuery = z.object({
  offset: queryInteger(0, 1_000_000_000, 0),
  limit: queryInteger(1, 500, 10),
});

function describeReceived(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input) ?? typeof input;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Validates `input`, or throws a 400 that names every offending field and what it accepts. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what = 'request body'): z.output<T> {
  if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw errors.badRequest(`Expected a JSON object as the ${what} but received ${describeReceived(input)}`);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const messages = new Set<string>();
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) messages.add(`property ${key} should not exist`);
      continue;
    }
    const field = String(issue.path[0] ?? '');
    const rule = FIELD_RULES[field] ?? `${field} is invalid`;
    const received = (input as Record<string, unknown>)[field];
    messages.add(received === undefined ? `${rule} (it is required)` : `${rule} (received ${describeReceived(received)})`);
  }
  throw errors.validation([...messages]);
}

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
