/**
 * The quick loop used to tune the engine's constants: the tuning half of the benchmark photos only (never the
 * held-back half), faces detected once on the clean photo and reused, gains at the given levels.
 * TUNING='{"noiseThreshold":2.5}' tries other constants; BENCH_LEVELS, BENCH_DEGRADATIONS, BENCH_PHOTOS narrow
 * the run; BENCH_HALF=held reports the held-back half instead (for the final check, not for tuning).
 */
import { detectFaces, type DetectedFace } from '../src/refine/detect.js';
import { DEFAULT_TUNING, type Tuning } from '../src/refine/enhance.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import { refineDetected } from '../src/refine/pipeline.js';
import { MODELS } from '../src/artworks/artwork.js';
import { BASELINES } from './lib/baselines.js';
import { DEGRADATIONS, jpeg } from './lib/degrade.js';
import { meanGradient, psnr } from './lib/metrics.js';
import { benchPhotos } from './lib/photos.js';

const tuning: Tuning = { ...DEFAULT_TUNING, ...(JSON.parse(process.env.TUNING ?? '{}') as Partial<Tuning>) };
const levels = (process.env.BENCH_LEVELS ?? '3').split(',').map(Number);
const half = process.env.BENCH_HALF === 'held' ? 'held back' : 'tuning';
const only = process.env.BENCH_PHOTOS?.split(',');
/** The benchmark's degradations, and JPEG quality 12 (the strength table's) when asked for by name. */
const ALL: Record<string, (i: RgbImage) => Promise<RgbImage>> = { ...DEGRADATIONS, 'JPEG quality 12': (i) => jpeg(i, 12) };
const degradations = process.env.BENCH_DEGRADATIONS?.split(',') ?? Object.keys(DEGRADATIONS);
const withBaselines = process.env.BENCH_BASELINES === '1';
const model = MODELS[0];

const detector = await MeshCheckedFaceDetector.create();
const rows: string[] = [];
const summary = new Map<string, number[]>();
for (const photo of benchPhotos().photos.filter((p) => p.half === half && (!only || only.includes(p.name)))) {
  const clean = await photo.load();
  const faces: DetectedFace[] = await detectFaces(detector, clean);
  const reference = refineDetected(clean, faces, { model, denoising: 3 }, tuning);
  const mask = Uint8Array.from(reference.coverage, (c) => (c >= 0.5 ? 1 : 0));
  for (const name of degradations) {
    const degraded = await (ALL[name] as (i: RgbImage) => Promise<RgbImage>)(clean);
    const base = psnr(degraded, clean, mask);
    const cells: string[] = [];
    for (const level of levels) {
      const refined = refineDetected(degraded, faces, { model, denoising: level }, tuning);
      const gain = name === 'clean' ? psnr(refined.image, clean, mask) : psnr(refined.image, clean, mask) - base;
      const gradient = meanGradient(refined.image, mask) / meanGradient(clean, mask);
      cells.push(`L${level} ${gain.toFixed(2)} (grad ${gradient.toFixed(2)})`);
      const key = `${name} L${level}`;
      summary.set(key, [...(summary.get(key) ?? []), gain]);
    }
    if (withBaselines) {
      for (const [filter, run] of Object.entries(BASELINES)) cells.push(`${filter} ${(psnr(run(degraded), clean, mask) - base).toFixed(2)}`);
    }
    const noise = refined3Noise(degraded, faces);
    rows.push(`${photo.name} | ${name} | ${cells.join(' | ')} | noise ${noise}`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
}
process.stdout.write(`\n${rows.join('\n')}\n\n`);
for (const [key, gains] of summary) {
  process.stdout.write(`${key}: mean ${(gains.reduce((a, b) => a + b, 0) / gains.length).toFixed(2)} min ${Math.min(...gains).toFixed(2)}\n`);
}

function refined3Noise(image: RgbImage, faces: DetectedFace[]): string {
  const diagnosed = refineDetected(image, faces.slice(0, 3), { model, denoising: 1 }, tuning).faces.map((f) => f.diagnosis);
  return diagnosed
    .map((d) => `${d.channelNoise.map((v) => v.toFixed(1)).join('/')} y${d.noiseSigma.toFixed(1)} q${d.jpegQuality ?? '-'} b${d.blurSigma.toFixed(2)}`)
    .join('; ');
}
