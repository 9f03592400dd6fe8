import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { DENOISING } from '../../artworks/artwork.js';
import { route } from '../route-contract.js';

/** The repository root, from dist/src/api/routes at run time. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Relative to the plugin's prefix (`/app`). */
const FILES = [
  { url: '', file: 'web/index.html', type: 'text/html', summary: 'a web page to try the service', operationId: 'webApp', filled: true },
  { url: '/app.css', file: 'web/app.css', type: 'text/css', summary: "the web page's styles", operationId: 'webAppStyles', filled: false },
  { url: '/app.js', file: 'dist/web/app.js', type: 'text/javascript', summary: "the web page's script", operationId: 'webAppScript', filled: false },
] as const;

/**
 * What the page's form takes from the API contract, so it never offers what the API refuses: the denoising
 * field of a create (src/api/schemas.ts builds it from the same DENOISING). web/index.html writes {{NAME}}.
 */
const CONTRACT_VALUES: Readonly<Record<string, number>> = {
  DENOISING_MIN: DENOISING.min,
  DENOISING_MAX: DENOISING.max,
  DENOISING_DEFAULT: DENOISING.default,
};

function fillIn(page: string): string {
  return page.replaceAll(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = CONTRACT_VALUES[name];
    if (value === undefined) throw new Error(`Expected one of ${Object.keys(CONTRACT_VALUES).join(', ')} in web/index.html but received {{${name}}}`);
    return String(value);
  });
}

/**
 * The try-it page, served by the service itself (no CDN). Its own scripts and styles only; images may come from
 * anywhere a user's imageUrl or a presigned result URL points.
 */
export const webAppRoutes: FastifyPluginAsync = async (app) => {
  for (const { url, file, type, summary, operationId, filled } of FILES) {
    route(
      app,
      { method: 'GET', url, operationId, summary, success: { status: 200, body: { mediaType: type }, description: summary } },
      async ({ reply }) => {
        const bytes = await fs.readFile(path.join(ROOT, file));
        const body = filled ? fillIn(bytes.toString('utf8')) : bytes;
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
