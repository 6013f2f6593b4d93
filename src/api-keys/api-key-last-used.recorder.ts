import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { ApiKeysRepository } from './api-key.repository';
import { describeFailure } from '../common/logging/sql-values';

/**
 * Keeps `last_used_at` without a write per request: uses are noted in memory and written in one
 * batched UPDATE per interval, off the request's path, so each key is written at most once per
 * interval. What is pending is written on a clean shutdown too.
 */
@Injectable()
export class ApiKeyLastUsedRecorder implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(ApiKeyLastUsedRecorder.name);
  /** key id -> the latest use not yet written (epoch ms) */
  private pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly repository: ApiKeysRepository,
  ) {}

  get intervalMs(): number {
    return this.config.apiKeys.lastUsedIntervalSeconds * 1000;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Called on every authenticated request: a map write, nothing more. */
  record(keyId: string, usedAt: number): void {
    this.pending.set(keyId, usedAt);
  }

  /** Writes what is pending. A failed write keeps its uses for the next round (unless newer ones came). */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.repository
      .recordLastUsed(Array.from(batch, ([id, usedAt]) => ({ id, usedAt: new Date(usedAt) })))
      .catch((error) => {
        this.logger.warn(`could not record the last use of ${batch.size} API key(s), retrying at the next flush: ${describeFailure(error)}`);
        for (const [id, usedAt] of batch) if (!this.pending.has(id)) this.pending.set(id, usedAt);
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }
}
