import fastifyStatic from '@fastify/static';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';

/** Where the built dashboard is served. */
export const DASHBOARD_PATH = '/dashboard';

/** Vite names the files under `assets/` after their content: a changed file is a new name. */
const HASHED_ASSETS = 'assets/';
const ONE_YEAR_MS = 365 * 86_400_000;
/** Path segments of letters, digits, `-`, `_` and `.`, none starting with a dot. */
const SERVABLE_FILE = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Atiru dashboard not built</title></head>
<body><h1>The dashboard is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which builds it), then reload this page.</p></body></html>
`;

/** The dashboard's pages and files: `/dashboard`, `/dashboard/…`, `/dashboard?…`. */
export function isDashboardPath(url: string): boolean {
  return url.startsWith(DASHBOARD_PATH) && (url.length === DASHBOARD_PATH.length || url[DASHBOARD_PATH.length] === '/' || url[DASHBOARD_PATH.length] === '?');
}

/**
 * Serves the built dashboard (a single-page app) from `config.http.dashboardDir` at `/dashboard/`:
 * a path with a file extension is that file (404 when there is none); any other path is one of the
 * app's own routes and answers `index.html`, which routes in the browser. `GET /` leads there too.
 * Without a build it answers a page that says how to make one, and the API runs on regardless.
 * The pages' security headers (a strict CSP, no Referer) are set with every other response's, in
 * app.factory.ts.
 */
export function serveDashboard(app: NestFastifyApplication, config: AppConfig): void {
  const root = config.http.dashboardDir;
  const fastify = app.getHttpAdapter().getInstance();
  // Only `reply.sendFile` (Swagger UI registers its own copy without it); no route of its own.
  void app.register(fastifyStatic, { serve: false, dotfiles: 'ignore', index: false });

  fastify.get('/', (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 302));
  fastify.get(DASHBOARD_PATH, (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 302));
  fastify.get(`${DASHBOARD_PATH}/*`, async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const path = request.params['*'];
    const fileName = path.slice(path.lastIndexOf('/') + 1);
    if (fileName.includes('.')) {
      // Only names a build makes: no `..`, no dotfile, nothing that needs escaping, so nothing
      // outside the build can be named (and @fastify/send, below, checks again).
      if (!SERVABLE_FILE.test(path)) return reply.callNotFound();
      const hashed = path.startsWith(HASHED_ASSETS);
      return reply.sendFile(path, root, hashed ? { maxAge: ONE_YEAR_MS, immutable: true } : { maxAge: 0 });
    }
    if (!(await isFile(join(root, 'index.html')))) {
      return reply.status(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').header('retry-after', '60').send(NOT_BUILT);
    }
    // Revalidated on every load, so a new build is picked up at once.
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', root, { cacheControl: false });
  });
}

async function isFile(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
