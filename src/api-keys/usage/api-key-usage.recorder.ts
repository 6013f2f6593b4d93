import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CredentialUseListener, CredentialUses } from '../../auth/guards/credential.uses';
import { ClientInfo, clientInfoOf } from '../../common/http/client-info';
import type { Principal } from '../../common/auth/principal';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { ApiKeyUsageRepository, ApiKeyUsageWrite } from './api-key-usage.repository';
import { describeFailure } from '../../common/logging/sql-values';

const DAY_MS = 86_400_000;
/** How many UTC days of counts are kept and shown, today included. */
export const USAGE_RETENTION_DAYS = 90;
/** How often, at most, days past the retention are deleted (by whichever instance flushes). */
const PRUNE_INTERVAL_MS = 3_600_000;

export type UseOutcome = 'succeeded' | 'refused';

interface DayCounts {
  succeeded: number;
  refused: number;
}

/** One key's uses since the last flush. */
interface PendingUsage {
  lastUsedAt: number;
  ip: string | null;
  userAgent: string | null;
  /** UTC day (days since the epoch) -> counts */
  days: Map<number, DayCounts>;
}

/** The UTC day `epochMs` falls on, as PostgreSQL reads a date: `2026-12-05`. */
export function utcDay(epochMs: number): string {
  return new Date(Math.floor(epochMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** The first day still kept and shown on the day of `nowMs`. */
export function firstRetainedDay(nowMs: number): string {
  return utcDay(nowMs - (USAGE_RETENTION_DAYS - 1) * DAY_MS);
}

/**
 * Usage per API key without a write per request: each use of a key (admitted or refused by the
 * guard) is noted in memory, and once per interval one batch writes each key's last use (time,
 * client IP, user agent) and adds its counts per UTC day. A clean shutdown writes what is pending;
 * a crash loses at most one interval of it. Days older than the retention are pruned.
 */
@Injectable()
export class ApiKeyUsageRecorder implements CredentialUseListener, OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(ApiKeyUsageRecorder.name);
  private pending = new Map<string, PendingUsage>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private lastPrunedAt = 0;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly repository: ApiKeyUsageRepository,
    uses: CredentialUses,
  ) {
    uses.listen(this);
  }

  get intervalMs(): number {
    return this.config.apiKeys.lastUsedIntervalSeconds * 1000;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Never started (a start that failed before init, its migrations say): nothing was noted, and
    // the database may not hold the tables yet.
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    await this.flush();
  }

  admitted(principal: Principal, request: FastifyRequest): void {
    if (principal.api_key_id !== undefined) this.record(principal.api_key_id, 'succeeded', clientInfoOf(request), Date.now());
  }

  refused(principal: Principal, request: FastifyRequest): void {
    if (principal.api_key_id !== undefined) this.record(principal.api_key_id, 'refused', clientInfoOf(request), Date.now());
  }

  /** Notes one use of a key: a few map operations, nothing more. */
  record(keyId: string, outcome: UseOutcome, client: ClientInfo, at: number): void {
    let usage = this.pending.get(keyId);
    if (usage === undefined) {
      usage = { lastUsedAt: at, ip: client.ip, userAgent: client.userAgent, days: new Map() };
      this.pending.set(keyId, usage);
    } else if (at >= usage.lastUsedAt) {
      usage.lastUsedAt = at;
      usage.ip = client.ip;
      usage.userAgent = client.userAgent;
    }
    const day = Math.floor(at / DAY_MS);
    let counts = usage.days.get(day);
    if (counts === undefined) {
      counts = { succeeded: 0, refused: 0 };
      usage.days.set(day, counts);
    }
    counts[outcome]++;
  }

  /** Writes what is pending, and prunes old days now and then. A failed write keeps its uses for the next round. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    const now = Date.now();
    if (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      this.flushing = this.repository
        .recordUsage(toWrites(batch))
        .catch((error) => {
          this.logger.warn('could not record the usage of API keys, retrying at the next flush', { keys: batch.size, error: describeFailure(error) });
          this.putBack(batch);
        })
        .finally(() => (this.flushing = undefined));
      await this.flushing;
    }
    if (now - this.lastPrunedAt >= PRUNE_INTERVAL_MS) {
      this.lastPrunedAt = now;
      await this.repository.pruneBefore(firstRetainedDay(now)).catch((error) => {
        this.logger.warn('could not prune old API key usage days', { error: describeFailure(error) });
      });
    }
  }

  /** A batch that could not be written joins what was noted meanwhile: counts add up, the later last use wins. */
  private putBack(batch: Map<string, PendingUsage>): void {
    for (const [keyId, failed] of batch) {
      const current = this.pending.get(keyId);
      if (current === undefined) {
        this.pending.set(keyId, failed);
        continue;
      }
      if (failed.lastUsedAt > current.lastUsedAt) {
        current.lastUsedAt = failed.lastUsedAt;
        current.ip = failed.ip;
        current.userAgent = failed.userAgent;
      }
      for (const [day, counts] of failed.days) {
        const into = current.days.get(day);
        if (into === undefined) current.days.set(day, counts);
        else {
          into.succeeded += counts.succeeded;
          into.refused += counts.refused;
        }
      }
    }
  }
}

function toWrites(batch: Map<string, PendingUsage>): ApiKeyUsageWrite[] {
  return Array.from(batch, ([id, usage]) => ({
    id,
    lastUsedAt: new Date(usage.lastUsedAt),
    ip: usage.ip,
    userAgent: usage.userAgent,
    days: Array.from(usage.days, ([day, counts]) => ({ day: utcDay(day * DAY_MS), ...counts })),
  }));
}
