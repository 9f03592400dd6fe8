import type { ModelName } from '../artworks/artwork.js';

/** How hard each step works, for one model at one denoising level. */
export interface RefineStrength {
  /** Share of the repair (denoising, deblocking, deblurring at input resolution) tuned as best, 0..1. */
  repair: number;
  /** Edge-preserving smoothing threshold, as a multiple of the measured noise sigma. */
  denoise: number;
  /** Unsharp-mask amount on luminance for a sharp face. */
  sharpen: number;
  /** Skin evening, 0..1. */
  skin: number;
  /** Large-radius local contrast amount. */
  localContrast: number;
  /** Share of the refined face blended in, 0..1. */
  blend: number;
  /** How much enhancement (beyond repair) may change a face: RMS of the change, 8-bit levels. */
  enhanceRms: number;
  /**
   * The enhancement a face with something to repair gets: never more than level 3's, because on a degraded
   * face more sharpening and contrast bring back what repair removed (measured: levels 4 and 5 then lose to 3).
   */
  defective: Pick<RefineStrength, 'denoise' | 'sharpen' | 'skin' | 'localContrast' | 'enhanceRms'>;
}

const LEVELS: Record<number, Omit<RefineStrength, 'defective'>> = {
  1: { repair: 0.35, denoise: 0.8, sharpen: 0.15, skin: 0.2, localContrast: 0.02, blend: 0.6, enhanceRms: 1.2 },
  2: { repair: 0.65, denoise: 1.1, sharpen: 0.25, skin: 0.4, localContrast: 0.04, blend: 0.8, enhanceRms: 2.2 },
  3: { repair: 1, denoise: 1.4, sharpen: 0.35, skin: 0.6, localContrast: 0.06, blend: 1, enhanceRms: 3.6 },
  4: { repair: 1, denoise: 1.8, sharpen: 0.5, skin: 0.8, localContrast: 0.08, blend: 1, enhanceRms: 5 },
  5: { repair: 1, denoise: 2.4, sharpen: 0.7, skin: 1, localContrast: 0.1, blend: 1, enhanceRms: 6.5 },
};

/**
 * The two published model names get two characters: m-d favours detail (more sharpening, lighter smoothing),
 * m-f stays natural and closer to the original (more smoothing, less sharpening, less skin evening). Repair is
 * tuned for m-d; m-f's is a tenth stronger (smoother), which costs it a little PSNR.
 */
const MODEL_CHARACTER: Record<ModelName, { repair: number; denoise: number; sharpen: number; skin: number; enhance: number }> = {
  'tengrai-20231128-m-d.safetensors': { repair: 1, denoise: 0.9, sharpen: 1.25, skin: 1, enhance: 1 },
  'tengrai-20240423-m-f.safetensors': { repair: 1.1, denoise: 1.1, sharpen: 0.75, skin: 0.6, enhance: 0.7 },
};

export function strengthFor(model: ModelName, denoising: number): RefineStrength {
  const at = Math.min(5, Math.max(1, Math.round(denoising)));
  const character = MODEL_CHARACTER[model];
  const enhancement = (level: Omit<RefineStrength, 'defective'>): RefineStrength['defective'] => ({
    denoise: level.denoise * character.denoise,
    sharpen: level.sharpen * character.sharpen,
    skin: level.skin * character.skin,
    localContrast: level.localContrast,
    enhanceRms: level.enhanceRms * character.enhance,
  });
  const level = LEVELS[at] as Omit<RefineStrength, 'defective'>;
  return {
    ...enhancement(level),
    repair: level.repair * character.repair,
    blend: level.blend,
    defective: enhancement(LEVELS[Math.min(3, at)] as Omit<RefineStrength, 'defective'>),
  };
}
