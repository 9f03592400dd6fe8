import type { Logger } from 'pino';
import { Backoff } from './backoff.js';

/** Where announcements of new jobs come from (PostgreSQL: src/store/job-notices.ts); absent on SQLite. */
export interface JobNotices {
  /** Opens one listening connection: `notice` for each announced job, `ended` once when the connection is lost. */
  listen(handlers: { notice(): void; ended(error: Error): void }): Promise<{ close(): Promise<void> }>;
}

export interface ListenerEvents {
  /** A job was announced. */
  wake(): void;
  /** Announcements arrive (true) or, until a new connection listens, do not (false). */
  listening(healthy: boolean): void;
}

/**
 * Keeps one listening connection open for as long as it runs: a lost or refused connection is opened again
 * after a backoff (0.5 s doubling to 30 s, reset once listening). Each new connection reports `listening(true)`,
 * after which the caller looks for jobs announced while nobody listened.
 */
export class JobListener {
  private connection: { close(): Promise<void> } | undefined;
  private retry: NodeJS.Timeout | undefined;
  private running = false;
  private readonly backoff = new Backoff();

  constructor(
    private readonly notices: JobNotices,
    private readonly events: ListenerEvents,
    private readonly logger: Logger,
  ) {}

  /** The connect in progress, so that stop() waits for it and closes what it opened. */
  private connecting: Promise<void> | undefined;

  start(): void {
    this.running = true;
    this.connecting = this.connect();
  }

  private async connect(): Promise<void> {
    this.retry = undefined;
    let lost = false;
    try {
      const connection = await this.notices.listen({
        notice: () => this.events.wake(),
        ended: (error) => {
          lost = true;
          this.connection = undefined;
          this.events.listening(false);
          this.reconnectLater(error, 'the job listener lost its connection');
        },
      });
      if (!this.running) {
        await connection.close();
        return;
      }
      // a connection lost between LISTEN and here has already scheduled its own reconnect
      if (lost) return;
      this.connection = connection;
      this.backoff.succeeded();
      this.logger.info('listening for new jobs');
      this.events.listening(true);
    } catch (error) {
      this.reconnectLater(error, 'the job listener could not listen');
    }
  }

  private reconnectLater(error: unknown, what: string): void {
    if (!this.running) return;
    const retryInMs = this.backoff.failed();
    this.logger.warn({ err: error, retryInMs }, `${what}; new jobs are found by polling until it listens again`);
    this.retry = setTimeout(() => {
      this.connecting = this.connect();
    }, retryInMs);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retry);
    // a connect still in flight closes its own connection once it sees running is false
    await this.connecting;
    await this.connection?.close();
    this.connection = undefined;
  }
}
