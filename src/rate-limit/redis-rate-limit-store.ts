import Redis from 'ioredis';
import { CircuitBreaker } from './circuit-breaker';
import { RateLimitCount, RateLimitStore } from './rate-limit-store';

/** INCRBY, start the window's expiry on its first hit, answer the count and the time left. */
const INCREMENT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return { count, ttl }
`;

/**
 * How long a request waits for Redis at most. A healthy Redis answers in well under a
 * millisecond; one that takes this long is treated as failing.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 50;
/** Failed commands in a row after which Redis is not asked at all. */
const FAILURES_TO_OPEN = 3;
/** While the breaker is open, how often Redis is asked (PING, in the background) whether it is back. */
export const REDIS_PROBE_INTERVAL_MS = 1000;

/** What a command answers while the breaker is open: the caller fails open at once. */
export class RateLimitStoreUnavailable extends Error {
  constructor() {
    super('rate-limit store unavailable (circuit open)');
    this.name = 'RateLimitStoreUnavailable';
  }
}

/**
 * Counts shared by every instance. Commands fail fast while Redis is unreachable (no offline
 * queue) and time out after REDIS_COMMAND_TIMEOUT_MS when it is frozen or slow; after a few
 * failures in a row a circuit breaker stops asking it (every call fails at once, so the caller
 * fails open without waiting) and a background PING every REDIS_PROBE_INTERVAL_MS finds out when
 * it is back.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis;
  private readonly breaker: CircuitBreaker;
  private probeTimer?: NodeJS.Timeout;
  private closed = false;

  /** `onAvailability` hears when the breaker opens (false) and closes again (true). */
  constructor(
    url: string,
    private readonly prefix = 'atiru:rl:',
    onAvailability: (available: boolean) => void = () => undefined,
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Connection errors surface on each command; this listener only keeps them from being unhandled.
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('atiruRateLimit', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    this.breaker = new CircuitBreaker(FAILURES_TO_OPEN, (open) => {
      if (open) this.scheduleProbe();
      onAvailability(!open);
    });
  }

  /** False while the breaker is open: Redis is not asked, every count fails open. */
  get available(): boolean {
    return !this.breaker.isOpen;
  }

  async increment(scope: string, key: string, cost: number, windowMs: number): Promise<RateLimitCount> {
    const [count, ttl] = await this.guarded(() => (this.redis as any).atiruRateLimit(`${this.prefix}${scope}:${key}`, cost, windowMs) as Promise<[number, number]>);
    return { count, resetAtMs: Date.now() + ttl };
  }

  /**
   * Adds many counts in one round trip (a pipeline of the same script), each answered with the
   * counter's value and window as `increment` answers it; a count that failed answers its error.
   */
  async incrementMany(increments: { scope: string; key: string; cost: number; windowMs: number }[]): Promise<Array<RateLimitCount | Error>> {
    if (increments.length === 0) return [];
    const answers = await this.guarded(async () => {
      const pipeline = this.redis.pipeline();
      for (const { scope, key, cost, windowMs } of increments) (pipeline as any).atiruRateLimit(`${this.prefix}${scope}:${key}`, cost, windowMs);
      const results = (await pipeline.exec()) ?? [];
      // Every command failed (each timed out, say): the store failed, not some counts.
      if (results.length > 0 && results.every(([error]) => error)) throw results[0][0];
      return results;
    });
    const now = Date.now();
    return increments.map((_, index) => {
      const [error, value] = answers[index] ?? [new Error('no answer'), undefined];
      if (error) return error;
      const [count, ttl] = value as [number, number];
      return { count, resetAtMs: now + ttl };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.redis.disconnect();
  }

  private async guarded<T>(command: () => Promise<T>): Promise<T> {
    if (!this.breaker.allow()) throw new RateLimitStoreUnavailable();
    try {
      const answer = await command();
      this.breaker.succeeded();
      return answer;
    } catch (error) {
      this.breaker.failed();
      throw error;
    }
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.redis.ping().then(
        () => this.breaker.close(),
        () => this.scheduleProbe(),
      );
    }, REDIS_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }
}
