import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { StatementCounts } from './sql-statements';

/**
 * The benchmark and its children (the service, the baseline) talk over the IPC channel of
 * `fork`, never over HTTP, so the product has no benchmark endpoint. Both sides are here.
 */

/** What every child reports about its own process. */
export interface ProcessSnapshot {
  /** CPU time used so far, user plus system, all threads (argon2's included): microseconds. */
  cpuMicros: number;
  rssBytes: number;
  /** V8 heap in use (after a collection only if one was just asked for). */
  heapUsedBytes: number;
  /** Highest resident memory so far (VmHWM), when the platform tells. */
  peakRssBytes?: number;
}

/** What the service's benchmark preload reports. */
export interface ServiceSnapshot extends ProcessSnapshot {
  /** Statements issued while serving an HTTP request, counted while counting was on. */
  inRequests: StatementCounts;
  /** Statements issued outside any request: timers and workers such as the mail outbox. */
  outsideRequests: StatementCounts;
  /** Whether statements are being counted right now. */
  counting: boolean;
  /** The credential reads of a cache miss (an API key or a session with its user), counted always. */
  credentialReads: number;
}

export interface SnapshotRequest {
  type: 'bench:snapshot';
  id: number;
}

export interface SnapshotReply<S extends ProcessSnapshot = ProcessSnapshot> {
  type: 'bench:snapshot';
  id: number;
  snapshot: S;
}

/** Switches the service's SQL counting on or off; it answers once the switch is done. */
export interface CountingRequest {
  type: 'bench:counting';
  id: number;
  on: boolean;
}

export interface CountingReply {
  type: 'bench:counting';
  id: number;
  counting: boolean;
}

export interface CollectRequest {
  type: 'bench:collect';
  id: number;
}

export interface CollectReply {
  type: 'bench:collect';
  id: number;
}

export interface ReadyMessage {
  type: 'bench:ready';
  port: number;
}

/** Asks a child for its snapshot; the child answers on the same channel. */
export async function requestSnapshot<S extends ProcessSnapshot>(child: ChildProcess, timeoutMs = 5000): Promise<S> {
  return (await ask<SnapshotReply<S>>(child, { type: 'bench:snapshot' }, timeoutMs)).snapshot;
}

/** Switches the service's SQL counting, and resolves once the service has done it. */
export async function switchCounting(child: ChildProcess, on: boolean, timeoutMs = 5000): Promise<void> {
  const reply = await ask<CountingReply>(child, { type: 'bench:counting', on }, timeoutMs);
  if (reply.counting !== on) throw new Error(`pid ${child.pid} did not switch SQL counting ${on ? 'on' : 'off'}`);
}

let nextId = 1;

/** Has the child run a full garbage collection; resolves once it is done. */
export async function requestCollection(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  await ask<CollectReply>(child, { type: 'bench:collect' }, timeoutMs);
}

/** Sends a request with a fresh id and waits for the reply of the same type and id. */
function ask<Reply extends { type: string; id: number }>(child: ChildProcess, request: { type: Reply['type']; [field: string]: unknown }, timeoutMs: number): Promise<Reply> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`pid ${child.pid} did not answer ${request.type} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      const reply = message as Partial<Reply>;
      if (reply?.type !== request.type || reply.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(reply as Reply);
    };
    child.on('message', onMessage);
    child.send({ ...request, id });
  });
}

/** In a child: answers the benchmark's snapshot requests with `snapshot()`. */
export function answerSnapshots(snapshot: () => ProcessSnapshot): void {
  onRequest<SnapshotRequest>('bench:snapshot', (request) => ({ type: 'bench:snapshot', id: request.id, snapshot: snapshot() }) satisfies SnapshotReply);
}

/** In a child: switches counting as asked by `switchTo`, which returns whether it now counts. */
export function answerCountingSwitches(switchTo: (on: boolean) => boolean): void {
  onRequest<CountingRequest>('bench:counting', (request) => ({ type: 'bench:counting', id: request.id, counting: switchTo(request.on === true) }) satisfies CountingReply);
}

/**
 * In a child: runs a full garbage collection when asked. V8's `gc()` is reached through a flag set
 * at run time, so the process starts with the same flags as in production.
 */
export function answerCollections(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  onRequest<CollectRequest>('bench:collect', (request) => {
    gc();
    return { type: 'bench:collect', id: request.id } satisfies CollectReply;
  });
}

function onRequest<Request extends { type: string; id: number }>(type: Request['type'], answer: (request: Request) => unknown): void {
  if (!process.send) return;
  process.on('message', (message: unknown) => {
    const request = message as Partial<Request>;
    if (request?.type === type && typeof request.id === 'number') process.send?.(answer(request as Request));
  });
}

/** This process's CPU time and memory, for a snapshot. */
export function processSnapshot(): ProcessSnapshot {
  const { user, system } = process.cpuUsage();
  return { cpuMicros: user + system, rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed, peakRssBytes: peakRss() };
}

function peakRss(): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
