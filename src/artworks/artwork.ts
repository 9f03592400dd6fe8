export const MODELS = ['tengrai-20231128-m-d.safetensors', 'tengrai-20240423-m-f.safetensors'] as const;
export type ModelName = (typeof MODELS)[number];
export const DEFAULT_MODEL: ModelName = 'tengrai-20231128-m-d.safetensors';

export const OUTPUT_FORMATS = ['auto', 'png', 'webp', 'jpeg'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** How much each face is changed: 1 (very subtle) to 5 (extreme), as the published API defines it. */
export const DENOISING = { min: 1, max: 5, default: 3 } as const;
/** A seed is a positive 32-bit signed integer, as the published API's newer doc has it. */
export const SEED = { min: 1, max: 2_147_483_647 } as const;

export const ARTWORK_STATUSES = ['starting', 'processing', 'succeeded', 'failed', 'canceled'] as const;
export type ArtworkStatus = (typeof ARTWORK_STATUSES)[number];

export interface ArtworkParameters {
  imageUrl: string;
  model: ModelName;
  denoising: number;
  webhook?: string;
  seed?: number;
  outputFormat: OutputFormat;
}

export interface FaceReport {
  /** [x, y, width, height] in the upright input's pixels. */
  box: [number, number, number, number];
  score: number;
}

export interface ArtworkError {
  code: string;
  message: string;
}

export interface StoredResult {
  key: string;
  contentType: string;
}

/** An artwork as the store keeps it. Timestamps are ISO-8601 strings. */
export interface Artwork {
  id: string;
  orgId: string;
  status: ArtworkStatus;
  parameters: ArtworkParameters;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  /** Seconds of processing; 0 until final. */
  duration: number;
  results: StoredResult[];
  faces: FaceReport[] | null;
  /** The engine that refined the faces (`classical`, a restorer's name, `comfyui:<ckpt>`); null until it succeeded. */
  engine: string | null;
  error: ArtworkError | null;
  expiresAt: string;
}

/** Where the blobs of one artwork live; deleting the prefix deletes them all. */
export function artworkBlobPrefix(artworkId: string): string {
  return `artworks/${artworkId}/`;
}

/** Where an uploaded image's bytes live. */
export function uploadBlobPrefix(uploadId: string): string {
  return `uploads/${uploadId}/`;
}
