/**
 * API throughput on loopback with autocannon: POST create and GET artwork against the real service (API only,
 * so no image work competes), next to a bare Fastify route serving the same JSON from memory in the same run.
 * Then job throughput (512x512, one face) with WORKER_CONCURRENCY 1 and 2.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { ApiClient } from '../test/helpers/api.js';
import { LoopbackServer } from '../test/helpers/loopback.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from '../test/helpers/service.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 10;
const JOBS = Number(process.env.BENCH_JOBS ?? 20);

interface Load {
  rps: number;
  p99: number;
  errors: number;
}

async function load(options: autocannon.Options): Promise<Load> {
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...options });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function jobsPerSecond(concurrency: number, imageUrl: string): Promise<number> {
  const service = new ServiceProcess(tempDataDir('api-bench-jobs'), {
    WORKER_CONCURRENCY: String(concurrency),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
  });
  const api = new ApiClient(await service.start(), ADMIN_KEY);
  try {
    await api.waitForStatus(((await api.create({ imageUrl })).body as { id: string }).id, ['succeeded'], 60_000);
    const started = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) ids.push(((await api.create({ imageUrl })).body as { id: string }).id);
    for (const id of ids) await api.waitForStatus(id, ['succeeded'], 120_000, 20);
    return JOBS / ((performance.now() - started) / 1000);
  } finally {
    await service.stop();
  }
}

async function main(): Promise<void> {
  const images = new LoopbackServer();
  await images.start();
  const imageUrl = `${images.url}/fixtures/faces/astronaut.png`;
  const service = new ServiceProcess(tempDataDir('api-bench'), { RATE_LIMIT_PER_MINUTE: '1000000', MAX_UNFINISHED_ARTWORKS: '1000000', LOG_LEVEL: 'warn' }, ['serve', '--no-worker']);
  const url = await service.start();
  const api = new ApiClient(url, ADMIN_KEY);
  const sample = (await api.create({ imageUrl })).body as { id: string };
  const sampleJson = JSON.stringify(sample);
  const bare = Fastify();
  bare.post('/create', async (_request, reply) => reply.status(202).type('application/json').send(sampleJson));
  bare.get('/get', async (_request, reply) => reply.type('application/json').send(sampleJson));
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ imageUrl });
  const rows: string[] = [];
  try {
    const postService = await load({ url: `${url}/v2/artworks/face-refiner`, method: 'POST', headers, body });
    const postBare = await load({ url: `${bareUrl}/create`, method: 'POST', headers, body });
    const getService = await load({ url: `${url}/v2/artworks/${sample.id}`, headers });
    const getBare = await load({ url: `${bareUrl}/get`, headers });
    const row = (name: string, ours: Load, base: Load): string =>
      `| ${name} | ${ours.rps.toFixed(0)} | ${ours.p99.toFixed(1)} | ${base.rps.toFixed(0)} | ${base.p99.toFixed(1)} | ${(ours.rps / base.rps).toFixed(2)} | ${ours.errors} |`;
    rows.push(row('POST /v2/artworks/face-refiner', postService, postBare), row('GET /v2/artworks/:id', getService, getBare));
  } finally {
    await bare.close();
    await service.stop();
  }
  const jobRows: string[] = [];
  for (const concurrency of [1, 2]) jobRows.push(`| ${concurrency} | ${(await jobsPerSecond(concurrency, imageUrl)).toFixed(2)} |`);
  await images.stop();
  process.stdout.write(
    `\nAPI on loopback, autocannon ${CONNECTIONS} connections for ${SECONDS} s each (API-only process, SQLite)\n\n` +
      '| route | req/s | p99 ms | bare Fastify req/s | bare p99 ms | ratio | errors |\n|---|---|---|---|---|---|---|\n' +
      `${rows.join('\n')}\n\nJob throughput, ${JOBS} jobs of 512x512 with one face, one process\n\n` +
      `| WORKER_CONCURRENCY | images/s |\n|---|---|\n${jobRows.join('\n')}\n`,
  );
}

await main();
