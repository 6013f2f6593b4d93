import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort } from './free-port';

/**
 * One PostgreSQL server for the whole run: the one DATABASE_URL names, or the embedded one.
 * Each test file then creates its own database on it (test/support/test-database.ts).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_PG_SERVER_URL = process.env.DATABASE_URL;
    process.stdout.write(`\ntests use the PostgreSQL server at DATABASE_URL\n`);
    return;
  }
  const started = Date.now();
  const embedded = await startEmbeddedPostgres({ dataDir: join(__dirname, '..', '..', '.data', 'test'), port: await freePort() });
  (globalThis as any).__ATIRU_EMBEDDED_PG__ = embedded;
  process.env.TEST_PG_SERVER_URL = embedded.serverUrl;
  process.stdout.write(`\ntests use an embedded PostgreSQL (${embedded.serverUrl.replace(/:[^:@/]+@/, ':***@')}, up in ${Date.now() - started} ms)\n`);
}
