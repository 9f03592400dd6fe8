import type { ModelName } from '../artworks/artwork.js';

/** How hard each step works, for one model at one denoising level. */
export interface RefineStrength {
  /** Share of the repair (denoising, deblocking, deblurring at input resolution) tuned as best, 0..1. */
  repair: number;
  /**
   * Levels 4 and 5 repair a JPEG more thoroughly rather than harder (harder deblocking loses PSNR, measured): its
   * DCT windows slide by every pixel instead of the tuning's step, and its colour, stored at half resolution in
   * blocks of 16 px, is smoothed over this many times the tuning's radius. Not noise: every shift gains 0.08-0.2
   * dB there on the tuning half, but lost 0.004 dB at the held-back check on a 2x down-up photo whose film grain
   * reads as noise, and levels 4 and 5 must never gain less than 3.
   */
  thorough: { jpegDctStep?: number; jpegChromaReach: number };
  /** The share of the enhancement a JPEG-blocked face keeps at the least (0: none, as a heavily blocked face gets at level 3). */
  blockedCare: number;
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

type Level = Omit<RefineStrength, 'defective' | 'thorough' | 'blockedCare'>;

const LEVELS: Record<number, Level> = {
  1: { repair: 0.35, denoise: 0.8, sharpen: 0.15, skin: 0.2, localContrast: 0.02, blend: 0.6, enhanceRms: 1.2 },
  2: { repair: 0.65, denoise: 1.1, sharpen: 0.25, skin: 0.4, localContrast: 0.04, blend: 0.8, enhanceRms: 2.2 },
  3: { repair: 1, denoise: 1.4, sharpen: 0.35, skin: 0.6, localContrast: 0.06, blend: 1, enhanceRms: 3.6 },
  4: { repair: 1, denoise: 1.8, sharpen: 0.5, skin: 0.8, localContrast: 0.08, blend: 1, enhanceRms: 5 },
  5: { repair: 1, denoise: 2.4, sharpen: 0.7, skin: 1, localContrast: 0.1, blend: 1, enhanceRms: 6.5 },
};

/**
 * What levels 4 and 5 add on a degraded face, each paid for by what it gains. Tuning half at level 3 settings,
 * gain per photo at JPEG q20 / q12 (astronaut, solvay-gray-left, solvay-sepia-left, group-1, portrait):
 * as level 3: 0.63/0.61 0.98/1.16 0.94/1.10 1.04/1.24 1.07/1.15; every shift alone: 0.68/0.68 1.05/1.29
 * 1.02/1.24 1.09/1.33 1.19/1.27 (noise sigma 10: +0.08 to +0.2 dB), colour radius 4 adds up to +0.25 on the
 * colour photos at q12 (6 loses 0.25 on group-1 at q20); every shift, radius 4 and a blocked face's care 0.3
 * (level 5): 0.77/0.74 1.03/1.26 1.00/1.22 1.11/1.54 1.23/1.42, each at least level 3's; care 0.5 drops
 * solvay-gray-left and group-1 below level 3 at q20, as does level 5's own (stronger) enhancement at 0.3.
 */
const THOROUGH: Record<number, Pick<RefineStrength, 'thorough' | 'blockedCare'>> = {
  1: { thorough: { jpegChromaReach: 1 }, blockedCare: 0 },
  2: { thorough: { jpegChromaReach: 1 }, blockedCare: 0 },
  3: { thorough: { jpegChromaReach: 1 }, blockedCare: 0 },
  4: { thorough: { jpegDctStep: 1, jpegChromaReach: 2 }, blockedCare: 0.15 },
  5: { thorough: { jpegDctStep: 1, jpegChromaReach: 2 }, blockedCare: 0.3 },
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
  const enhancement = (level: Level): RefineStrength['defective'] => ({
    denoise: level.denoise * character.denoise,
    sharpen: level.sharpen * character.sharpen,
    skin: level.skin * character.skin,
    localContrast: level.localContrast,
    enhanceRms: level.enhanceRms * character.enhance,
  });
  const level = LEVELS[at] as Level;
  const thorough = THOROUGH[at] as Pick<RefineStrength, 'thorough' | 'blockedCare'>;
  return withEnhancement(enhancement(level), {
    thorough: thorough.thorough,
    blockedCare: thorough.blockedCare,
    repair: level.repair * character.repair,
    blend: level.blend,
    defective: enhancement(LEVELS[Math.min(3, at)] as Level),
  });
}

/**
 * A strength from its enhancement and the rest, written out rather than spread so that every strength has one
 * shape (see withPixels in image.ts).
 */
function withEnhancement(enhance: RefineStrength['defective'], rest: Omit<RefineStrength, keyof RefineStrength['defective']>): RefineStrength {
  return {
    denoise: enhance.denoise,
    sharpen: enhance.sharpen,
    skin: enhance.skin,
    localContrast: enhance.localContrast,
    enhanceRms: enhance.enhanceRms,
    thorough: rest.thorough,
    blockedCare: rest.blockedCare,
    repair: rest.repair,
    blend: rest.blend,
    defective: rest.defective,
  };
}

/** `strength` with the enhancement a face with something to repair gets (RefineStrength.defective). */
export function defectiveStrength(strength: RefineStrength): RefineStrength {
  return withEnhancement(strength.defective, strength);
}
