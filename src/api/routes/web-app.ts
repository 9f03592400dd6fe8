import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { route } from '../route-contract.js';

/** The repository root, from dist/src/api/routes at run time. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Relative to the plugin's prefix (`/app`). */
const FILES = [
  { url: '', file: 'web/index.html', type: 'text/html', summary: 'a web page to try the service', operationId: 'webApp' },
  { url: '/app.css', file: 'web/app.css', type: 'text/css', summary: "the web page's styles", operationId: 'webAppStyles' },
  { url: '/app.js', file: 'dist/web/app.js', type: 'text/javascript', summary: "the web page's script", operationId: 'webAppScript' },
] as const;

/**
 * The try-it page, served by the service itself (no CDN). Its own scripts and styles only; images may come from
 * anywhere a user's imageUrl or a presigned result URL points.
 */
export const webAppRoutes: FastifyPluginAsync = async (app) => {
  for (const { url, file, type, summary, operationId } of FILES) {
    route(
      app,
      { method: 'GET', url, operationId, summary, success: { status: 200, body: { mediaType: type }, description: summary } },
      async ({ reply }) => {
        const body = await fs.readFile(path.join(ROOT, file));
        return reply
          .type(`${type}; charset=utf-8`)
          .header('cache-control', 'no-cache')
          .header(
            'content-security-policy',
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src * data: blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
          )
          .send(body);
      },
    );
  }
};
