import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FIXTURES } from './paths.js';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => unknown;

/**
 * A real HTTP server on 127.0.0.1 playing the outside world: it serves test/fixtures under /fixtures/, records
 * every request, and lets a test add routes (slow image servers, webhook receivers).
 */
export class LoopbackServer {
  readonly received: ReceivedRequest[] = [];
  private readonly routes = new Map<string, Handler>();
  private server: http.Server | undefined;
  private waiters: Array<() => void> = [];

  route(pathname: string, handler: Handler): void {
    this.routes.set(pathname, handler);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const url = req.url ?? '/';
        this.received.push({ method: req.method ?? 'GET', url, headers: req.headers, body });
        for (const wake of this.waiters.splice(0)) wake();
        void this.handle(req, res, body, url);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, url: string): Promise<void> {
    const pathname = url.split('?')[0] ?? url;
    const handler = this.routes.get(pathname);
    try {
      if (handler) {
        await handler(req, res, body);
        return;
      }
      if (pathname.startsWith('/fixtures/')) {
        const file = path.join(FIXTURES, decodeURIComponent(pathname.slice('/fixtures/'.length)));
        if (!file.startsWith(FIXTURES)) throw new Error('outside fixtures');
        const data = await fs.readFile(file);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
        res.end(data);
        return;
      }
      res.writeHead(404).end('not found');
    } catch {
      if (!res.headersSent) res.writeHead(404);
      res.end();
    }
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  /** Resolves when `predicate` holds for the requests received so far, or rejects after `timeoutMs`. */
  async waitFor(predicate: (received: ReceivedRequest[]) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for loopback requests`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
