import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Db, Dialect, Tables } from './database.js';

/** Stands where a run's value goes while a prepared query is built: compiled as a parameter like any value. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A query built and compiled by Kysely once per dialect, then run with each call's values. Building and compiling
 * cost more than SQLite's own work on the statements of every request (measured: about 20-40 us of main-thread CPU
 * per statement against 10-15 us for better-sqlite3 alone), and the hot statements have the same SQL each time.
 *
 * `build` receives the values as slots typed like them. Only for queries whose SQL does not depend on the values:
 * no `$if` on a value, no `in` list of one (pass each element, or keep such a query unprepared); a value used
 * in JavaScript arithmetic is passed computed instead. A slot must reach the SQL as a parameter: run() refuses
 * a compiled query in which one of them is missing.
 */
export function prepared<P extends Record<string, unknown>, R>(
  build: (on: { db: Kysely<Tables>; dialect: Dialect }, values: P) => Compilable<R>,
): (on: Db, values: P) => Promise<QueryResult<R>> {
  const compiled = new Map<Dialect, CompiledQuery<R>>();
  return async ({ db, dialect }, values) => {
    let query = compiled.get(dialect);
    if (!query) {
      const slots = Object.fromEntries(Object.keys(values).map((name) => [name, new Slot(name)])) as P;
      query = build({ db, dialect }, slots).compile();
      const used = new Set(query.parameters.filter((p) => p instanceof Slot).map((p) => p.name));
      const missing = Object.keys(values).filter((name) => !used.has(name));
      if (missing.length > 0) throw new Error(`prepared query does not use ${missing.join(', ')} as parameters: ${query.sql}`);
      compiled.set(dialect, query);
    }
    const parameters = query.parameters.map((p) => (p instanceof Slot ? values[p.name] : p));
    return db.executeQuery<R>({ ...query, parameters });
  };
}
