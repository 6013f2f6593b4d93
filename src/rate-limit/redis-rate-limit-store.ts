import { CircuitBreaker } from './circuit-breaker';
import { RateLimitCount, RateLimitStore } from './rate-limit-store';
import { RedisConnection, redisConnection, RedisTarget } from './redis-connection';

/**
 * For each key given (ARGV holds each key's cost and window, in turn): INCRBY, start the window's
 * expiry when it has none, and answer the count and the time left (in turn for every key). A
 * negative cost (a count given back) takes from a counter that exists, never below zero: a
 * counter gone meanwhile is a window that ended, and must not start the next one in credit.
 * It touches no key but those in KEYS, the ones ioredis prefixes (see `redisConnection`).
 */
const INCREMENT_SCRIPT = `
local answers = {}
for i, key in ipairs(KEYS) do
  local cost = ARGV[2 * i - 1]
  local window = ARGV[2 * i]
  local count
  if tonumber(cost) < 0 then
    local current = tonumber(redis.call('GET', key) or '0')
    count = current
    if current > 0 then count = redis.call('INCRBY', key, math.max(tonumber(cost), -current)) end
  else
    count = redis.call('INCRBY', key, cost)
  end
  -- A window starts when its counter has no expiry yet (a new one), never again within it: a
  -- counter given back to zero keeps its window.
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
/**
 * How long each call of a merge of authenticated uses waits for Redis: the interval between merges
 * (USE_MERGE_INTERVAL_MS). A call that is only slow (a busy machine, many keys) is then answered
 * rather than left unknown, and a frozen Redis holds a merge back about one interval.
 */
export const REDIS_MERGE_TIMEOUT_MS = 1000;
/** Failed commands in a row after which Redis is not asked at all. */
const FAILURES_TO_OPEN = 3;
/** While the breaker is open, how often Redis is asked (in the background) whether it is back. */
export const REDIS_PROBE_INTERVAL_MS = 1000;

/** What a command answers while the breaker is open: the caller fails open at once. */
export class RateLimitStoreUnavailable extends Error {
  constructor() {
    super('rate-limit store unavailable (circuit open)');
    this.name = 'RateLimitStoreUnavailable';
  }
}

/** What a merge answers for a count it did not send (see `incrementMany`): it was not added. */
export class RateLimitMergeNotSent extends Error {
  constructor() {
    super('rate-limit store unavailable (merge connection not ready, nothing sent)');
    this.name = 'RateLimitMergeNotSent';
  }
}

/**
 * Counts shared by every instance. Commands fail fast while Redis is unreachable (no offline
 * queue) and time out after REDIS_COMMAND_TIMEOUT_MS when it is frozen or slow; after a few
 * failures in a row a circuit breaker stops asking it (every call fails at once, so the caller
 * fails open without waiting) and a background read every REDIS_PROBE_INTERVAL_MS finds out when
 * it is back.
 *
 * Merges of authenticated uses (`incrementMany`) go on a connection of their own, with their own
 * timeout and outside the breaker: Redis answers a connection's commands in order, so on the
 * requests' connection a request sent behind a large merge would wait for all of it, time out,
 * and count towards opening the breaker on a healthy Redis.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: RedisConnection;
  private readonly merges: RedisConnection;
  private readonly breaker: CircuitBreaker;
  private probeTimer?: NodeJS.Timeout;
  private closed = false;

  /**
   * The target's `keyPrefix` (REDIS_KEY_PREFIX) starts every key, so that deployments sharing one
   * Redis count apart; `onAvailability` hears when the breaker opens (false) and closes again (true).
   */
  constructor(target: RedisTarget, onAvailability: (available: boolean) => void = () => undefined) {
    this.redis = redisConnection(target, REDIS_COMMAND_TIMEOUT_MS, INCREMENT_SCRIPT);
    this.merges = redisConnection(target, REDIS_MERGE_TIMEOUT_MS, INCREMENT_SCRIPT);
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
    const [count, ttl] = await this.guarded(() => (this.redis as any).atiruRateLimit(1, redisKey(scope, key), cost, windowMs) as Promise<[number, number]>);
    return { count, resetAtMs: Date.now() + ttl };
  }

  /**
   * Adds many counts on the merge connection, answering each with the counter's value and window
   * as `increment` answers it, or with an error. RateLimitMergeNotSent means the count was not
   * sent (the connection is not up, or an earlier call of the merge failed); any other error, that
   * it may or may not have been added (Redis did not answer in time, or the connection broke once
   * it was sent), so sending it again could count it twice.
   *
   * The counts go in script calls of up to INCREMENTS_PER_CALL keys each, one after the other,
   * rather than one call per key (the client's work grew with every user and key active in the
   * interval) or all calls at once: building a call's command is the costly part of a merge, and
   * between two calls the requests' replies are read, so none waits past its timeout behind it.
   */
  async incrementMany(increments: { scope: string; key: string; cost: number; windowMs: number }[]): Promise<Array<RateLimitCount | Error>> {
    const answers: Array<RateLimitCount | Error> = [];
    let failed = false;
    for (let at = 0; at < increments.length; at += INCREMENTS_PER_CALL) {
      const call = increments.slice(at, at + INCREMENTS_PER_CALL);
      // Nothing is sent on a connection that is not up (no offline queue); after a failed call,
      // the next ones would most likely wait as long for nothing.
      if (failed || this.merges.status !== 'ready') {
        const notSent = new RateLimitMergeNotSent();
        answers.push(...call.map(() => notSent));
        continue;
      }
      const keys = call.map(({ scope, key }) => redisKey(scope, key));
      const costsAndWindows = call.flatMap(({ cost, windowMs }) => [cost, windowMs]);
      try {
        const countsAndTtls = (await (this.merges as any).atiruRateLimit(keys.length, ...keys, ...costsAndWindows)) as number[];
        const now = Date.now();
        call.forEach((_, index) => answers.push({ count: countsAndTtls[2 * index], resetAtMs: now + countsAndTtls[2 * index + 1] }));
      } catch (error) {
        failed = true;
        answers.push(...call.map(() => error as Error));
      }
    }
    return answers;
  }

  /**
   * Resolves once both connections are up, or after `timeoutMs` whatever their state (true when
   * up): commands are not queued while a connection is down, so a count sent before fails open.
   */
  async connected(timeoutMs: number): Promise<boolean> {
    const waiting: Array<[RedisConnection, () => void]> = [];
    const up = (redis: RedisConnection) =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiting.push([redis, resolve]);
            redis.once('ready', resolve);
          });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([Promise.all([up(this.redis), up(this.merges)]).then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
      // A connection that came up late leaves no listener behind.
      for (const [redis, resolve] of waiting) redis.off('ready', resolve);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.redis.disconnect();
    this.merges.disconnect();
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
      // A read of a counter's key rather than a PING: on a cluster it goes to the node that holds
      // the counters, where a PING would go to any node and could find one up while that one is down.
      this.redis.exists(redisKey('probe', 'probe')).then(
        () => this.breaker.close(),
        () => this.scheduleProbe(),
      );
    }, REDIS_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }
}

/**
 * A counter's key, under the deployment's prefix: `rl:` tells rate-limit counts from whatever else
 * the service may keep in Redis one day.
 */
function redisKey(scope: string, key: string): string {
  return `rl:${scope}:${key}`;
}
