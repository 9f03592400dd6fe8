/**
 * Scale-out benchmark. 1) Job throughput with 1, 2 and 4 worker processes (WORKER_CONCURRENCY=1 each) behind
 * one API process, on PostgreSQL with a shared blob directory, 512x512 one-face images; baseline: sharp's
 * decode+encode of the same image in one process. 2) The queue's own cost per job (insert, claim, finish of
 * an empty job) on SQLite and PostgreSQL; baseline: one INSERT and one DELETE of a row in the same database.
 * 3) Pickup latency on PostgreSQL (a job's startedAt, when it was claimed, minus its createdAt), one job at a
 * time, for a worker process behind an API process; baseline: one `serve` process, whose API wakes its own
 * runner in-process.
 * 4) Claim cost with a backlog (BENCH_BACKLOG_JOBS ready jobs over 10 organizations, two with jobs running: claims
 * pick the organization with the fewest running, so they read the whole ready set); baseline: the same as 2).
 * BENCH_PARTS (comma-separated: throughput, queue, pickup, backlog; default all) picks what runs.
 * PostgreSQL comes from TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
 */
import fs from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { newArtwork } from '../src/artworks/new-artwork.js';
import { ApiClient } from '../test/helpers/api.js';
import { freshPostgresSchema, postgresUnderTest, sqliteUnderTest, type StoreUnderTest } from '../test/helpers/backends.js';
import { LoopbackServer } from '../test/helpers/loopback.js';
import { fixture } from '../test/helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from '../test/helpers/service.js';

process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
const JOBS = Number(process.env.BENCH_JOBS ?? 40);
const QUEUE_JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 1000);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 40);
const BACKLOG_JOBS = Number(process.env.BENCH_BACKLOG_JOBS ?? 5000);
const BACKLOG_CLAIMS = 200;
const PARTS = new Set((process.env.BENCH_PARTS ?? 'throughput,queue,pickup,backlog').split(','));

