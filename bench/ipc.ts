import type { ChildProcess } from 'node:child_process';
import type { StatementCounts } from './sql-statements';

/** What the service's benchmark preload reports over the IPC channel (never over HTTP). */
export interface ServiceSnapshot {
  /** Statements issued while serving an HTTP request (inside its request context). */
  inRequests: StatementCounts;
  /** Statements issued outside any request: timers and workers such as the mail outbox. */
  outsideRequests: StatementCounts;
  /** False when the service runs without BENCH_SQL_COUNTERS=1: the counts are then all zero. */
  counting: boolean;
  rssBytes: number;
  /** Highest resident memory so far (VmHWM), when the platform tells. */
  peakRssBytes?: number;
}

export interface SnapshotRequest {
  type: 'bench:snapshot';
  id: number;
}

export interface SnapshotReply {
  type: 'bench:snapshot';
  id: number;
  snapshot: ServiceSnapshot;
}

export interface ReadyMessage {
  type: 'bench:ready';
  port: number;
}

let nextId = 1;

/** Asks a child for its counters and memory; the child answers on the same channel. */
export function requestSnapshot(child: ChildProcess, timeoutMs = 5000): Promise<ServiceSnapshot> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`pid ${child.pid} did not answer a snapshot request within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      const reply = message as Partial<SnapshotReply>;
      if (reply?.type !== 'bench:snapshot' || reply.id !== id || !reply.snapshot) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(reply.snapshot);
    };
    child.on('message', onMessage);
    child.send({ type: 'bench:snapshot', id } satisfies SnapshotRequest);
  });
}
