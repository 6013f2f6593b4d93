import Redis from 'ioredis';
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
 * Counts shared by every instance. Commands fail fast while Redis is unreachable (no offline
 * queue, short timeouts) so the caller can fail open instead of stalling requests.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'atiru:rl:') {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: 250,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Connection errors surface on each command; this listener only keeps them from being unhandled.
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('atiruRateLimit', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
  }

  async increment(scope: string, key: string, cost: number, windowMs: number): Promise<RateLimitCount> {
    const [count, ttl] = (await (this.redis as any).atiruRateLimit(`${this.prefix}${scope}:${key}`, cost, windowMs)) as [number, number];
    return { count, resetAtMs: Date.now() + ttl };
  }

  /**
   * Adds many counts in one round trip (a pipeline of the same script), each answered with the
   * counter's value and window as `increment` answers it; a count that failed answers its error.
   */
  async incrementMany(increments: { scope: string; key: string; cost: number; windowMs: number }[]): Promise<Array<RateLimitCount | Error>> {
    if (increments.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { scope, key, cost, windowMs } of increments) (pipeline as any).atiruRateLimit(`${this.prefix}${scope}:${key}`, cost, windowMs);
    const answers = (await pipeline.exec()) ?? [];
    const now = Date.now();
    return increments.map((_, index) => {
      const [error, value] = answers[index] ?? [new Error('no answer'), undefined];
      if (error) return error;
      const [count, ttl] = value as [number, number];
      return { count, resetAtMs: now + ttl };
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
