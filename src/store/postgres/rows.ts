import type { Artwork } from '../../artworks/artwork.js';
import type { ApiKey, Organization, Scope } from '../store.js';

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

export interface ArtworkRow {
  id: string;
  org_id: string;
  status: Artwork['status'];
  parameters: Artwork['parameters'];
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  duration: number;
  results: Artwork['results'];
  faces: Artwork['faces'];
  engine: string | null;
  error: Artwork['error'];
  expires_at: Date;
}

export function artworkFromRow(row: ArtworkRow): Artwork {
  return {
    id: row.id,
    orgId: row.org_id,
    status: row.status,
    parameters: row.parameters,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    duration: row.duration,
    results: row.results,
    faces: row.faces,
    engine: row.engine,
    error: row.error,
    expiresAt: row.expires_at.toISOString(),
  };
}

export interface OrganizationRow {
  id: string;
  name: string;
  webhook_secret: string;
  previous_webhook_secret: string | null;
  previous_webhook_secret_until: Date | null;
  credits: number | null;
  rate_limit_per_minute: number | null;
  max_unfinished: number | null;
  created_at: Date;
}

export function organizationFromRow(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    webhookSecret: row.webhook_secret,
    previousWebhookSecret: row.previous_webhook_secret,
    previousWebhookSecretUntil: iso(row.previous_webhook_secret_until),
    credits: row.credits,
    rateLimitPerMinute: row.rate_limit_per_minute,
    maxUnfinished: row.max_unfinished,
    createdAt: row.created_at.toISOString(),
  };
}

export interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string;
  scope: Scope;
  created_at: Date;
  revoked_at: Date | null;
}

export function apiKeyFromRow(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    scope: row.scope,
    createdAt: row.created_at.toISOString(),
    revokedAt: iso(row.revoked_at),
  };
}
