import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import pg from 'pg';
import type { Artwork } from '../src/artworks/artwork.js';
import { openSqliteFile } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { POSTGRES_LEGACY_MIGRATIONS } from '../src/store/migrations/postgres-legacy.js';
import { SQLITE_LEGACY_MIGRATIONS } from '../src/store/migrations/sqlite-legacy.js';
import { TEST_DATABASE_URL, freshPostgresSchema, postgresStoreAt, sqliteStoreAt, sqliteTestFile, type StoreOn } from './helpers/backends.js';

/**
 * A database made by the code before the shared migration runner (its frozen legacy migrations, applied the
 * way that code applied them, and rows written in its column formats) migrates forward to the current schema
 * and reads back whole through the current store.
 */

const at = (offsetMs: number) => new Date(Date.parse('2026-01-02T03:04:05.678Z') + offsetMs).toISOString();
const ORG = randomUUID();
const KEY = randomUUID();
const DONE = randomUUID();
const WAITING = randomUUID();
const UPLOAD = randomUUID();
const parameters = { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png', webhook: 'https://example.com/hook' };
const results = [{ key: 'artworks/x/0.png', contentType: 'image/png' }];
const faces = [{ box: [1, 2, 3, 4], score: 0.9 }];

/** The rows, as [table, columns, values], in the legacy column formats (JSON as text, times as ISO text). */
const ROWS: Array<[string, string[], unknown[]]> = [
  ['organizations', ['id', 'name', 'webhook_secret', 'previous_webhook_secret', 'previous_webhook_secret_until', 'credits', 'rate_limit_per_minute', 'max_unfinished', 'created_at'],
    [ORG, 'legacy', 'whsec_new', 'whsec_old', at(60_000), 5, 60, 2, at(0)]],
  ['api_keys', ['id', 'org_id', 'name', 'scope', 'secret_hash', 'created_at', 'revoked_at', 'last_used_at'],
    [KEY, ORG, 'ops', 'operator', 'legacy-hash', at(1), null, at(2)]],
  ['artworks', ['id', 'org_id', 'status', 'parameters', 'created_at', 'updated_at', 'started_at', 'completed_at', 'duration', 'results', 'faces', 'engine', 'error', 'expires_at'],
    [DONE, ORG, 'succeeded', JSON.stringify(parameters), at(10), at(30), at(20), at(30), 0.01, JSON.stringify(results), JSON.stringify(faces), 'restorer', null, at(86_400_000)]],
  ['artworks', ['id', 'org_id', 'status', 'parameters', 'created_at', 'updated_at', 'duration', 'results', 'expires_at'],
    [WAITING, ORG, 'starting', JSON.stringify(parameters), at(40), at(40), 0, '[]', at(86_400_000)]],
  ['jobs', ['artwork_id', 'run_after'], [WAITING, Date.parse(at(40))]],
  ['webhook_deliveries', ['id', 'artwork_id', 'org_id', 'url', 'status', 'attempts', 'next_attempt_at', 'created_at'],
    ['msg_legacy', DONE, ORG, 'https://example.com/hook', 'delivered', 1, Date.parse(at(31)), at(30)]],
  ['webhook_attempts', ['delivery_id', 'attempted_at', 'status_code', 'error', 'duration_ms'], ['msg_legacy', at(31), 204, null, 12]],
  ['idempotency_keys', ['org_id', 'key', 'request_hash', 'state', 'status_code', 'body', 'created_at', 'artwork_id', 'held_until'],
    [ORG, 'legacy-key', 'hash', 'done', 202, '{"id":"legacy"}', Date.now(), DONE, 0]],
  ['uploads', ['id', 'org_id', 'content_type', 'bytes', 'created_at', 'expires_at'], [UPLOAD, ORG, 'image/png', 1234, at(5), at(3_600_000)]],
  ['settings', ['name', 'value'], ['result-url-secret', 'legacy-secret']],
];

const insertSql = ([table, columns]: [string, string[], unknown[]], placeholder: (i: number) => string) =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => placeholder(i)).join(', ')})`;

async function assertReadsBack({ db, store, queue }: StoreOn): Promise<void> {
  assert.deepEqual(await migrate(db), [100, 101], 'only the shared migrations are new');
  assert.deepEqual(await migrate(db), [], 'and applied once');
  try {
    assert.deepEqual(await store.getOrganization(ORG), {
      id: ORG, name: 'legacy', webhookSecret: 'whsec_new', previousWebhookSecret: 'whsec_old', previousWebhookSecretUntil: at(60_000),
      credits: 5, rateLimitPerMinute: 60, maxUnfinished: 2, createdAt: at(0),
    });
    assert.deepEqual(await store.findApiKeyBySecretHash('legacy-hash'), {
      id: KEY, orgId: ORG, name: 'ops', scope: 'operator', createdAt: at(1), revokedAt: null, lastUsedAt: at(2),
    });
    const done: Artwork = {
      id: DONE, orgId: ORG, status: 'succeeded', parameters: parameters as Artwork['parameters'], createdAt: at(10), updatedAt: at(30),
      startedAt: at(20), completedAt: at(30), duration: 0.01, results, faces: faces as Artwork['faces'], engine: 'restorer', error: null,
      expiresAt: at(86_400_000),
    };
    assert.deepEqual(await store.getArtwork(ORG, DONE), done);
    assert.deepEqual((await store.listArtworks(ORG, 0, 10)).map((a) => a.id), [WAITING, DONE]);
    assert.deepEqual(await store.listDeliveryAttempts(DONE), [{ deliveryId: 'msg_legacy', attemptedAt: at(31), statusCode: 204, error: null, durationMs: 12 }]);
    assert.deepEqual(await store.beginIdempotent(ORG, 'legacy-key', 'hash', Date.now(), 1000), { state: 'done', statusCode: 202, body: '{"id":"legacy"}' });
    assert.deepEqual(await store.getUpload(UPLOAD), { id: UPLOAD, orgId: ORG, contentType: 'image/png', bytes: 1234, createdAt: at(5), expiresAt: at(3_600_000) });
    assert.equal(await store.getOrInitSetting('result-url-secret', 'new'), 'legacy-secret');
    assert.equal((await store.takeRateToken(ORG, 10, Date.now())).remaining, 9);
    const job = await queue.claim(Date.now(), 10_000);
    assert.equal(job?.artworkId, WAITING, 'the waiting job is still queued');
    assert.equal(await store.insertArtwork({ ...done, id: randomUUID(), status: 'starting', createdAt: at(50) }), 'inserted');
    assert.equal((await store.getOrganization(ORG))?.credits, 4, 'credits carried over and spent');
  } finally {
    await store.close();
  }
}

describe('existing databases migrate forward without losing data', () => {
  test('SQLite: legacy migrations 1-6 and their rows, then the shared line; the unused rate_buckets table goes', async () => {
    const file = sqliteTestFile();
    const legacy = openSqliteFile(file, 'FULL');
    // as the legacy runner did: the schema_migrations table, then each migration's SQL in one exec
    legacy.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of SQLITE_LEGACY_MIGRATIONS) {
      legacy.exec(m.sql);
      legacy.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }
    for (const row of ROWS) legacy.prepare(insertSql(row, () => '?')).run(...row[2]);
    legacy.prepare('INSERT INTO rate_buckets (key_id, tokens, updated_at) VALUES (?, ?, ?)').run(KEY, 1, 0);
    legacy.close();

    await assertReadsBack(sqliteStoreAt(file));
    const after = openSqliteFile(file, 'FULL');
    try {
      assert.equal(after.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'rate_buckets'`).pluck().get(), 0);
      const versions = after.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 100, 101]);
    } finally {
      after.close();
    }
  });

  test('PostgreSQL: legacy migrations 1-5 and their rows, then the shared line', { skip: TEST_DATABASE_URL ? undefined : 'TEST_DATABASE_URL is not set' }, async () => {
    const url = await freshPostgresSchema();
    const legacy = new pg.Client({ connectionString: url });
    await legacy.connect();
    try {
      await legacy.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)');
      for (const m of POSTGRES_LEGACY_MIGRATIONS) {
        await legacy.query(m.sql);
        await legacy.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())', [m.version, m.name]);
      }
      for (const row of ROWS) await legacy.query(insertSql(row, (i) => `$${i + 1}`), row[2]);
    } finally {
      await legacy.end();
    }
    await assertReadsBack(postgresStoreAt(url));
  });
});
