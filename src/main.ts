import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/server.js';
import { SignedUrls } from './artworks/signed-urls.js';
import { bootstrapFirstOrganization } from './auth/bootstrap.js';
import { openBlobs, openStore } from './backends.js';
import { ConfigError, type Config } from './config.js';
import { engineRegistry, engineSettings } from './engine-settings.js';
import { inputSource } from './ingest/input-source.js';
import { RefinePool } from './jobs/pool.js';
import { startRetentionSweeper } from './jobs/retention-sweeper.js';
import { JobRunner } from './jobs/runner.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { addressPolicy, createOutboundAgent } from './net/guarded-agent.js';
import { checkExecutionProvider } from './refine/engines/restorers/session.js';
import { StorageHealth } from './store/storage-health.js';
import type { Store } from './store/store.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';

export interface ServiceOptions {
  /** Serve the HTTP API. */
  api: boolean;
  /** Claim and run jobs. */
  worker: boolean;
}

export interface Service {
  /** Where the API listens, when it runs. */
  url: string | undefined;
  app: FastifyInstance | undefined;
  close(graceMs?: number): Promise<void>;
}

async function announceBootstrap(store: Store, config: Config): Promise<void> {
  const boot = await bootstrapFirstOrganization(store, config.bootstrapApiKey);
  if (boot?.generatedSecret) {
    // Printed once, to the terminal only: the store keeps just its hash.
    process.stdout.write(
      `\nFirst start: created organization ${boot.orgId} with an operator API key.\n` +
        `Operator API key (shown once, keep it safe): ${boot.generatedSecret}\n\n`,
    );
  }
}

/**
 * The composition root: the only place that picks concrete backends and wires them together. Every process
 * kind (API and workers together, API only, workers only) is this function with other options.
 */
export async function startService(config: Config, options: ServiceOptions): Promise<Service> {
  const logger = createLogger(config.logLevel);
  // the API reports each model's engine and readiness; refine threads build the engines from the same settings
  const engines = engineSettings(config);
  const registry = engineRegistry(engines);
  const { store, queue, notices, describe: storeKind } = await openStore(config);
  const blobBackend = openBlobs(config);
  const { blobs } = blobBackend;
  await announceBootstrap(store, config);
  const signingSecret = await store.getOrInitSetting('result-url-secret', randomBytes(32).toString('base64url'));
  const signer = new SignedUrls(config.publicUrl, signingSecret);
  const links = blobBackend.links(signer);
  const metrics = new Metrics(() => queue.depth());
  const policy = addressPolicy(config.allowPrivateNetworks);
  const agent = createOutboundAgent(policy, Math.min(10_000, config.fetchTimeoutMs));
  // Webhooks and retention run in every process: each claims its work from the store, so any number agree.
  const dispatcher = new WebhookDispatcher({
    store,
    links,
    agent,
    logger,
    timeoutMs: config.webhookTimeoutMs,
    retryDelaysMs: config.webhookRetryDelaysMs,
    policy,
    allowHttp: config.allowPrivateNetworks,
    metrics,
  });
  dispatcher.start();
  const stopSweeper = startRetentionSweeper(store, blobs, config.retentionSweepSeconds * 1000, logger);

  let pool: RefinePool | undefined;
  let runner: JobRunner | undefined;
  if (options.worker) {
    // ONNX Runtime has no fallback: a missing CUDA provider must stop the start, not fail the first job
    await checkExecutionProvider(config.executionProvider).catch((error: unknown) => {
      throw new ConfigError(error instanceof Error ? error.message : String(error));
    });
    pool = new RefinePool(config.workerConcurrency, {
      modelDir: config.modelDir,
      maxPixels: config.maxImagePixels,
      maxFaces: config.maxFaces,
      faceThreads: config.faceThreads,
      engines,
    }, {
      onThreadError: (error) => logger.error({ err: error }, 'a refine thread failed outside a job; it is replaced'),
      // a remote engine's interrupt happens in the grace period: whether it answered in time is worth a line
      onCanceled: (outcome) => logger.info({ outcome }, "a canceled job's refine thread stopped and was replaced"),
    });
    await pool.ready();
    runner = new JobRunner({
      queue,
      store,
      blobs,
      pool,
      logger,
      concurrency: config.workerConcurrency,
      leaseMs: config.jobLeaseSeconds * 1000,
      jobTimeoutMs: config.jobTimeoutSeconds * 1000,
      pollMs: config.jobPollMs,
      listeningPollMs: config.jobPollListeningMs,
      notices,
      fetchInput: inputSource(signer, blobs, {
        dispatcher: agent,
        policy,
        maxBytes: config.maxImageBytes,
        timeoutMs: config.fetchTimeoutMs,
      }),
      onFinal: () => dispatcher.notify(),
      metrics,
    });
    runner.start();
  }

  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (options.api) {
    app = buildApi(
      {
        store,
        queue,
        blobs,
        signer,
        links,
        retentionDays: config.retentionDays,
        maxImageBytes: config.maxImageBytes,
        maxImagePixels: config.maxImagePixels,
        publicUrl: config.publicUrl,
        webhookSecretGraceMs: config.webhookSecretGraceHours * 3_600_000,
        allowPrivateNetworks: config.allowPrivateNetworks,
        metrics,
        models: registry,
        limits: { ratePerMinute: config.rateLimitPerMinute, maxUnfinished: config.maxUnfinishedArtworks },
        uploadQuotaBytes: config.uploadQuotaBytes,
        uploadsInFlight: config.uploadsInFlight,
        downloadIdleTimeoutMs: config.downloadIdleTimeoutMs,
        timeouts: { requestTimeoutMs: config.requestTimeoutMs, headersTimeoutMs: config.headersTimeoutMs },
        storage: new StorageHealth(config.databaseUrl && config.s3 ? undefined : config.dataDir, config.minFreeDiskBytes),
        onArtworkCreated: () => runner?.notify(),
      },
      logger,
    );
    url = await app.listen({ port: config.port, host: config.host });
  }
  void registry.report().then((models) => {
    for (const model of models.filter((m) => !m.ready)) logger.warn(model, 'model not ready: its jobs will fail with MODEL_UNAVAILABLE');
  });
  logger.info(
    { url, worker: options.worker, concurrency: config.workerConcurrency, store: storeKind, blobs: blobBackend.describe },
    'face-refiner started',
  );

  let closing: Promise<void> | undefined;
  const close = (graceMs = 30_000): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      await app?.close();
      await runner?.stop(graceMs);
      await dispatcher.stop();
      await stopSweeper();
      await pool?.close();
      await agent.close();
      blobBackend.close();
      await store.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { url, app, close };
}
