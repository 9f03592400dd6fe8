/**
 * Job wall time (POST to final status, through the real service on loopback) against sharp's own decode and
 * encode of the same image in the same run: the ratio says what face refinement costs on top of the minimum
 * any image service pays. Then, in this process, the pipeline's stages one by one, detection alone on an
 * 800x600 photo, and what looking at right angles costs on a photo whose face is upside down.
 */
import os from 'node:os';
import fs from 'node:fs';
import sharp from 'sharp';
import { detectFaces } from '../src/refine/detect.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import { refineImage, type RefineTimings } from '../src/refine/pipeline.js';
import { ApiClient } from '../test/helpers/api.js';
import { LoopbackServer } from '../test/helpers/loopback.js';
import { fixture } from '../test/helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from '../test/helpers/service.js';
import { loadRgb } from './lib/degrade.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

interface BenchImage {
  name: string;
  bytes: Buffer;
}

/** The photos of issue 11's targets, made from committed fixtures so the bench needs nothing else. */
async function benchImages(): Promise<BenchImage[]> {
  const astronaut = fs.readFileSync(fixture('faces/astronaut.png'));
  return [
    {
      name: '800x532 JPEG, 1 face (astronaut, cropped)',
      bytes: await sharp(astronaut).resize(800, 532, { fit: 'cover', position: 'top' }).jpeg({ quality: 90 }).toBuffer(),
    },
    { name: '512x512 PNG, 1 face (astronaut.png)', bytes: astronaut },
    { name: '2126x1463 JPEG group, 29 faces (solvay-1927-2126.jpg)', bytes: fs.readFileSync(fixture('faces/solvay-1927-2126.jpg')) },
  ];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/**
 * Medians of `RUNS` timed calls after one untimed warm-up, each call right after a sharp decode + WebP encode of
 * `bytes`: on a shared machine the load changes from minute to minute, so the baseline is taken beside each run.
 */
async function timedBeside<T>(bytes: Buffer, run: () => Promise<T>): Promise<{ ms: number; baselineMs: number; last: T }> {
  let last = await run();
  const times: number[] = [];
  const baselines: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baselines.push(await sharpDecodeEncodeMs(bytes));
    const started = performance.now();
    last = await run();
    times.push(performance.now() - started);
  }
  return { ms: median(times), baselineMs: median(baselines), last };
}

async function sharpDecodeEncodeMs(bytes: Buffer): Promise<number> {
  const started = performance.now();
  const { data, info } = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).webp({ quality: 92 }).toBuffer();
  return performance.now() - started;
}

async function jobRows(images: BenchImage[]): Promise<string[]> {
  const server = new LoopbackServer();
  images.forEach((image, i) => server.route(`/bench/${i}`, (_req, res) => res.end(image.bytes)));
  await server.start();
  const service = new ServiceProcess(tempDataDir('bench'), { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '1000000' });
  const api = new ApiClient(await service.start(), ADMIN_KEY);
  try {
    const rows: string[] = [];
    for (const [i, image] of images.entries()) {
      const job = await timedBeside(image.bytes, async () => {
        const created = await api.create({ imageUrl: `${server.url}/bench/${i}` });
        const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed'], 120_000, 5);
        if (done.status !== 'succeeded') throw new Error(`job failed: ${JSON.stringify(done.error)}`);
        return done.faces.length;
      });
      rows.push(`| ${image.name} | ${job.last} | ${job.ms.toFixed(0)} | ${job.baselineMs.toFixed(0)} | ${(job.ms / job.baselineMs).toFixed(1)}x |`);
    }
    return rows;
  } finally {
    await service.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  sharp.concurrency(1);
  const images = await benchImages();
  const jobs = await jobRows(images);

  const detector = await MeshCheckedFaceDetector.create();
  const stages: string[] = [];
  for (const image of images) {
    const runs: RefineTimings[] = [];
    const { baselineMs } = await timedBeside(image.bytes, async () => {
      const result = await refineImage(detector, image.bytes, { model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'auto', maxPixels: 50_000_000 });
      runs.push(result.timings);
    });
    const m = (key: keyof RefineTimings): number => median(runs.slice(1).map((t) => t[key]));
    const total = m('decodeMs') + m('detectMs') + m('refineMs') + m('encodeMs');
    stages.push(
      `| ${image.name} | ${m('decodeMs').toFixed(0)} | ${m('detectMs').toFixed(0)} | ${m('refineMs').toFixed(0)} | ${m('encodeMs').toFixed(0)} | ${total.toFixed(0)} | ${baselineMs.toFixed(0)} | ${(total / baselineMs).toFixed(1)}x |`,
    );
  }

  const portrait = await sharp(fixture('faces/grace-hopper.jpg')).resize(800, 600, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  const pagoda = await sharp(fixture('negatives/china-pagoda.jpg')).resize(800, 600, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  const upsideDown = await sharp(portrait).rotate(180).jpeg({ quality: 90 }).toBuffer();
  const detectRow = async (name: string, bytes: Buffer, rightAngles = true): Promise<string> => {
    const image = await loadRgb(bytes);
    // CPU time as well: detection runs on one thread, so on a busy machine its CPU time is what it would take alone.
    const cpu: number[] = [];
    const { ms, baselineMs, last } = await timedBeside(bytes, async () => {
      const before = process.cpuUsage();
      const faces = await detectFaces(detector, image, { rightAngles });
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / 1000);
      return faces;
    });
    const cpuMs = median(cpu.slice(1));
    return `| ${name} | ${last.length} | ${ms.toFixed(0)} | ${cpuMs.toFixed(0)} | ${baselineMs.toFixed(0)} | ${(ms / baselineMs).toFixed(1)}x |`;
  };
  const detection = [
    await detectRow('portrait, upright', portrait),
    await detectRow('the same upside down: upright pass, then the half-turn pass finds it', upsideDown),
    await detectRow('the same upside down, right angles off', upsideDown, false),
    await detectRow('no face (pagoda): upright + three turned passes', pagoda),
    await detectRow('no face, right angles off', pagoda, false),
  ];
  const busy = os.loadavg()[0]?.toFixed(1) ?? '?';

  process.stdout.write(
    `\nMedians of ${RUNS} runs after a warm-up; ${os.availableParallelism()} cores, 1-minute load average at the end ${busy}` +
      ' (other processes on a shared machine make absolute times noisy: compare the ratios, measured in the same run).\n\n' +
      'Job wall time (WORKER_CONCURRENCY = cores), POST to succeeded, against sharp decode + WebP encode of the same file:\n\n' +
      '| image | faces | job ms | sharp decode+encode ms | ratio |\n|---|---|---|---|---|\n' +
      `${jobs.join('\n')}\n\n` +
      'Pipeline stages in one thread (refineImage, WebP output), ms:\n\n' +
      '| image | decode | detect | refine | encode | total | sharp decode+encode | ratio |\n|---|---|---|---|---|---|---|---|\n' +
      `${stages.join('\n')}\n\n` +
      'Detection alone (detectFaces on decoded pixels), 800x600 JPEG, ms:\n\n' +
      '| photo | faces | detect (wall) | detect (CPU) | sharp decode+encode | ratio (wall) |\n|---|---|---|---|---|---|\n' +
      `${detection.join('\n')}\n`,
  );
}

await main();
