/**
 * Job wall time (POST to final status, through the real service on loopback) against sharp's own decode and
 * encode of the same image in the same run: the ratio says what face refinement costs on top of the minimum
 * any image service pays.
 */
import fs from 'node:fs';
import sharp from 'sharp';
import { ApiClient } from '../test/helpers/api.js';
import { LoopbackServer } from '../test/helpers/loopback.js';
import { fixture } from '../test/helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from '../test/helpers/service.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IMAGES = [
  { name: '512x512, 1 face (astronaut.png)', path: 'faces/astronaut.png' },
  { name: '2126x1463 group, ~29 faces (solvay-1927-2126.jpg)', path: 'faces/solvay-1927-2126.jpg' },
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function sharpBaselineMs(file: string): Promise<number> {
  const bytes = fs.readFileSync(file);
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const started = performance.now();
    const { data, info } = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
    await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).webp({ quality: 92 }).toBuffer();
    if (i > 0) times.push(performance.now() - started);
  }
  return median(times);
}

async function jobMs(api: ApiClient, imageUrl: string): Promise<{ ms: number; faces: number }> {
  const times: number[] = [];
  let faces = 0;
  for (let i = 0; i < RUNS + 1; i++) {
    const started = performance.now();
    const created = await api.create({ imageUrl });
    const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed'], 120_000, 5);
    if (done.status !== 'succeeded') throw new Error(`job failed: ${JSON.stringify(done.error)}`);
    faces = done.faces.length;
    if (i > 0) times.push(performance.now() - started);
  }
  return { ms: median(times), faces };
}

async function main(): Promise<void> {
  sharp.concurrency(1);
  const images = new LoopbackServer();
  await images.start();
  const service = new ServiceProcess(tempDataDir('bench'), { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '1000000' });
  const api = new ApiClient(await service.start(), ADMIN_KEY);
  try {
    const rows: string[] = [];
    for (const image of IMAGES) {
      const job = await jobMs(api, `${images.url}/fixtures/${image.path}`);
      const baseline = await sharpBaselineMs(fixture(image.path));
      rows.push(`| ${image.name} | ${job.faces} | ${job.ms.toFixed(0)} | ${baseline.toFixed(0)} | ${(job.ms / baseline).toFixed(1)}x |`);
    }
    process.stdout.write(
      `\nJob wall time, median of ${RUNS} after a warm-up (WORKER_CONCURRENCY=2, the machine's cores: ${(await import('node:os')).availableParallelism()})\n\n` +
        '| image | faces | job ms (POST to succeeded) | sharp decode+encode ms | ratio |\n|---|---|---|---|---|\n' +
        `${rows.join('\n')}\n`,
    );
  } finally {
    await service.stop();
    await images.stop();
  }
}

await main();
