import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, RateLimitPolicyName } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { AppError } from '../common/errors/app-error';
import { MemoryRateLimitStore, RateLimitCount, RateLimitStore } from './rate-limit-store';
import { RedisRateLimitStore } from './redis-rate-limit-store';

/** What the `RateLimit-*` response headers say about one counter. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Counts requests per policy and key, and refuses the ones over the limit with
 * 429 RATE_LIMITED. When the shared store (Redis) fails, requests are let through
 * (fail open: an outage of the counter must not take authentication down) and the
 * failure is logged at error.
 */
@Injectable()
export class RateLimiterService implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly store: RateLimitStore;
  private readonly memory?: MemoryRateLimitStore;
  private lastStoreErrorLogAt = 0;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    if (config.redisUrl) {
      this.store = new RedisRateLimitStore(config.redisUrl);
    } else {
      this.memory = new MemoryRateLimitStore(Math.max(10_000, config.cache.maxEntries * 10));
      this.store = this.memory;
    }
  }

  /** Adds `cost` to the counter and throws 429 when it is over the limit. */
  async consume(policy: RateLimitPolicyName, key: string, cost = 1): Promise<RateLimitState | null> {
    const state = await this.count(policy, key, cost);
    if (state && state.remaining < 0) throw this.limited(policy, state);
    return state;
  }

  /** Throws 429 if the counter is already over its limit, without adding to it. */
  async assertNotExceeded(policy: RateLimitPolicyName, key: string): Promise<void> {
    await this.consume(policy, key, 0);
  }

  /** Adds `cost` without refusing anything: the next request pays for this one. */
  async penalize(policy: RateLimitPolicyName, key: string, cost: number): Promise<void> {
    await this.count(policy, key, cost);
  }

  /** True when counts are kept in this process (no Redis): consumeInMemory then always counts. */
  get countsInMemory(): boolean {
    return this.memory !== undefined;
  }

  /**
   * The hot-path form for in-memory counts: synchronous, and nothing made unless over the limit.
   * True when counted; false when the store is shared (Redis), and the caller then uses `consume`.
   */
  consumeInMemory(policy: RateLimitPolicyName, key: string): boolean {
    if (!this.memory) return false;
    const { limit, windowSeconds } = this.config.rateLimits[policy];
    const count = this.memory.incrementSync(policy, key, 1, windowSeconds * 1000);
    if (count.count > limit) throw this.limited(policy, this.toState(limit, count));
    return true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }

  private async count(policy: RateLimitPolicyName, key: string, cost: number): Promise<RateLimitState | null> {
    const { limit, windowSeconds } = this.config.rateLimits[policy];
    try {
      return this.toState(limit, await this.store.increment(policy, key, cost, windowSeconds * 1000));
    } catch (error) {
      const now = Date.now();
      if (now - this.lastStoreErrorLogAt >= STORE_ERROR_LOG_INTERVAL_MS) {
        this.lastStoreErrorLogAt = now;
        this.logger.error({ err: error, policy }, 'rate-limit store unavailable: letting requests through (fail open)');
      }
      return null;
    }
  }

  private toState(limit: number, count: RateLimitCount): RateLimitState {
    return {
      limit,
      remaining: limit - count.count,
      resetSeconds: Math.max(1, Math.ceil((count.resetAtMs - Date.now()) / 1000)),
    };
  }

  private limited(policy: RateLimitPolicyName, state: RateLimitState): AppError {
    this.logger.warn({ policy }, `rate limit ${policy} exceeded`);
    return new AppError('RATE_LIMITED', `Too many requests, retry in ${state.resetSeconds} s`, {
      'retry-after': String(state.resetSeconds),
      ...rateLimitHeaders({ ...state, remaining: 0 }),
    });
  }
}

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(Math.max(0, state.remaining)),
    'ratelimit-reset': String(state.resetSeconds),
  };
}
