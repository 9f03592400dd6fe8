import type { FastifyInstance, InjectOptions } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/main.js';
import { ApiClient } from './api.js';
import { ADMIN_KEY } from './service.js';

export interface InjectInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * The API in this process, without workers (so no face models are loaded), on its own SQLite file: the real
 * composition root, with requests sent through Fastify's inject() rather than a socket. For tests of the HTTP
 * contract only; anything that needs a job to run uses ServiceProcess.
 */
export class InProcessApi {
  private service: Service | undefined;

  constructor(
    readonly dataDir: string,
    private readonly env: Record<string, string> = {},
  ) {}

  async start(): Promise<ApiClient> {
    const config = loadConfig({
      DATA_DIR: this.dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      BOOTSTRAP_API_KEY: ADMIN_KEY,
      ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'silent',
      ...this.env,
    });
    this.service = await startService(config, { api: true, worker: false });
    return new ApiClient(config.publicUrl, ADMIN_KEY, async (method, path, headers, body) => {
      const response = await this.fetch(path, { method, headers, ...(body === undefined ? {} : { body }) });
      return { status: response.status, headers: response.headers, text: await response.text() };
    });
  }

  /** The running Fastify app (for tests that walk its routes). */
  get app(): FastifyInstance {
    const app = this.service?.app;
    if (!app) throw new Error('the in-process API is not started');
    return app;
  }

  /** One request through inject(), answered as a fetch Response; `url` may be absolute (a signed URL): its path is used. */
  async fetch(url: string, init: InjectInit = {}): Promise<Response> {
    const { app } = this;
    const { pathname, search } = new URL(url, 'http://in-process');
    const response = await app.inject({
      method: (init.method ?? 'GET') as InjectOptions['method'],
      url: `${pathname}${search}`,
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { payload: init.body }),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    }
    const status = response.statusCode;
    // a Response may not carry a body with these statuses
    const body = [101, 204, 205, 304].includes(status) ? null : new Uint8Array(response.rawPayload);
    return new Response(body, { status, headers });
  }

  async stop(): Promise<void> {
    await this.service?.close(0);
  }
}
