/**
 * What `denoising` 1..5 does with a learned restorer. Level 3 is FaceFusion's own default (blend 80%, CodeFormer
 * weight 0.5); lower levels keep more of the photo, higher ones trust the model more. CodeFormer's weight is its
 * fidelity: 1 keeps closest to the input, 0 lets the model's face prior take over ("5 = least faithful").
 */
export const RESTORER_LEVELS: Record<1 | 2 | 3 | 4 | 5, { blend: number; codeformerWeight: number }> = {
  1: { blend: 0.4, codeformerWeight: 1 },
  2: { blend: 0.6, codeformerWeight: 0.75 },
  3: { blend: 0.8, codeformerWeight: 0.5 },
  4: { blend: 0.9, codeformerWeight: 0.25 },
  5: { blend: 1, codeformerWeight: 0 },
};

export function restorerLevel(denoising: number): { blend: number; codeformerWeight: number } {
  const level = Math.min(5, Math.max(1, Math.round(denoising))) as 1 | 2 | 3 | 4 | 5;
  return RESTORER_LEVELS[level];
}
