import type { Artwork, ArtworkError, ArtworkParameters, FaceReport } from './artwork.js';
import type { ResultLinks } from './signed-urls.js';

/** The artwork as clients see it: the published fields first, then the additive ones. */
export interface PublicArtwork {
  id: string;
  artworkType: 'face_refiner';
  parameters: ArtworkParameters;
  duration: number;
  results: string[];
  status: Artwork['status'];
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  faces: FaceReport[] | null;
  engine: string | null;
  error: ArtworkError | null;
  resultsExpireAt: string;
}

export async function presentArtwork(artwork: Artwork, links: ResultLinks): Promise<PublicArtwork> {
  const results =
    artwork.status === 'succeeded' ? await Promise.all(artwork.results.map((_, index) => links.url(artwork, index))) : [];
  return {
    id: artwork.id,
    artworkType: 'face_refiner',
    parameters: artwork.parameters,
    duration: Math.round(artwork.duration * 1000) / 1000,
    results,
    status: artwork.status,
    createdAt: artwork.createdAt,
    updatedAt: artwork.updatedAt,
    startedAt: artwork.startedAt,
    completedAt: artwork.completedAt,
    faces: artwork.faces,
    engine: artwork.engine,
    error: artwork.error,
    resultsExpireAt: artwork.expiresAt,
  };
}
