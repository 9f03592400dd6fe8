import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** The repository root, from dist/src/api/routes at run time. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const FILES: Record<string, { file: string; type: string }> = {
  '/app': { file: 'web/index.html', type: 'text/html; charset=utf-8' },
  '/app/app.css': { file: 'web/app.css', type: 'text/css; charset=utf-8' },
  '/app/app.js': { file: 'dist/web/app.js', type: 'text/javascript; charset=utf-8' },
};

/**
 * The try-it page, served by the service itself (no CDN). Its own scripts and styles only; images may come from
 * anywhere a user's imageUrl or a presigned result URL points.
 */
export function webAppRoutes(app: FastifyInstance): void {
  for (const [route, { file, type }] of Object.entries(FILES)) {
    app.get(route, async (_request, reply) => {
      const body = await fs.readFile(path.join(ROOT, file));
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header(
          'content-security-policy',
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src * data: blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        )
        .send(body);
    });
  }
}