async function throughput(workers: number, imageUrl: string): Promise<number> {
  const dataDir = tempDataDir('scale-bench');
  const env = {
    DATABASE_URL: await freshPostgresSchema(),
    WORKER_CONCURRENCY: '1',
    MAX_UNFINISHED_ARTWORKS: '100000',
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const processes = [new ServiceProcess(dataDir, env, ['serve', '--no-worker'])];
  for (let i = 0; i < workers; i++) processes.push(new ServiceProcess(dataDir, env, ['worker']));
  try {
    for (const p of processes) await p.start();
    const api = new ApiClient((processes[0] as ServiceProcess).url, ADMIN_KEY);
    const started = performance.now();
    for (let i = 0; i < JOBS; i++) await api.create({ imageUrl });
    for (;;) {
      const list = (await api.request('GET', `/v2/artworks?limit=${JOBS}`)).body as Array<{ status: string }>;
      if (list.every((a) => a.status === 'succeeded' || a.status === 'failed')) {
        if (list.some((a) => a.status === 'failed')) throw new Error('a job failed');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return JOBS / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
  }
}

interface Pickup {
  median: number;
  p90: number;
  max: number;
}

/**
 * Claimed-minus-created times of `PICKUP_JOBS` jobs, each created once the one before is final, after a random
 * pause of up to 0.5 s so creations fall anywhere in a poll interval.
 */
async function pickupMs(workerProcess: boolean, imageUrl: string): Promise<Pickup> {
  const dataDir = tempDataDir('pickup-bench');
  const env = { DATABASE_URL: await freshPostgresSchema(), WORKER_CONCURRENCY: '1' };
  const processes = workerProcess
    ? [new ServiceProcess(dataDir, env, ['serve', '--no-worker']), new ServiceProcess(dataDir, env, ['worker'])]
    : [new ServiceProcess(dataDir, env, ['serve'])];
  const waits: number[] = [];
  try {
    for (const p of processes) await p.start();
    const api = new ApiClient((processes[0] as ServiceProcess).url, ADMIN_KEY);
    for (let i = 0; i < PICKUP_JOBS; i++) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      const { id } = (await api.create({ imageUrl })).body as { id: string };
      for (;;) {
        const artwork = (await api.get(id)).body as { status: string; createdAt: string; startedAt: string | null };
        if (artwork.status === 'succeeded' || artwork.status === 'failed') {
          waits.push(Date.parse(artwork.startedAt ?? '') - Date.parse(artwork.createdAt));
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
  }
  if (waits.some(Number.isNaN)) throw new Error('a job has no startedAt');
  waits.sort((a, b) => a - b);
  const at = (q: number): number => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] as number;
  return { median: at(0.5), p90: at(0.9), max: at(1) };
}

async function queueCostMs(open: () => Promise<StoreUnderTest>): Promise<{ perJob: number; baseline: number }> {
  const backend = await open();
  const org = await backend.store.createOrganization('bench', 'whsec_x');
  const params = { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors' as const, denoising: 3, outputFormat: 'png' as const };
  let started = performance.now();
  for (let i = 0; i < QUEUE_JOBS; i++) {
    await backend.store.insertArtwork(newArtwork(org.id, params, new Date(), 8));
    const job = await backend.queue.claim(Date.now(), 10_000);
    if (!job) throw new Error('no job');
    await backend.queue.finish(job, { status: 'succeeded', results: [], faces: [], duration: 0 }, new Date());
  }
  const perJob = (performance.now() - started) / QUEUE_JOBS;
  started = performance.now();
  for (let i = 0; i < QUEUE_JOBS; i++) {
    await backend.store.getOrInitSetting(`bench-${i}`, 'x');
  }
  const baseline = (performance.now() - started) / QUEUE_JOBS;
  await backend.close();
  return { perJob, baseline };
}

async function backlogClaimMs(open: () => Promise<StoreUnderTest>): Promise<{ perClaim: number; baseline: number }> {
  const backend = await open();
  const orgs = [];
  for (let i = 0; i < 10; i++) orgs.push(await backend.store.createOrganization(`bench-${i}`, 'whsec_x'));
  const params = { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors' as const, denoising: 3, outputFormat: 'png' as const };
  const t = Date.now() - 60_000;
  for (let i = 0; i < BACKLOG_JOBS; i++) {
    // most of the backlog is one organization's, as when one floods the queue
    const owner = orgs[i % 4 === 0 ? 1 + ((i / 4) % 9) : 0];
    if (owner) await backend.store.insertArtwork(newArtwork(owner.id, params, new Date(t + i), 8));
  }
  const now = Date.now();
  // two organizations have a job running all along
  await backend.queue.claim(now, 3_600_000);
  await backend.queue.claim(now, 3_600_000);
  let claiming = 0;
  for (let i = 0; i < BACKLOG_CLAIMS; i++) {
    const started = performance.now();
    const job = await backend.queue.claim(now, 10_000);
    claiming += performance.now() - started;
    if (!job) throw new Error('no job');
    await backend.queue.finish(job, { status: 'succeeded', results: [], faces: [], duration: 0 }, new Date());
  }
  const started = performance.now();
  for (let i = 0; i < BACKLOG_CLAIMS; i++) await backend.store.getOrInitSetting(`bench-${i}`, 'x');
  const baseline = (performance.now() - started) / BACKLOG_CLAIMS;
  await backend.close();
  return { perClaim: claiming / BACKLOG_CLAIMS, baseline };
}

async function main(): Promise<void> {
  const images = new LoopbackServer();
  await images.start();
  const bytes = fs.readFileSync(fixture('faces/astronaut.png'));
  sharp.concurrency(1);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).webp({ quality: 92 }).toBuffer();
    if (i > 0) times.push(performance.now() - t);
  }
  const sharpPerSecond = 1000 / (times.sort((a, b) => a - b)[2] as number);
  const imageUrl = `${images.url}/fixtures/faces/astronaut.png`;
  const rows: string[] = [];
  let pickup: { worker: Pickup; serve: Pickup } | undefined;
  try {
    if (PARTS.has('throughput')) {
      for (const workers of [1, 2, 4]) {
        const rate = await throughput(workers, imageUrl);
        rows.push(`| ${workers} | ${rate.toFixed(2)} | ${sharpPerSecond.toFixed(1)} | ${(rate / sharpPerSecond).toFixed(3)} |`);
      }
    }
    if (PARTS.has('pickup')) pickup = { serve: await pickupMs(false, imageUrl), worker: await pickupMs(true, imageUrl) };
  } finally {
    await images.stop();
  }
  if (rows.length > 0) {
    process.stdout.write(
      `\nJob throughput, ${JOBS} jobs of 512x512 with one face, one API process, worker processes with WORKER_CONCURRENCY=1, ` +
        `PostgreSQL, ${os.availableParallelism()} cores\n\n` +
        '| worker processes | jobs/s | sharp decode+encode/s (1 thread) | ratio |\n|---|---|---|---|\n' +
        `${rows.join('\n')}\n`,
    );
  }
  if (PARTS.has('queue')) {
    const sqlite = await queueCostMs(sqliteUnderTest);
    const postgres = await queueCostMs(postgresUnderTest);
    process.stdout.write(
      `\nQueue overhead per empty job (insert artwork+job, claim, finish), ${QUEUE_JOBS} jobs, one connection\n\n` +
        '| store | ms per job | baseline: one upsert+select ms | ratio |\n|---|---|---|---|\n' +
        `| SQLite (WAL, synchronous=FULL) | ${sqlite.perJob.toFixed(3)} | ${sqlite.baseline.toFixed(3)} | ${(sqlite.perJob / sqlite.baseline).toFixed(1)}x |\n` +
        `| PostgreSQL 15 | ${postgres.perJob.toFixed(3)} | ${postgres.baseline.toFixed(3)} | ${(postgres.perJob / postgres.baseline).toFixed(1)}x |\n`,
    );
  }
  if (PARTS.has('backlog')) {
    const sqlite = await backlogClaimMs(sqliteUnderTest);
    const postgres = await backlogClaimMs(postgresUnderTest);
    process.stdout.write(
      `\nClaim with a backlog of ${BACKLOG_JOBS} ready jobs over 10 organizations, mean of ${BACKLOG_CLAIMS} claims, one connection\n\n` +
        '| store | ms per claim | baseline: one upsert+select ms | ratio |\n|---|---|---|---|\n' +
        `| SQLite (WAL, synchronous=FULL) | ${sqlite.perClaim.toFixed(3)} | ${sqlite.baseline.toFixed(3)} | ${(sqlite.perClaim / sqlite.baseline).toFixed(1)}x |\n` +
        `| PostgreSQL 15 | ${postgres.perClaim.toFixed(3)} | ${postgres.baseline.toFixed(3)} | ${(postgres.perClaim / postgres.baseline).toFixed(1)}x |\n`,
    );
  }
  if (pickup) {
    const row = (name: string, p: Pickup): string =>
      `| ${name} | ${p.median} | ${p.p90} | ${p.max} | ${(p.median / Math.max(1, pickup.serve.median)).toFixed(1)}x |`;
    process.stdout.write(
      `\nPickup latency on PostgreSQL (startedAt - createdAt), ${PICKUP_JOBS} jobs one at a time, ms; ratio of the medians ` +
        'to the baseline (one serve process, woken in-process)\n\n' +
        '| process | median | p90 | max | ratio |\n|---|---|---|---|---|\n' +
        `${row('serve (API and worker in one process)', pickup.serve)}\n${row('worker process behind an API process', pickup.worker)}\n`,
    );
  }
}

await main();
