import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { artworkBlobPrefix, type Artwork } from '../artworks/artwork.js';
import { isFinal } from '../artworks/status.js';
import type { BlobStore } from '../blobs/blobs.js';
import { JobError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { JobOutcome, Store } from '../store/store.js';
import { Backoff } from './backoff.js';
import { JobListener, type JobNotices } from './job-listener.js';
import { JobCanceledError, type RefinePool } from './pool.js';
import type { ClaimedJob, JobQueue } from './queue.js';

export interface RunnerOptions {
  queue: JobQueue;
  store: Store;
  blobs: BlobStore;
  pool: RefinePool;
  fetchInput(url: string, signal: AbortSignal): Promise<Buffer>;
  logger: Logger;
  concurrency: number;
  leaseMs: number;
  /** A job still running after this long is stopped and fails with JOB_TIMEOUT (its thread is replaced). */
  jobTimeoutMs: number;
  /** How often to look for jobs while nothing announces them. */
  pollMs: number;
  /** Announcements of jobs created by other processes (PostgreSQL); absent, only polling finds those. */
  notices?: JobNotices;
  /**
   * How often to look for jobs while announcements arrive: polling stays as the safety net for what no
   * announcement tells (a dead worker's lease running out), less often.
   */
  listeningPollMs: number;
  metrics?: Metrics;
  /** Told when an artwork reaches a final status (to wake the webhook dispatcher). */
  onFinal?: (artworkId: string) => void;
}

/** The store or object storage failed: the job is given back to run later, not failed. */
class BackendUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`backend unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

async function backend<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw new BackendUnavailableError(error);
  }
}

interface Running {
  job: ClaimedJob;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Claims jobs from the queue and runs them, `concurrency` at a time. A job holds a lease that a heartbeat
 * renews; if the renewal fails (the artwork was canceled, or another worker took the job over) the job is
 * aborted. Finishing is conditional on the lease, so a job whose worker was presumed dead cannot complete a
 * second time.
 */
export class JobRunner {
  private readonly running = new Map<number, Running>();
  private timer: NodeJS.Timeout | undefined;
  private claiming = false;
  /** Told to claim while claiming was under way: its last query may have run before the new job committed. */
  private claimAgain = false;
  /** The claiming under way (or the last one, settled): stop() waits for it. */
  private filling: Promise<void> = Promise.resolve();
  private listener: JobListener | undefined;
  private stopping = false;
  private readonly backoff = new Backoff();

  constructor(private readonly options: RunnerOptions) {}

  start(): void {
    this.stopping = false;
    this.pollEvery(this.options.pollMs);
    const { notices } = this.options;
    if (notices) {
      this.listener = new JobListener(
        notices,
        {
          wake: () => this.notify(),
          listening: (healthy) => {
            this.pollEvery(healthy ? this.options.listeningPollMs : this.options.pollMs);
            // what was announced while nobody listened
            if (healthy) this.notify();
          },
        },
        this.options.logger,
      );
      this.listener.start();
    }
    this.notify();
  }

  private pollEvery(ms: number): void {
    clearInterval(this.timer);
    if (this.stopping) return;
    this.timer = setInterval(() => this.notify(), ms);
    this.timer.unref();
  }

  /** Claims work now instead of at the next poll (an artwork was created in this process, or announced). */
  notify(): void {
    if (this.stopping || this.backoff.resting) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    this.claimAgain = false;
    this.filling = this.fill()
      .then(() => this.backoff.succeeded())
      .catch((error: unknown) => {
        const retryInMs = this.backoff.failed();
        this.options.logger.error({ err: error, retryInMs }, 'claiming jobs failed; is the store reachable?');
      })
      .finally(() => {
        this.claiming = false;
        if (this.claimAgain) this.notify();
      });
  }

  get active(): number {
    return this.running.size;
  }

  private async fill(): Promise<void> {
    while (!this.stopping && this.running.size < this.options.concurrency) {
      const job = await this.options.queue.claim(Date.now(), this.options.leaseMs);
      if (!job) return;
      if (this.stopping) {
        // stop() came while this claim was under way (it waits for it): the job goes back to the queue
        await this.options.queue.release(job);
        return;
      }
      const abort = new AbortController();
      const entry: Running = { job, abort, done: Promise.resolve() };
      entry.done = this.run(job, abort)
        .catch((error: unknown) => this.options.logger.error({ err: error, artworkId: job.artworkId }, 'job crashed'))
        .finally(() => {
          this.running.delete(job.jobId);
          // a turn later: with SQLite a claim is synchronous work on this thread, and the finished job's webhook
          // delivery, claimed just before, then reaches its receiver first (some 1 ms sooner, measured)
          setImmediate(() => this.notify());
        });
      this.running.set(job.jobId, entry);
      // the next claim a turn later too, so that (with SQLite, whose queries end within the turn) the job just
      // claimed starts reading its input first
      if (this.running.size < this.options.concurrency) await nextTurn();
    }
  }

  private async run(job: ClaimedJob, abort: AbortController): Promise<void> {
    const { store, queue, logger, leaseMs } = this.options;
    const log = logger.child({ artworkId: job.artworkId, attempt: job.attempts });
    const artwork = await store.getArtworkById(job.artworkId);
    if (!artwork || isFinal(artwork.status)) return;
    const heartbeat = setInterval(() => {
      queue.renew(job, Date.now(), leaseMs).then(
        (kept) => {
          if (!kept) abort.abort();
        },
        (error: unknown) => log.warn({ err: error }, 'lease renewal failed'),
      );
    }, Math.max(100, leaseMs / 3));
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.options.jobTimeoutMs);
    try {
      const outcome = await this.process(artwork, abort.signal, deadline, started);
      // a stage that turned the abort into its own error (a fetch cut short) still ends here, not as a failure
      if (abort.signal.aborted) {
        log.info('job stopped: canceled or lease lost');
        return;
      }
      const finished = await queue.finish(job, outcome, new Date());
      log.info({ status: outcome.status, code: outcome.status === 'failed' ? outcome.error.code : undefined, finished, duration: outcome.duration }, 'job finished');
      if (finished) this.options.metrics?.jobs.inc({ status: outcome.status });
      if (finished) this.options.onFinal?.(job.artworkId);
    } catch (error) {
      if (error instanceof JobCanceledError || abort.signal.aborted) {
        log.info('job stopped: canceled or lease lost');
        return;
      }
      if (error instanceof BackendUnavailableError) {
        const retryInMs = this.backoff.failed();
        log.warn({ err: error, retryInMs }, 'job given back: storage unreachable');
        await queue.release(job).catch(() => undefined);
        return;
      }
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Runs the job until it ends, `canceled` aborts (lease lost, cancel) or the `deadline` passes. */
  private async process(artwork: Artwork, canceled: AbortSignal, deadline: AbortSignal, started: number): Promise<JobOutcome> {
    const { blobs, pool } = this.options;
    const signal = AbortSignal.any([canceled, deadline]);
    const seconds = (): number => (performance.now() - started) / 1000;
    const stage = this.options.metrics?.jobStage;
    try {
      let mark = performance.now();
      const { input, stored } = await this.loadInput(artwork, signal);
      stage?.observe({ stage: 'fetch' }, (performance.now() - mark) / 1000);
      const { model, denoising, seed, outputFormat } = artwork.parameters;
      // The input's copy is written while the image is refined; the job ends only once it is written.
      const result = await pool.run(input, { model, denoising, seed, outputFormat }, signal);
      await stored;
      const { decodeMs, detectMs, refineMs, encodeMs } = result.timings;
      stage?.observe({ stage: 'decode' }, decodeMs / 1000);
      stage?.observe({ stage: 'detect' }, detectMs / 1000);
      stage?.observe({ stage: 'refine' }, refineMs / 1000);
      stage?.observe({ stage: 'encode' }, encodeMs / 1000);
      this.options.metrics?.facesPerJob.observe(result.faces.length);
      mark = performance.now();
      const key = `${artworkBlobPrefix(artwork.id)}result-0.${result.extension}`;
      await backend(blobs.put(key, Buffer.from(result.body), result.contentType));
      stage?.observe({ stage: 'store' }, (performance.now() - mark) / 1000);
      return {
        status: 'succeeded',
        results: [{ key, contentType: result.contentType }],
        faces: result.faces,
        engine: result.engine,
        duration: seconds(),
      };
    } catch (error) {
      if (deadline.aborted && !canceled.aborted) {
        const limit = this.options.jobTimeoutMs / 1000;
        return { status: 'failed', error: { code: 'JOB_TIMEOUT', message: `Processing took longer than the ${limit} s limit and was stopped` }, duration: seconds() };
      }
      if (error instanceof JobError) {
        return { status: 'failed', error: { code: error.code, message: error.message }, duration: seconds() };
      }
      if (error instanceof JobCanceledError || error instanceof BackendUnavailableError || signal.aborted) throw error;
      this.options.logger.error({ err: error, artworkId: artwork.id }, 'unexpected job error');
      return {
        status: 'failed',
        error: { code: 'INTERNAL', message: 'Processing failed unexpectedly; the error was logged' },
        duration: seconds(),
      };
    }
  }

  /**
   * The input copy kept with the artwork; fetched once, so a re-run after a crash does not fetch again. A fresh
   * fetch is returned at once with `stored`, the write of its copy, still running: a crash before that write ends
   * only means the re-run fetches again.
   */
  private async loadInput(artwork: Artwork, signal: AbortSignal): Promise<{ input: Buffer; stored: Promise<void> }> {
    const key = `${artworkBlobPrefix(artwork.id)}input`;
    const kept = await backend(this.options.blobs.get(key));
    if (kept) return { input: kept.body, stored: Promise.resolve() };
    const bytes = await this.options.fetchInput(artwork.parameters.imageUrl, signal);
    const stored = backend(this.options.blobs.put(key, bytes, 'application/octet-stream'));
    // Awaited with the refinement; until then a failure must not count as unhandled.
    stored.catch(() => undefined);
    return { input: bytes, stored };
  }

  /** Stops claiming; waits up to `graceMs` for running jobs, then gives the rest back to the queue. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.listener?.stop();
    // a claim under way ends first: what it claims now goes back to the queue (fill), not to a stopped runner
    await this.filling;
    const all = Promise.all([...this.running.values()].map((entry) => entry.done));
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
    if ((await Promise.race([all, timeout])) === 'timeout') {
      const left = [...this.running.values()];
      for (const entry of left) entry.abort.abort();
      await Promise.all(left.map((entry) => this.options.queue.release(entry.job)));
      await Promise.all(left.map((entry) => entry.done));
    }
  }
}
