import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { request, type Dispatcher } from 'undici';
import { presentArtwork } from '../artworks/present.js';
import { Backoff } from '../jobs/backoff.js';
import type { Metrics } from '../metrics.js';
import type { ResultLinks } from '../artworks/signed-urls.js';
import type { AddressPolicy } from '../net/guarded-agent.js';
import type { Organization, Store, WebhookDelivery } from '../store/store.js';
import { checkWebhookUrl } from './webhook-url.js';

export interface DispatcherOptions {
  store: Store;
  links: ResultLinks;
  agent: Dispatcher;
  logger: Logger;
  timeoutMs: number;
  /** Delays before the 2nd, 3rd, ... attempt; after the last, the delivery is given up as failed. */
  retryDelaysMs: number[];
  /** The images' address rule: IP literals are checked before connecting, host names by the agent's lookup. */
  policy: AddressPolicy;
  /** Plain http webhooks are refused unless this is set (private deployments, tests). */
  allowHttp: boolean;
  pollMs?: number;
  metrics?: Metrics;
  /** Deliveries in flight at once in this process, and per organization (see the class comment). */
  maxInFlight?: number;
  maxInFlightPerOrg?: number;
}

/**
 * 32 requests in flight are cheap for undici; 4 per organization means a receiver that hangs holds 4 slots
 * for at most the timeout, while every other organization's deliveries keep going out at once.
 */
const MAX_IN_FLIGHT = 32;
const MAX_IN_FLIGHT_PER_ORG = 4;

/**
 * Sends pending webhook deliveries from the store (an outbox written in the same transaction as the final
 * status), so a delivery survives a restart. Each attempt is signed per Standard Webhooks; the id stays the
 * same across retries so receivers can deduplicate. Redirects count as failures and are not followed.
 * Deliveries are independent: each runs on its own as soon as it is claimed, and an organization has a few
 * slots of its own, so a slow or hanging receiver delays only its own organization's webhooks.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly backoff = new Backoff();
  /** Deliveries being sent, and how many of them each organization has. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly busy: Record<string, number> = {};
  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.notify(), this.options.pollMs ?? 500);
    this.timer.unref();
    this.notify();
  }

  /** Looks for due deliveries now instead of at the next poll. */
  notify(): void {
    if (this.stopped || this.backoff.resting) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.claim()
      .then(() => this.backoff.succeeded())
      .catch((error: unknown) => {
        const retryInMs = this.backoff.failed();
        this.options.logger.error({ err: error, retryInMs }, 'webhook dispatch failed; is the store reachable?');
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.notify();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await Promise.all(this.inFlight);
  }

  /** Claims what the free slots allow and starts each delivery on its own; a finished one claims again. */
  private async claim(): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? MAX_IN_FLIGHT;
    const perOrg = this.options.maxInFlightPerOrg ?? MAX_IN_FLIGHT_PER_ORG;
    const free = maxInFlight - this.inFlight.size;
    if (free <= 0) return;
    const due = await this.options.store.claimDueDeliveries(Date.now(), this.options.timeoutMs + 10_000, free, {
      perOrg,
      busy: { ...this.busy },
    });
    for (const delivery of due) {
      this.busy[delivery.orgId] = (this.busy[delivery.orgId] ?? 0) + 1;
      const sending: Promise<void> = this.attempt(delivery)
        .catch((error: unknown) => this.options.logger.error({ err: error, deliveryId: delivery.id }, 'webhook attempt not recorded'))
        .finally(() => {
          this.inFlight.delete(sending);
          const left = (this.busy[delivery.orgId] ?? 1) - 1;
          if (left > 0) this.busy[delivery.orgId] = left;
          else delete this.busy[delivery.orgId];
          this.notify();
        });
      this.inFlight.add(sending);
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
    const checked = checkWebhookUrl(delivery.url, this.options.policy, this.options.allowHttp);
    if ('message' in checked) {
      // never connected; the URL and the rule are what they will be on a retry, so the refusal is final
      await store.recordDeliveryAttempt(
        { deliveryId: delivery.id, attemptedAt: attemptedAt.toISOString(), statusCode: null, error: checked.message, durationMs: 0 },
        { status: 'failed', nextAttemptAt: attemptedAt.getTime() },
      );
      this.options.metrics?.webhookAttempts.inc({ outcome: 'failed' });
      logger.warn({ artworkId: artwork.id, deliveryId: delivery.id, error: checked.message }, 'webhook delivery refused');
      return;
    }
    const payload = JSON.stringify(await presentArtwork(artwork, this.options.links));
    const signature = signWithCurrentSecrets(org, delivery.id, attemptedAt, payload);
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await request(checked.url, {
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
    const delay = this.options.retryDelaysMs[delivery.attempts];
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
    this.options.metrics?.webhookAttempts.inc({ outcome: next.status === 'pending' ? 'retry' : next.status });
    logger.info(
      { artworkId: artwork.id, deliveryId: delivery.id, statusCode, error, outcome: next.status },
      'webhook attempt',
    );
  }
}

/**
 * Standard Webhooks allows several space-separated signatures: during a rotation's grace period, one with the
 * new secret and one with the previous, so receivers still holding the old secret keep verifying.
 */
function signWithCurrentSecrets(org: Organization, id: string, at: Date, payload: string): string {
  const secrets = [org.webhookSecret];
  if (org.previousWebhookSecret && org.previousWebhookSecretUntil && Date.parse(org.previousWebhookSecretUntil) > at.getTime()) {
    secrets.push(org.previousWebhookSecret);
  }
  return secrets.map((secret) => new Webhook(secret).sign(id, at, payload)).join(' ');
}

function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 3) {
    const code = (current as NodeJS.ErrnoException).code;
    parts.push(current.name === 'TimeoutError' ? 'timeout' : typeof code === 'string' ? code : current.message);
    current = current.cause;
  }
  return parts.join(': ') || String(error);
}
