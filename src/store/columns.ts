/** The column conversions the two dialects need, written once for every row mapper. */

/** A time column as ISO text: SQLite stores the text itself, PostgreSQL returns a Date. */
export function iso(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

export function isoOrNull(value: string | Date | null): string | null {
  return value === null ? null : iso(value);
}

/** A JSON column as a value: SQLite stores the text, PostgreSQL's jsonb arrives parsed. */
export function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function jsonOrNull<T>(value: unknown): T | null {
  return value === null ? null : json<T>(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Every id the store hands out is a UUID. Ids arrive from URLs; a malformed one matches nothing (rather than
 * making PostgreSQL's uuid columns raise), on both dialects alike.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
