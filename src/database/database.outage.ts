import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { describeFailure } from '../common/logging/sql-values';

/** How often, during an outage, the database is asked whether it is back. */
const PROBE_INTERVAL_MS = 1000;

/**
 * The database outages this instance lives through, as two log lines each: one when the first
 * request is refused for want of the database, one when it answers again, with how long it was
 * gone and how many requests were answered 503 meanwhile. Without it, every refused request
 * would log its own stack trace, thousands a second under load, burying everything else.
 *
 * The end is found by asking the database (`SELECT 1`) every PROBE_INTERVAL_MS, one probe at a
 * time, only while an outage lasts.
 */
@Injectable()
export class DatabaseOutage implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private startedAt?: number;
  private refusedRequests = 0;
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly em: EntityManager) {}

  /** Whether the database is unreachable, as far as this instance knows. */
  get ongoing(): boolean {
    return this.startedAt !== undefined;
  }

  /** A request was answered 503 because the database could not be reached (`error` says how). */
  refused(error: unknown): void {
    this.started(error);
    this.refusedRequests++;
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.probeTimer);
  }

  private started(error: unknown): void {
    if (this.startedAt !== undefined || this.stopped) return;
    this.startedAt = Date.now();
    this.refusedRequests = 0;
    this.logger.warn('database unreachable: answering 503 SERVER_BUSY until it answers again', { cause: describeFailure(error) });
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    this.probeTimer = setTimeout(() => void this.probe(), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    try {
      await this.em.getConnection().execute('SELECT 1');
    } catch {
      this.scheduleProbe();
      return;
    }
    const seconds = (Date.now() - (this.startedAt ?? Date.now())) / 1000;
    // At warn, as the first line: whoever reads one sees the other.
    this.logger.warn(`database reachable again after ${seconds.toFixed(1)} s; ${this.refusedRequests} request(s) were answered 503 meanwhile`, {
      outage_seconds: Number(seconds.toFixed(1)),
      refused_requests: this.refusedRequests,
    });
    this.startedAt = undefined;
    this.refusedRequests = 0;
  }
}
