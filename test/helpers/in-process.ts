import type { InjectOptions } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/main.js';
import { ApiClient, type Transport } from './api.js';
import { ADMIN_KEY } from './service.js';

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
    const app = this.service.app;
    if (!app) throw new Error('the service started without its API');
    const inject: Transport = async (method, url, headers, body) => {
      const response = await app.inject({ method: method as InjectOptions['method'], url, headers, ...(body === undefined ? {} : { payload: body }) });
      const out = new Headers();
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : String(value));
      }
      return { status: response.statusCode, headers: out, text: response.body };
    };
    return new ApiClient(config.publicUrl, ADMIN_KEY, inject);
  }

  async stop(): Promise<void> {
    await this.service?.close(0);
  }
}
