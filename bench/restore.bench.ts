/**
 * Per-face time of a learned restorer of GFPGAN 1.4's size (a graph this bench builds: same input, same
 * convolution work, random weights; see lib/gfpgan-like-graph.ts) on ONNX Runtime's CPU provider with 1 and 2
 * intra-op threads, next to the classical engine on the same faces and sharp's decode+encode of the same photos,
 * all in the same run. The per-face time covers alignment, inference and building the change to blend.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/ingest/decode.js';
import { ClassicalEngine } from '../src/refine/engines/classical.js';
import type { FaceEngine } from '../src/refine/engines/engine.js';
import { detectFaces, type DetectedFace } from '../src/refine/detect.js';
import { engineProviders } from '../src/refine/engines/providers.js';
import { EngineRegistry } from '../src/refine/engines/registry.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import { installModel } from '../test/helpers/onnx-graphs.js';
import { fixture } from '../test/helpers/paths.js';
import { gfpganLikeGraph } from './lib/gfpgan-like-graph.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const PHOTOS = ['faces/astronaut.png', 'faces/grace-hopper.jpg', 'faces/camera-gray-turned.png'];
const MODEL = 'tengrai-20231128-m-d.safetensors' as const;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

interface Photo {
  name: string;
  bytes: Buffer;
  image: RgbImage;
  faces: DetectedFace[];
}

/** Median over runs (after one warm-up) of the mean time per face across all photos. */
async function perFaceMs(engine: FaceEngine, photos: Photo[]): Promise<number> {
  const faces = photos.reduce((sum, p) => sum + p.faces.length, 0);
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const started = performance.now();
    for (const photo of photos) {
      await engine.refineFaces({ image: photo.image, faces: photo.faces, model: MODEL, denoising: 3, seed: undefined, signal: undefined });
    }
    if (run > 0) times.push((performance.now() - started) / faces);
  }
  return median(times);
}

async function sharpFloorMs(photos: Photo[]): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const started = performance.now();
    for (const photo of photos) {
      const { data, info } = await sharp(photo.bytes).rotate().raw().toBuffer({ resolveWithObject: true });
      await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).webp({ quality: 92 }).toBuffer();
    }
    if (run > 0) times.push((performance.now() - started) / photos.length);
  }
  return median(times);
}

async function restorer(modelsDir: string, threads: number): Promise<{ registry: EngineRegistry; engine: FaceEngine }> {
  const settings = {
    bindings: { [MODEL]: { kind: 'restorer' as const, model: 'gfpgan_1.4' } },
    restorers: { modelsDir, userEntries: [], executionProvider: 'cpu' as const, intraOpThreads: threads },
  };
  const registry = new EngineRegistry(settings, engineProviders(settings));
  return { registry, engine: await registry.engineFor(MODEL) };
}

async function main(): Promise<void> {
  sharp.concurrency(1);
  const graph = gfpganLikeGraph();
  const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'face-refiner-bench-restore-'));
  installModel(modelsDir, 'gfpgan_1.4', graph.bytes);
  const detector = await MeshCheckedFaceDetector.create();
  const photos: Photo[] = [];
  for (const name of PHOTOS) {
    const bytes = fs.readFileSync(fixture(name));
    const { image } = await decodeImage(bytes, 1e8);
    photos.push({ name, bytes, image, faces: await detectFaces(detector, image) });
  }
  const faces = photos.reduce((sum, p) => sum + p.faces.length, 0);
  const floor = await sharpFloorMs(photos);
  const classical = await perFaceMs(new ClassicalEngine(), photos);
  const rows = [['classical engine', '-', classical]] as Array<[string, string, number]>;
  for (const threads of [1, 2]) {
    const { registry, engine } = await restorer(modelsDir, threads);
    rows.push(['GFPGAN-1.4-sized graph (ONNX Runtime, CPU)', String(threads), await perFaceMs(engine, photos)]);
    await registry.close();
  }
  fs.rmSync(modelsDir, { recursive: true, force: true });

  process.stdout.write(
    `\nRestorer graph: ${(graph.macs / 1e9).toFixed(1)} G multiply-accumulates per face (GFPGANv1Clean 512, channel multiplier 2), ` +
      `${(graph.bytes.length / 1e6).toFixed(1)} MB. ${faces} faces in ${photos.length} photos (${PHOTOS.join(', ')}); ` +
      `${os.availableParallelism()} cores; median of ${RUNS} runs after a warm-up.\n\n`,
  );
  process.stdout.write('| engine | intra-op threads | ms per face | x classical | x sharp decode+encode |\n|---|---|---|---|---|\n');
  for (const [engine, threads, ms] of rows) {
    process.stdout.write(`| ${engine} | ${threads} | ${ms.toFixed(0)} | ${(ms / classical).toFixed(1)} | ${(ms / floor).toFixed(1)} |\n`);
  }
  process.stdout.write(`| sharp decode + WebP encode (per photo) | - | ${floor.toFixed(0)} | ${(floor / classical).toFixed(2)} | 1.0 |\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
