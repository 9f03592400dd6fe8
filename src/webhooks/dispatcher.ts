import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { request, type Dispatcher } from 'undici';
import { presentArtwork } from '../artworks/present.js';
import type { ResultUrlSigner } from '../artworks/result-urls.js';
import type { Store, WebhookDelivery } from '../store/store.js';

/** Delays before the 2nd, 3rd, ... attempt: the published service's schedule. */
export const DEFAULT_RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000];

export interface DispatcherOptions {
  store: Store;
  signer: ResultUrlSigner;
  agent: Dispatcher;
  logger: Logger;
  timeoutMs: number;
  retryDelaysMs?: number[];
  pollMs?: number;
}

/**
 * Sends pending webhook deliveries from the store (an outbox written in the same transaction as the final
 * status), so a delivery survives a restart. Each attempt is signed per Standard Webhooks; the id stays the
 * same across retries so receivers can deduplicate. Redirects count as failures and are not followed.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly retryDelaysMs: number[];

  constructor(private readonly options: DispatcherOptions) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.notify(), this.options.pollMs ?? 500);
    this.timer.unref();
    this.notify();
  }

  /** Looks for due deliveries now instead of at the next poll. */
  notify(): void {
    if (this.stopped || this.running) return;
    this.running = this.drain()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'webhook dispatch failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const due = await this.options.store.claimDueDeliveries(Date.now(), this.options.timeoutMs + 10_000, 16);
      if (due.length === 0) return;
      await Promise.all(due.map((delivery) => this.attempt(delivery)));
      if (this.stopped) return;
    }
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const { store, logger } = this.options;
    const [artwork, org] = await Promise.all([
      store.getArtworkById(delivery.artworkId),
      store.getOrganization(delivery.orgId),
    ]);
    const attemptedAt = new Date();
    if (!artwork || !org) {
      await store.recordDeliveryAttempt(
        { deliveryId: delivery.id, attemptedAt: attemptedAt.toISOString(), statusCode: null, error: 'artwork deleted', durationMs: 0 },
        { status: 'failed', nextAttemptAt: attemptedAt.getTime() },
      );
      return;
    }
    const payload = JSON.stringify(presentArtwork(artwork, this.options.signer));
    const signature = new Webhook(org.webhookSecret).sign(delivery.id, attemptedAt, payload);
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await request(delivery.url, {
        method: 'POST',
        dispatcher: this.options.agent,
        body: payload,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'face-refiner-webhooks',
          'webhook-id': delivery.id,
          'webhook-timestamp': String(Math.floor(attemptedAt.getTime() / 1000)),
          'webhook-signature': signature,
        },
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      statusCode = response.statusCode;
      response.body.resume();
      if (statusCode < 200 || statusCode > 299) error = `receiver answered ${statusCode}`;
    } catch (caught) {
      error = describe(caught);
    }
    const durationMs = Date.now() - attemptedAt.getTime();
    const delay = this.retryDelaysMs[delivery.attempts];
    const next =
      error === null
        ? { status: 'delivered' as const, nextAttemptAt: attemptedAt.getTime() }
        : delay === undefined
          ? { status: 'failed' as const, nextAttemptAt: attemptedAt.getTime() }
          : { status: 'pending' as const, nextAttemptAt: Date.now() + delay };
    await store.recordDeliveryAttempt(
      { deliveryId: delivery.id, attemptedAt: attemptedAt.toISOString(), statusCode, error, durationMs },
      next,
    );
    logger.info(
      { artworkId: artwork.id, deliveryId: delivery.id, statusCode, error, outcome: next.status },
      'webhook attempt',
    );
  }
}

function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 3) {
    parts.push((current as NodeJS.ErrnoException).code ?? current.message);
    current = current.cause;
  }
  return parts.join(': ') || String(error);
}
