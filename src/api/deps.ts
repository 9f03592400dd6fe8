import type { ResultLinks, SignedUrls } from '../artworks/signed-urls.js';
import type { BlobStore } from '../blobs/blobs.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Metrics } from '../metrics.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { ModelReadiness } from '../refine/engines/registry.js';
import type { Store } from '../store/store.js';

/** What the API needs from the rest of the service; main.ts supplies the concrete parts. */
export interface ApiDeps {
  store: Store;
  queue: JobQueue;
  blobs: BlobStore;
  /** Verifies the signed result URLs that the results route serves. */
  signer: SignedUrls;
  /** Makes the URLs put in `results` (the signer's, or presigned object-storage URLs). */
  links: ResultLinks;
  retentionDays: number;
  /** Limits on an uploaded image, the same as on a fetched one. */
  maxImageBytes: number;
  maxImagePixels: number;
  /** Where clients reach this API (the OpenAPI document's server). */
  publicUrl: string;
  /** After a rotation, how long deliveries are signed with the previous webhook secret as well. */
  webhookSecretGraceMs: number;
  /** Lets webhook URLs be plain http (and private addresses be reached); otherwise webhooks must be https. */
  allowPrivateNetworks: boolean;
  /** Server-wide defaults; an organization may have its own. */
  limits: { ratePerMinute: number; maxUnfinished: number };
  metrics: Metrics;
  /** Bytes of live uploads an organization may hold (they count until they expire). */
  uploadQuotaBytes: number;
  /** Upload bodies this process receives at once. */
  uploadsInFlight: number;
  /** A download whose client reads nothing for this long is closed. */
  downloadIdleTimeoutMs: number;
  /** Headers, and headers with the body, must arrive within these. */
  timeouts: { requestTimeoutMs: number; headersTimeoutMs: number };
  /** Free space and failed writes, for readiness and the 507 answers. */
  storage: StorageHealth;
  /** Each API model value's engine and whether it is ready (GET /v2/models, /readyz). */
  models: { report(): Promise<ModelReadiness[]> };
  /** Called after an artwork is stored, so an in-process worker can start at once. */
  onArtworkCreated?: () => void;
}
