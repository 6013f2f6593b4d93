import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Principal } from '../common/auth/principal';
import { AppConfig, RateLimitPolicyName } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { AppError } from '../common/errors/app-error';
import { StartRefusedError } from '../common/errors/start-refused.error';
import { MemoryRateLimitStore, RateLimitCount, RateLimitStore } from './rate-limit-store';
import { RateLimitMergeNotSent, RateLimitStoreUnavailable, RedisRateLimitStore } from './redis-rate-limit-store';
import { redisServerIsClusterNode } from './redis-connection';
import { clientKey } from './client-key';
import { UseCounts } from './use-counts';

/** What the `RateLimit-*` response headers say about one counter, and when its window ends (epoch ms). */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
  resetAtMs: number;
}

const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * How often this instance merges its authenticated uses into the shared store, and so how late
 * it sees the other instances' (see UseCounts, and the README on how approximate shared counts are).
 */
export const USE_MERGE_INTERVAL_MS = 1000;
/**
 * Counted per instance whatever the store: a confirmation link's token, which no per-address limit
 * precedes (decision 026), so every made-up token of a flood would be a key in Redis for the
 * window. Each instance allows the limit, and keeps RATE_LIMIT_MEMORY_KEYS of its counts at most
 * (the one that ends first goes).
 */
const LOCAL_POLICIES: ReadonlySet<RateLimitPolicyName> = new Set(['confirm_token']);

/** How long a start waits for Redis before it serves without it. */
const REDIS_START_WAIT_MS = 2000;

/**
 * Windows of authenticated uses kept per policy (API keys, users). Their keys are credentials a
 * client cannot make up, so only that many in use within one window fill a policy.
 */
const MAX_USE_WINDOWS_PER_POLICY = 100_000;

/** Bound of the local block list; clearing it only costs a few extra verifications. */
const MAX_BLOCKED_CLIENTS = 100_000;

/**
 * Counts requests per policy and key, and refuses the ones over the limit with
 * 429 RATE_LIMITED. When the shared store (Redis) fails, requests are let through
 * (fail open: an outage of the counter must not take authentication down) and the
 * failure is logged at error. A frozen or slow Redis holds a request at most
 * REDIS_COMMAND_TIMEOUT_MS, and after a few failures not at all (the store's circuit breaker).
 * Merges wait on a connection of their own, so no request waits for one.
 *
 * Three kinds of counting, each where it costs least:
 * - route rules (`@RateLimit`: logins, mail, refreshes) count in the store on every request;
 * - authenticated uses (per API key, per user) count in memory, synchronously, and are merged
 *   into the shared store every USE_MERGE_INTERVAL_MS, so no authenticated request waits on it;
 * - failed authentications per client IP count in the store, and a client over the limit is
 *   refused from memory until its window ends, before any credential this instance has not
 *   verified before is checked.
 * Policies keyed by something a client makes up at will with no other limit before them
 * (LOCAL_POLICIES) count in this instance's bounded memory even with Redis, so that a flood of
 * made-up keys fills no shared store.
 */
