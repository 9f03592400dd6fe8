import { randomUUID } from 'node:crypto';
import type { Artwork, ArtworkParameters } from './artwork.js';

const DAY_MS = 86_400_000;

export function newArtwork(orgId: string, parameters: ArtworkParameters, now: Date, retentionDays: number): Artwork {
  const createdAt = now.toISOString();
  return {
    id: randomUUID(),
    orgId,
    status: 'starting',
    parameters,
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    completedAt: null,
    duration: 0,
    results: [],
    faces: null,
    engine: null,
    error: null,
    expiresAt: new Date(now.getTime() + retentionDays * DAY_MS).toISOString(),
  };
}
