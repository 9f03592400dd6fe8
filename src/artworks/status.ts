import type { ArtworkStatus } from './artwork.js';

export const FINAL_STATUSES: readonly ArtworkStatus[] = ['succeeded', 'failed', 'canceled'];

const NEXT: Record<ArtworkStatus, readonly ArtworkStatus[]> = {
  starting: ['processing', 'failed', 'canceled'],
  processing: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
};

export function isFinal(status: ArtworkStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** The status machine: a final status never changes again. */
export function canTransition(from: ArtworkStatus, to: ArtworkStatus): boolean {
  return NEXT[from].includes(to);
}

/** Statuses from which `to` may be reached; the stores use it in their conditional updates. */
export function statusesLeadingTo(to: ArtworkStatus): ArtworkStatus[] {
  return (Object.keys(NEXT) as ArtworkStatus[]).filter((from) => canTransition(from, to));
}