@Injectable()
export class RateLimiterService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly store: RateLimitStore;
  private readonly shared?: RedisRateLimitStore;
  /** LOCAL_POLICIES' counts: the store itself without Redis. */
  private readonly local: RateLimitStore;
  private readonly uses: UseCounts;
  /** Client IPs over the failed-authentication limit, and until when (epoch ms). */
  private readonly blockedUntil = new Map<string, number>();
  private mergeTimer?: NodeJS.Timeout;
  private merging?: Promise<void>;
  private lastStoreErrorLogAt = 0;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    // Bounded per policy, so the keys a client makes up in one never push out another's counts.
    // At worst every policy counted here is full: RATE_LIMIT_MEMORY_KEYS windows each, every one a
    // key (a client address, a 22-character hash, or both) and two numbers; decision 026 has what
    // that weighs.
    this.local = new MemoryRateLimitStore(config.rateLimitMemoryKeys);
    if (config.redisUrl) {
      const target = { url: config.redisUrl, keyPrefix: config.redisKeyPrefix, cluster: config.redisCluster };
      this.shared = new RedisRateLimitStore(target, (available) => this.storeAvailability(available));
      this.store = this.shared;
    } else {
      this.store = this.local;
    }
    this.uses = new UseCounts(MAX_USE_WINDOWS_PER_POLICY);
  }

  /** Whether the shared store is asked (its circuit closed); undefined without one. */
  get sharedStoreAvailable(): boolean | undefined {
    return this.shared?.available;
  }

  /**
   * Waits a moment for Redis, so that an instance counts its first requests with the others
   * rather than alone; an unreachable Redis delays the start by that moment, and limits then fail
   * open as they do whenever Redis is down. A Redis that answers as the other kind than
   * REDIS_CLUSTER says refuses the start: a standalone connection to a cluster's node counts only
   * the keys of that node's slots, and a cluster connection to a standalone server never comes up,
   * both failing open for good where a limit must hold.
   */
  async onModuleInit(): Promise<void> {
    if (!this.shared) return;
    const [connected, clusterNode] = await Promise.all([
      this.shared.connected(REDIS_START_WAIT_MS),
      redisServerIsClusterNode(this.config.redisUrl, REDIS_START_WAIT_MS),
    ]);
    if (clusterNode !== undefined && clusterNode !== this.config.redisCluster) {
      throw new StartRefusedError(
        clusterNode
          ? 'REDIS_URL names a node of a Redis Cluster: set REDIS_CLUSTER=true, or the counts of every key on another node would fail open'
          : 'REDIS_CLUSTER is set, but the server REDIS_URL names runs without cluster support: unset REDIS_CLUSTER',
      );
    }
    this.mergeTimer = setInterval(() => void this.mergeUses(), USE_MERGE_INTERVAL_MS);
    this.mergeTimer.unref();
    if (!connected) {
      this.logger.error('rate-limit store not reachable at start: letting requests through (fail open) until it answers');
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

  /**
   * Takes back `cost` that `consume` added, answering `spent`, while that window lasts: after it
   * the count is gone anyway, and taking it from the next window would give that one extra room.
   */
  async giveBack(policy: RateLimitPolicyName, key: string, spent: RateLimitState, cost = 1): Promise<void> {
    if (spent.resetAtMs <= Date.now()) return;
    await this.count(policy, key, -cost);
  }

  /**
   * Counts one authenticated request against its API key's limit (if it came with one) and its
   * user's, in memory; throws RATE_LIMITED over either. With a shared store a limit is shared
   * approximately: it may be overrun by what the other instances admit in one merge interval.
   */
  countUse(principal: Principal): void {
    const keyId = principal.api_key_id;
    if (keyId !== undefined) this.countUseOf('api_key', keyId);
    this.countUseOf('user', principal.user.id);
  }

  /**
   * Refuses, with RATE_LIMITED, a client that is over the failed-authentication limit. Asked on
   * every guarded request: the client's address is read only while some client is blocked,
   * since behind TRUST_PROXY reading it parses X-Forwarded-For each time.
   */
  refuseBlockedClient(client: { readonly ip: string }): void {
    if (this.blockedUntil.size === 0) return;
    const key = clientKey(client.ip);
    const until = this.blockedUntil.get(key);
    if (until === undefined) return;
    const left = until - Date.now();
    if (left <= 0) {
      this.blockedUntil.delete(key);
      return;
    }
    const seconds = String(Math.ceil(left / 1000));
    throw new AppError('RATE_LIMITED', `Too many failed authentications, retry in ${seconds} s`, { 'retry-after': seconds });
  }

  /**
   * Counts a failed authentication from `ip`, an IPv6 one by its /64 (shared across instances when
   * Redis is configured).
   * Rejects with RATE_LIMITED once the client is over the limit, and from then on this instance
   * refuses it before verifying any credential it does not hold from before, until the window
   * ends, so credentials cannot be guessed at speed.
   */
  async countFailedAuthentication(ip: string): Promise<void> {
    const key = clientKey(ip);
    try {
      await this.consume('auth_failure_ip', key);
    } catch (error) {
      if (error instanceof AppError && error.code === 'RATE_LIMITED') {
        if (this.blockedUntil.size >= MAX_BLOCKED_CLIENTS) this.blockedUntil.clear();
        this.blockedUntil.set(key, Date.now() + Number(error.headers['retry-after']) * 1000);
      }
      throw error;
    }
  }

  /**
   * Sends the uses counted since the last merge to the shared store and takes back the shared
   * counts. Uses not sent (Redis unreachable, or the merge stopped at a failed call) stay local
   * for the next merge; uses sent and not answered count as merged and are not sent again
   * (UseCounts.perhapsMerged). Each instance enforces the limits on its own uses meanwhile.
   */
  async mergeUses(): Promise<void> {
    if (!this.shared || this.merging) return this.merging;
    // While the breaker says Redis does not answer, a merge would only wait for it: the uses stay local.
    if (!this.shared.available) return;
    const pending = this.uses.takePending();
    if (pending.length === 0) return;
    const increments = pending.map(({ scope, key, uses }) => ({
      scope,
      key,
      cost: uses,
      windowMs: this.config.rateLimits[scope as RateLimitPolicyName].windowSeconds * 1000,
    }));
    this.merging = this.shared
      .incrementMany(increments)
      .then(
        (answers) =>
          answers.forEach((answer, index) => {
            if (!(answer instanceof Error)) return this.uses.merged(pending[index], answer.count, answer.resetAtMs);
            if (answer instanceof RateLimitMergeNotSent) this.uses.notMerged(pending[index]);
            else this.uses.perhapsMerged(pending[index]);
            this.logStoreError(answer, pending[index].scope);
          }),
        // Not expected (the store answers each count): whether anything was sent is unknown.
        (error) => {
          for (const entry of pending) this.uses.perhapsMerged(entry);
          this.logStoreError(error, 'uses');
        },
      )
      .finally(() => (this.merging = undefined));
    return this.merging;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.mergeTimer);
    await this.mergeUses();
    await this.store.close();
  }

  private countUseOf(policy: 'api_key' | 'user', key: string): void {
    const { limit, windowSeconds } = this.config.rateLimits[policy];
    const window = this.uses.add(policy, key, windowSeconds * 1000);
    const count = window.shared + window.local;
    if (count > limit) {
      // A refused use is not a use.
      window.local--;
      throw this.limited(policy, this.toState(limit, { count, resetAtMs: window.resetAtMs }));
    }
  }

  private async count(policy: RateLimitPolicyName, key: string, cost: number): Promise<RateLimitState | null> {
    const { limit, windowSeconds } = this.config.rateLimits[policy];
    try {
      const store = LOCAL_POLICIES.has(policy) ? this.local : this.store;
      return this.toState(limit, await store.increment(policy, key, cost, windowSeconds * 1000));
    } catch (error) {
      this.logStoreError(error, policy);
      return null;
    }
  }

  /** One line when the breaker opens, one when Redis answers again. */
  private storeAvailability(available: boolean): void {
    if (available) {
      this.logger.warn('rate-limit store available again: limits are shared across instances');
    } else {
      this.logger.error('rate-limit store unavailable: letting requests through (fail open) until it answers again');
    }
  }

  private logStoreError(error: unknown, policy: string): void {
    // While the circuit is open, the line that opened it said everything.
    if (error instanceof RateLimitStoreUnavailable) return;
    const now = Date.now();
    if (now - this.lastStoreErrorLogAt < STORE_ERROR_LOG_INTERVAL_MS) return;
    this.lastStoreErrorLogAt = now;
    this.logger.error('rate-limit store unavailable: letting requests through (fail open)', { err: error, policy });
  }

  private toState(limit: number, count: RateLimitCount): RateLimitState {
    return {
      limit,
      remaining: limit - count.count,
      resetSeconds: Math.max(1, Math.ceil((count.resetAtMs - Date.now()) / 1000)),
      resetAtMs: count.resetAtMs,
    };
  }

  private limited(policy: RateLimitPolicyName, state: RateLimitState): AppError {
    this.logger.warn(`rate limit ${policy} exceeded`, { policy });
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
