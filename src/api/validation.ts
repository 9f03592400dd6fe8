import type { z } from 'zod';
import { errors } from '../errors.js';

function describeReceived(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input) ?? typeof input;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Validates `input`, or throws a 400 that names every offending field and what it accepts: the field's
 * declared description (schemas.ts), whichever of its rules the value broke.
 */
export function parseOrThrow<T extends z.ZodObject>(schema: T, input: unknown, what = 'request body'): z.output<T> {
  if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw errors.badRequest(`Expected a JSON object as the ${what} but received ${describeReceived(input)}`);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const shape: Record<string, z.ZodType | undefined> = schema.shape;
  const messages = new Set<string>();
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) messages.add(`property ${key} should not exist`);
      continue;
    }
    const field = String(issue.path[0] ?? '');
    const rule = shape[field]?.description ?? `${field} is invalid`;
    const received = (input as Record<string, unknown>)[field];
    messages.add(received === undefined ? `${rule} (it is required)` : `${rule} (received ${describeReceived(received)})`);
  }
  throw errors.validation([...messages]);
}
