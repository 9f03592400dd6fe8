import type { Artwork } from '../../artworks/artwork.js';
import type { ApiKey, Organization, Scope } from '../store.js';

export interface ArtworkRow {
  id: string;
  org_id: string;
  status: Artwork['status'];
  parameters: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration: number;
  results: string;
  faces: string | null;
  engine: string | null;
  error: string | null;
  expires_at: string;
}

export function artworkFromRow(row: ArtworkRow): Artwork {
  return {
    id: row.id,
    orgId: row.org_id,
    status: row.status,
    parameters: JSON.parse(row.parameters) as Artwork['parameters'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    duration: row.duration,
    results: JSON.parse(row.results) as Artwork['results'],
    faces: row.faces === null ? null : (JSON.parse(row.faces) as Artwork['faces']),
    engine: row.engine,
    error: row.error === null ? null : (JSON.parse(row.error) as Artwork['error']),
    expiresAt: row.expires_at,
  };
}

export interface OrganizationRow {
  id: string;
  name: string;
  webhook_secret: string;
  previous_webhook_secret: string | null;
  previous_webhook_secret_until: string | null;
  credits: number | null;
  rate_limit_per_minute: number | null;
  max_unfinished: number | null;
  created_at: string;
}

export function organizationFromRow(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    webhookSecret: row.webhook_secret,
    previousWebhookSecret: row.previous_webhook_secret,
    previousWebhookSecretUntil: row.previous_webhook_secret_until,
    credits: row.credits,
    rateLimitPerMinute: row.rate_limit_per_minute,
    maxUnfinished: row.max_unfinished,
    createdAt: row.created_at,
  };
}

export interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string;
  scope: Scope;
  created_at: string;
  revoked_at: string | null;
}

export function apiKeyFromRow(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    scope: row.scope,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
