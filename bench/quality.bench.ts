/**
 * Quality benchmark: degrade each clean face photo, refine it, and measure how close the result comes back to
 * the clean photo inside the face masks, next to the degraded input and two plain filters.
 * BENCH_PHOTOS (comma-separated file names) and BENCH_LEVELS (e.g. "3") narrow the run.
 */
import { detectFaces, iou } from '../src/refine/detect.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import { HumanEmbeddingDetector } from '../src/refine/human-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import { refineFaces } from '../src/refine/pipeline.js';
import { MODELS, type ModelName } from '../src/artworks/artwork.js';
import { fixture } from '../test/helpers/paths.js';
import { BASELINES, DEGRADATIONS, loadRgb } from './lib/degrade.js';
import { maxChangeOutside, meanGradient, psnr, ssim } from './lib/metrics.js';

const PHOTOS = (process.env.BENCH_PHOTOS ?? 'astronaut.png,grace-hopper.jpg,camera-gray-turned.png,solvay-1927-gray-1280.png').split(',');
const LEVELS = (process.env.BENCH_LEVELS ?? '1,2,3,4,5').split(',').map(Number);
const TARGETS: Record<string, number> = {
  'noise sigma 10': 4.5,
  'JPEG quality 20': 0.5,
  'blur sigma 1.5': 1.0,
  '2x down then up': 0,
};
const short = (model: ModelName): string => (model.includes('m-d') ? 'm-d' : 'm-f');

interface Row {
  photo: string;
  degradation: string;
  method: string;
  model?: ModelName;
  level?: number;
  psnr: number;
  ssim: number;
  gain: number;
  identity?: number;
  outside?: number;
  msPerFace?: number;
  gradientRatio?: number;
}

async function main(): Promise<void> {
  const detector = await MeshCheckedFaceDetector.create();
  const embedder = await HumanEmbeddingDetector.create({ embeddings: true });
  const rows: Row[] = [];
  for (const photo of PHOTOS) {
    const path = fixture(`faces/${photo}`);
    const clean = await loadRgb(path);
    const reference = await refineFaces(detector, clean, { model: MODELS[0], denoising: 3 });
    const mask = Uint8Array.from(reference.coverage, (c) => (c >= 0.5 ? 1 : 0));
    const identityFaces = reference.faces.length <= 3 ? await detectFaces(embedder, clean) : [];
    const identity = async (image: RgbImage): Promise<number | undefined> => {
      if (identityFaces.length === 0) return undefined;
      const found = await detectFaces(embedder, image);
      const scores = identityFaces.map((face) => {
        const match = found.find((f) => iou(f.box, face.box) > 0.4);
        return match?.embedding && face.embedding ? embedder.similarity(face.embedding, match.embedding) : 0;
      });
      return scores.reduce((a, b) => a + b, 0) / scores.length;
    };
    const cleanGradient = meanGradient(clean, mask);
    for (const [degradation, degrade] of Object.entries(DEGRADATIONS)) {
      const degraded = await degrade(clean);
      const base = psnr(degraded, clean, mask);
      rows.push({ photo, degradation, method: 'degraded input', psnr: base, ssim: ssim(degraded, clean, mask), gain: 0 });
      for (const [name, filter] of Object.entries(BASELINES)) {
        const filtered = await filter(degraded);
        const value = psnr(filtered, clean, mask);
        rows.push({ photo, degradation, method: name, psnr: value, ssim: ssim(filtered, clean, mask), gain: value - base });
      }
      for (const model of MODELS) {
        for (const level of LEVELS) {
          const refined = await refineFaces(detector, degraded, { model, denoising: level });
          const value = psnr(refined.image, clean, mask);
          rows.push({
            photo,
            degradation,
            method: `${short(model)} level ${level}`,
            model,
            level,
            psnr: value,
            ssim: ssim(refined.image, clean, mask),
            gain: value - base,
            identity: await identity(refined.image),
            outside: maxChangeOutside(refined.image, degraded, refined.coverage),
            msPerFace: refined.refineMs / Math.max(1, refined.faces.length),
            gradientRatio: meanGradient(refined.image, mask) / cleanGradient,
          });
        }
      }
      process.stderr.write(`${photo}: ${degradation} done\n`);
    }
  }
  report(rows);
}

const f = (value: number | undefined, digits = 2): string => (value === undefined ? '-' : value.toFixed(digits));

function report(rows: Row[]): void {
  const out: string[] = [];
  out.push('## Face PSNR / SSIM against the clean photo (inside the face masks)\n');
  out.push('| photo | degradation | method | PSNR dB | gain dB | SSIM | identity | max change outside | ms/face | gradient vs clean |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    out.push(
      `| ${r.photo} | ${r.degradation} | ${r.method} | ${f(r.psnr)} | ${f(r.gain)} | ${f(r.ssim, 3)} | ${f(r.identity, 3)} | ${f(r.outside, 0)} | ${f(r.msPerFace, 0)} | ${f(r.gradientRatio)} |`,
    );
  }
  out.push('\n## Targets at denoising 3 (mean gain over the photos; worst single photo)\n');
  out.push('| degradation | model | mean gain dB | worst photo dB | target | blur 0.7 mean | unsharp mean | verdict |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const [degradation, target] of Object.entries(TARGETS)) {
    const baseline = (method: string): number => mean(rows.filter((r) => r.degradation === degradation && r.method === method).map((r) => r.gain));
    for (const model of MODELS) {
      const gains = rows.filter((r) => r.degradation === degradation && r.model === model && r.level === 3).map((r) => r.gain);
      if (gains.length === 0) continue;
      const ok = mean(gains) >= target && Math.min(...gains) >= -0.3;
      out.push(
        `| ${degradation} | ${short(model)} | ${f(mean(gains))} | ${f(Math.min(...gains))} | >= ${target} | ${f(baseline('gaussian blur 0.7'))} | ${f(baseline('strong unsharp mask'))} | ${ok ? 'met' : 'NOT met'} |`,
      );
    }
  }
  out.push('\n## Clean photos (refining what is already good)\n');
  out.push('| model | level | mean PSNR vs input dB | min PSNR dB | mean gradient gain | min identity |');
  out.push('|---|---|---|---|---|---|');
  for (const model of MODELS) {
    for (const level of LEVELS) {
      const clean = rows.filter((r) => r.degradation === 'clean' && r.model === model && r.level === level);
      if (clean.length === 0) continue;
      const ids = rows.filter((r) => r.model === model && r.level === level && r.identity !== undefined).map((r) => r.identity as number);
      out.push(
        `| ${short(model)} | ${level} | ${f(mean(clean.map((r) => r.psnr)))} | ${f(Math.min(...clean.map((r) => r.psnr)))} | ${f(100 * (mean(clean.map((r) => r.gradientRatio ?? 1)) - 1), 1)}% | ${f(ids.length ? Math.min(...ids) : undefined, 3)} |`,
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

await main();
