import Redis from 'ioredis';
import { CircuitBreaker } from './circuit-breaker';
import { RateLimitCount, RateLimitStore } from './rate-limit-store';

/**
 * For each key given (ARGV holds each key's cost and window, in turn): INCRBY, start the window's
 * expiry on its first hit, and answer the count and the time left (in turn for every key).
 */
const INCREMENT_SCRIPT = `
local answers = {}
for i, key in ipairs(KEYS) do
  local cost = ARGV[2 * i - 1]
  local window = ARGV[2 * i]
  local count = redis.call('INCRBY', key, cost)
  if count == tonumber(cost) then redis.call('PEXPIRE', key, window) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = tonumber(window) end
  answers[2 * i - 1] = count
  answers[2 * i] = ttl
end
return answers
`;

/**
 * Counts one script call adds at most: Redis runs nothing else while a script runs, so a merge of
 * many keys is cut into calls short enough not to hold up other clients' commands.
 */
export const INCREMENTS_PER_CALL = 500;

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
    // Called with the number of keys first: the keys, then each key's cost and window.
    this.redis.defineCommand('atiruRateLimit', { lua: INCREMENT_SCRIPT });
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
    const [count, ttl] = await this.guarded(() => (this.redis as any).atiruRateLimit(1, `${this.prefix}${scope}:${key}`, cost, windowMs) as Promise<[number, number]>);
    return { count, resetAtMs: Date.now() + ttl };
  }

  /**
   * Adds many counts in one round trip, answering each with the counter's value and window as
   * `increment` answers it; a count that failed answers its error. The counts go in script calls
   * of up to INCREMENTS_PER_CALL keys each (a pipeline of them), rather than one call per key:
   * a merge carries a count for every key used in the interval, and a call per key made the
   * client's work grow with every user and key active in it.
   */
  async incrementMany(increments: { scope: string; key: string; cost: number; windowMs: number }[]): Promise<Array<RateLimitCount | Error>> {
    if (increments.length === 0) return [];
    const calls: (typeof increments)[] = [];
    for (let at = 0; at < increments.length; at += INCREMENTS_PER_CALL) calls.push(increments.slice(at, at + INCREMENTS_PER_CALL));
    const answers = await this.guarded(async () => {
      const pipeline = this.redis.pipeline();
      for (const call of calls) {
        const keys = call.map(({ scope, key }) => `${this.prefix}${scope}:${key}`);
        const costsAndWindows = call.flatMap(({ cost, windowMs }) => [cost, windowMs]);
        (pipeline as any).atiruRateLimit(keys.length, ...keys, ...costsAndWindows);
      }
      const results = (await pipeline.exec()) ?? [];
      // Every call failed (each timed out, say): the store failed, not some counts.
      if (results.length > 0 && results.every(([error]) => error)) throw results[0][0];
      return results;
    });
    const now = Date.now();
    return calls.flatMap((call, index): Array<RateLimitCount | Error> => {
      const [error, value] = answers[index] ?? [new Error('no answer'), undefined];
      if (error) return call.map(() => error);
      const countsAndTtls = value as number[];
      return call.map((_, at) => ({ count: countsAndTtls[2 * at], resetAtMs: now + countsAndTtls[2 * at + 1] }));
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
