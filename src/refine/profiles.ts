import type { ModelName } from '../artworks/artwork.js';

/** How hard each step works, for one model at one denoising level. */
export interface RefineStrength {
  /** Edge-preserving smoothing threshold, as a multiple of the measured noise sigma. */
  denoise: number;
  /** Unsharp-mask amount on luminance. */
  sharpen: number;
  /** Share of the refined face blended in, 0..1. */
  blend: number;
}

const LEVELS: Record<number, RefineStrength> = {
  1: { denoise: 0.8, sharpen: 0.2, blend: 0.6 },
  2: { denoise: 1.2, sharpen: 0.35, blend: 0.75 },
  3: { denoise: 1.6, sharpen: 0.5, blend: 0.9 },
  4: { denoise: 2.2, sharpen: 0.75, blend: 1 },
  5: { denoise: 3.0, sharpen: 1.1, blend: 1 },
};

/**
 * The two published model names get two characters: m-d favours detail (more sharpening, lighter smoothing),
 * m-f stays natural and closer to the original (more smoothing, less sharpening).
 */
const MODEL_CHARACTER: Record<ModelName, { denoise: number; sharpen: number }> = {
  'tengrai-20231128-m-d.safetensors': { denoise: 0.85, sharpen: 1.25 },
  'tengrai-20240423-m-f.safetensors': { denoise: 1.1, sharpen: 0.7 },
};

export function strengthFor(model: ModelName, denoising: number): RefineStrength {
  const level = LEVELS[Math.min(5, Math.max(1, Math.round(denoising)))] as RefineStrength;
  const character = MODEL_CHARACTER[model];
  return {
    denoise: level.denoise * character.denoise,
    sharpen: level.sharpen * character.sharpen,
    blend: level.blend,
  };
}
