/**
 * Frozen: the PostgreSQL migrations 1-5 as they shipped before the shared version line (migrations/shared.ts, from
 * 100). Deployed databases have applied some or all of them; never edit or add to this list.
 */
export const POSTGRES_LEGACY_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'init',
    sql: `
      CREATE TABLE organizations (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        webhook_secret text NOT NULL,
        previous_webhook_secret text,
        previous_webhook_secret_until timestamptz,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id),
        name text NOT NULL,
        scope text NOT NULL CHECK (scope IN ('generator', 'manager', 'admin')),
        secret_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE TABLE artworks (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL,
        org_id uuid NOT NULL REFERENCES organizations(id),
        status text NOT NULL CHECK (status IN ('starting', 'processing', 'succeeded', 'failed', 'canceled')),
        parameters jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        started_at timestamptz,
        completed_at timestamptz,
        duration double precision NOT NULL DEFAULT 0,
        results jsonb NOT NULL DEFAULT '[]',
        faces jsonb,
        error jsonb,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX artworks_org_created ON artworks (org_id, created_at DESC, seq DESC);
      CREATE INDEX artworks_expires ON artworks (expires_at);
      CREATE TABLE jobs (
        id bigserial PRIMARY KEY,
        artwork_id uuid NOT NULL UNIQUE REFERENCES artworks(id) ON DELETE CASCADE,
        run_after bigint NOT NULL,
        lease_until bigint,
        lease_token uuid,
        attempts integer NOT NULL DEFAULT 0
      );
      CREATE INDEX jobs_ready ON jobs (run_after, id);
      CREATE TABLE webhook_deliveries (
        id text PRIMARY KEY,
        artwork_id uuid NOT NULL REFERENCES artworks(id) ON DELETE CASCADE,
        org_id uuid NOT NULL,
        url text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE TABLE webhook_attempts (
        id bigserial PRIMARY KEY,
        delivery_id text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        attempted_at timestamptz NOT NULL,
        status_code integer,
        error text,
        duration_ms integer NOT NULL
      );
      CREATE TABLE settings (
        name text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'limits-credits-idempotency',
    sql: `
      ALTER TABLE organizations ADD COLUMN credits bigint;
      ALTER TABLE organizations ADD COLUMN rate_limit_per_minute integer;
      ALTER TABLE organizations ADD COLUMN max_unfinished integer;
      CREATE TABLE rate_buckets (
        key_id uuid PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE TABLE idempotency_keys (
        org_id uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        state text NOT NULL CHECK (state IN ('in-flight', 'done')),
        status_code integer,
        body text,
        created_at bigint NOT NULL,
        PRIMARY KEY (org_id, key)
      );
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
  {
    version: 3,
    name: 'uploads',
    sql: `
      CREATE TABLE uploads (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id),
        content_type text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX uploads_expires ON uploads (expires_at);
    `,
  },
  {
    version: 4,
    name: 'artwork-engine',
    sql: `ALTER TABLE artworks ADD COLUMN engine text;`,
  },
  {
    version: 5,
    name: 'operator-scope-quota-recovery',
    sql: `
      ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check;
      ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('generator', 'manager', 'admin', 'operator'));
      ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
      CREATE INDEX api_keys_org ON api_keys (org_id);
      ALTER TABLE uploads ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
      CREATE INDEX uploads_org ON uploads (org_id);
      ALTER TABLE idempotency_keys ADD COLUMN artwork_id uuid;
      ALTER TABLE idempotency_keys ADD COLUMN held_until bigint NOT NULL DEFAULT 0;
    `,
  },
];
