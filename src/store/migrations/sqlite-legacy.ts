/**
 * Frozen: the SQLite migrations 1-6 as they shipped before the shared version line (migrations/shared.ts, from
 * 100). Deployed databases have applied some or all of them; never edit or add to this list.
 */
export const SQLITE_LEGACY_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'init',
    sql: `
      CREATE TABLE organizations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        webhook_secret TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id),
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('generator', 'manager', 'admin')),
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE artworks (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id),
        status TEXT NOT NULL CHECK (status IN ('starting', 'processing', 'succeeded', 'failed', 'canceled')),
        parameters TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        duration REAL NOT NULL DEFAULT 0,
        results TEXT NOT NULL DEFAULT '[]',
        faces TEXT,
        error TEXT,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX artworks_org_created ON artworks (org_id, created_at DESC);
      CREATE INDEX artworks_expires ON artworks (expires_at);
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        artwork_id TEXT NOT NULL UNIQUE REFERENCES artworks(id) ON DELETE CASCADE,
        run_after INTEGER NOT NULL,
        lease_until INTEGER,
        lease_token TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX jobs_ready ON jobs (run_after, id);
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        artwork_id TEXT NOT NULL REFERENCES artworks(id) ON DELETE CASCADE,
        org_id TEXT NOT NULL,
        url TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE TABLE webhook_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        attempted_at TEXT NOT NULL,
        status_code INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL
      );
      CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'webhook-secret-grace',
    sql: `
      ALTER TABLE organizations ADD COLUMN previous_webhook_secret TEXT;
      ALTER TABLE organizations ADD COLUMN previous_webhook_secret_until TEXT;
    `,
  },
  {
    version: 3,
    name: 'limits-credits-idempotency',
    sql: `
      ALTER TABLE organizations ADD COLUMN credits INTEGER;
      ALTER TABLE organizations ADD COLUMN rate_limit_per_minute INTEGER;
      ALTER TABLE organizations ADD COLUMN max_unfinished INTEGER;
      CREATE TABLE rate_buckets (
        key_id TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE idempotency_keys (
        org_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in-flight', 'done')),
        status_code INTEGER,
        body TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (org_id, key)
      );
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
  {
    version: 4,
    name: 'uploads',
    sql: `
      CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id),
        content_type TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX uploads_expires ON uploads (expires_at);
    `,
  },
  {
    version: 5,
    name: 'artwork-engine',
    sql: `ALTER TABLE artworks ADD COLUMN engine TEXT;`,
  },
  {
    version: 6,
    name: 'operator-scope-quota-recovery',
    // SQLite cannot change a CHECK constraint in place: the keys table is copied into one that allows operator.
    sql: `
      CREATE TABLE api_keys_v6 (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id),
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('generator', 'manager', 'admin', 'operator')),
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
      );
      INSERT INTO api_keys_v6 (id, org_id, name, scope, secret_hash, created_at, revoked_at)
        SELECT id, org_id, name, scope, secret_hash, created_at, revoked_at FROM api_keys;
      DROP TABLE api_keys;
      ALTER TABLE api_keys_v6 RENAME TO api_keys;
      CREATE INDEX api_keys_org ON api_keys (org_id);
      ALTER TABLE uploads ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX uploads_org ON uploads (org_id);
      ALTER TABLE idempotency_keys ADD COLUMN artwork_id TEXT;
      ALTER TABLE idempotency_keys ADD COLUMN held_until INTEGER NOT NULL DEFAULT 0;
    `,
  },
];
