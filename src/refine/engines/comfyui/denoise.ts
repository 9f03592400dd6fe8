/**
 * The API's denoising level 1..5 as KSampler's denoise (the share of the sampling schedule that is re-run on
 * the face). Level 3, the API's default, is ADetailer's default of 0.4; each level moves by 0.1. Above about
 * 0.6 inpainting starts to replace the person rather than refine them, so the scale stops there.
 */
export const DENOISE_BY_LEVEL: Readonly<Record<number, number>> = { 1: 0.2, 2: 0.3, 3: 0.4, 4: 0.5, 5: 0.6 };

export function samplerDenoise(level: number): number {
  const value = DENOISE_BY_LEVEL[Math.min(5, Math.max(1, Math.round(level)))];
  if (value === undefined) throw new Error(`Expected a denoising level 1..5 but received ${level}`);
  return value;
}
