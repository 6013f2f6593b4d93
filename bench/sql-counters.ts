/**
 * Preloaded into the service by the benchmark (`node --require`), never imported by the product.
 * With BENCH_SQL_COUNTERS=1 it counts every statement sent through `pg` (MikroORM's knex pool and
 * any raw client alike), split by kind and by whether an HTTP request was being served, and
 * answers snapshot requests on the IPC channel. Counting is a regex on the statement's first word,
 * one AsyncLocalStorage look-up and an increment.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import type { ServiceSnapshot, SnapshotRequest } from './ipc';
import { classifyStatement, emptyCounts } from './sql-statements';

const counting = process.env.BENCH_SQL_COUNTERS === '1';
const inRequests = emptyCounts();
const outsideRequests = emptyCounts();

if (counting) countStatements();
if (process.send) process.on('message', answerSnapshots);

function countStatements(): void {
  const inRequest = requestContextProbe();
  const prototype = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  prototype.query = function countedQuery(this: unknown, ...args: unknown[]) {
    const config = args[0] as string | { text?: unknown } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text === 'string') (inRequest() ? inRequests : outsideRequests)[classifyStatement(text)]++;
    return query.apply(this, args);
  };
}

/**
 * The service keeps each request's id in an AsyncLocalStorage; loading the very module file the
 * service loads (next to its entry point) gives the same store. Without it, every statement
 * counts as a request's.
 */
function requestContextProbe(): () => boolean {
  const entry = process.argv[1];
  if (!entry) return () => true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const context = require(join(dirname(entry), 'common', 'logging', 'request-context.js')) as typeof import('../src/common/logging/request-context');
    return () => context.currentRequestId() !== undefined;
  } catch {
    return () => true;
  }
}

function answerSnapshots(message: unknown): void {
  const request = message as Partial<SnapshotRequest>;
  if (request?.type !== 'bench:snapshot') return;
  const snapshot: ServiceSnapshot = {
    inRequests: { ...inRequests },
    outsideRequests: { ...outsideRequests },
    counting,
    rssBytes: process.memoryUsage.rss(),
    peakRssBytes: peakRss(),
  };
  process.send?.({ type: 'bench:snapshot', id: request.id, snapshot });
}

function peakRss(): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
