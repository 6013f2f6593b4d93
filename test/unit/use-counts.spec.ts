import { Logger } from '@nestjs/common';
import { loadConfig } from '../../src/config/app-config';
import { AppError } from '../../src/common/errors/app-error';
import type { Principal } from '../../src/common/auth/principal';
import { RateLimiterService } from '../../src/rate-limit/rate-limiter.service';
import { UseCounts } from '../../src/rate-limit/use-counts';

describe('UseCounts', () => {
  it('counts uses in a window and starts again after it', () => {
    let now = 1_000;
    const counts = new UseCounts(100, () => now);
    expect(counts.add('user', 'u1', 1000)).toEqual({ shared: 0, local: 1, resetAtMs: 2_000 });
    counts.add('user', 'u1', 1000);
    now = 1_999;
    expect(counts.add('user', 'u1', 1000).local).toBe(3);
    now = 2_000;
    expect(counts.add('user', 'u1', 1000)).toEqual({ shared: 0, local: 1, resetAtMs: 3_000 });
  });

  it('hands out the unmerged uses once, and adopts what the shared store answers', () => {
    const counts = new UseCounts(100, () => 0);
    counts.add('api_key', 'k1', 60_000);
    counts.add('api_key', 'k1', 60_000);
    counts.add('user', 'u1', 60_000);
    const pending = counts.takePending();
    expect(pending.map(({ scope, key, uses }) => [scope, key, uses])).toEqual([
      ['api_key', 'k1', 2],
      ['user', 'u1', 1],
    ]);
    expect(counts.takePending()).toEqual([]);

    // A use while the merge is in flight stays local; the store's count (others' uses included) becomes the shared part.
    counts.add('api_key', 'k1', 60_000);
    counts.merged(pending[0], 7, 30_000);
    expect(counts.add('api_key', 'k1', 60_000)).toEqual({ shared: 7, local: 2, resetAtMs: 30_000 });

    // Uses the store did not take are sent with the next ones.
    counts.notMerged(pending[1]);
    expect(counts.takePending().find((entry) => entry.key === 'u1')?.uses).toBe(1);
  });

  it('never hands out again uses the store may have taken unanswered, and counts them here until it answers', () => {
    const counts = new UseCounts(100, () => 0);
    counts.add('user', 'u1', 60_000);
    counts.add('user', 'u1', 60_000);
    const [late] = counts.takePending();
    counts.perhapsMerged(late);
    expect(counts.takePending()).toEqual([]);
    // Still counted against the limit here, as if the store had answered.
    expect(counts.add('user', 'u1', 60_000)).toEqual({ shared: 2, local: 1, resetAtMs: 60_000 });
    // The store's next answer says what it holds.
    const [next] = counts.takePending();
    expect(next.uses).toBe(1);
    counts.merged(next, 3, 50_000);
    expect(counts.add('user', 'u1', 60_000)).toEqual({ shared: 3, local: 1, resetAtMs: 50_000 });
  });

  it('stays within its bound, dropping expired windows first', () => {
    let now = 0;
    const counts = new UseCounts(2, () => now);
    counts.add('user', 'old', 10);
    now = 5;
    counts.add('user', 'live', 100);
    now = 20;
    counts.add('user', 'new', 100);
    // `old` expired and went; `live` kept its count.
    expect(counts.add('user', 'live', 100).local).toBe(2);
    expect(counts.takePending().map((entry) => entry.key).sort()).toEqual(['live', 'new']);
  });
});

describe('RateLimiterService authenticated uses', () => {
  const principal = (userId: string, apiKeyId?: string) => ({ user: { id: userId }, method: apiKeyId ? 'api_key' : 'jwt', api_key_id: apiKeyId }) as unknown as Principal;

  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('refuses the use over a key\'s limit, and over a user\'s across its credentials, with RATE_LIMITED and Retry-After', () => {
    const limiter = new RateLimiterService(loadConfig({ NODE_ENV: 'test', RATE_LIMIT_API_KEY: '2/60', RATE_LIMIT_USER: '3/60' }));
    limiter.countUse(principal('u1', 'k1'));
    limiter.countUse(principal('u1', 'k1'));
    let refused: unknown;
    try {
      limiter.countUse(principal('u1', 'k1'));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', headers: expect.objectContaining({ 'retry-after': expect.stringMatching(/^\d+$/) }) });
    // The refused use was not a use of the user: one more is allowed with a JWT, then no more.
    limiter.countUse(principal('u1'));
    expect(() => limiter.countUse(principal('u1'))).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    expect(() => limiter.countUse(principal('u2'))).not.toThrow();
  });
});
