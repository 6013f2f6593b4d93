import { ApiKeyCache, CachedApiKey, REJECTED_TTL_MS } from '../../src/api-keys/api-key.cache';
import { LruCache } from '../../src/common/cache/bounded-cache';
import { MemoryBudget } from '../../src/common/cache/memory.budget';

const NOW = 1_700_000_000_000;
const key = (id: string, expiresAt: number | null = null): CachedApiKey => ({ id, userId: `user-${id}`, expiresAt, createdAt: 0, scopes: null });
/** The key as presented whose hash the tests call `hash`: any distinct string will do here. */
const presented = (hash: string) => `atiru_${hash}`;

/** How long the listener's proof of hearing holds in these tests, from NOW. */
const PROVEN_MS = 1500;

function listening(maxBytes = 1024 * 1024): ApiKeyCache {
  const cache = new ApiKeyCache(new MemoryBudget(maxBytes));
  cache.resume(NOW + PROVEN_MS);
  return cache;
}

/** Stores what a read of `hash` answered, as the authenticator does. */
function remember(cache: ApiKeyCache, hash: string, snapshot: number, found: CachedApiKey | null): void {
  cache.remember(presented(hash), hash, snapshot, found, NOW);
}

describe('LruCache', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('moves entries hit since they came in to the back, and evicts the oldest of the rest', () => {
    const lru = new LruCache<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    lru.get('a');
    lru.get('b');
    lru.set('d', 4); // a and b were hit: c, the oldest of the rest, goes
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.get('d')]).toEqual([1, 2, undefined, 4]);
    lru.set('e', 5); // all hit since: one pass unmarks them, and the oldest (a) goes
    expect(lru.get('a')).toBeUndefined();
    expect(lru.size).toBe(3);
  });

  it('stores nothing with a bound of 0', () => {
    const lru = new LruCache<string, number>(0);
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.size).toBe(0);
  });
});

describe('ApiKeyCache', () => {
  it('asks for the database on a miss and answers from memory after', () => {
    const cache = listening();
    expect(cache.lookup('h1', NOW)).toBeUndefined();
    remember(cache, 'h1', cache.snapshot(), key('k1'));
    expect(cache.lookup('h1', NOW)).toMatchObject(key('k1'));
    expect(cache.known(presented('h1'), NOW)).toMatchObject(key('k1'));
    expect(cache.known(presented('h2'), NOW)).toBeUndefined();
  });

  it('checks expires_at on every hit', () => {
    const cache = listening();
    remember(cache, 'h1', cache.snapshot(), key('k1', NOW + 1000));
    expect(cache.lookup('h1', NOW + 999)).toMatchObject(key('k1', NOW + 1000));
    expect(cache.lookup('h1', NOW + 1000)).toBe('rejected');
    expect(cache.lookup('h1', NOW + 1001)).toBe('rejected');
  });

  it('remembers rejections for a while, then asks again', () => {
    const cache = listening();
    remember(cache, 'unknown', cache.snapshot(), null);
    expect(cache.lookup('unknown', NOW + REJECTED_TTL_MS - 1)).toBe('rejected');
    expect(cache.lookup('unknown', NOW + REJECTED_TTL_MS)).toBeUndefined();
  });

  it('forgets a revoked key at once', () => {
    const cache = listening();
    remember(cache, 'h1', cache.snapshot(), key('k1'));
    cache.forget('h1');
    expect(cache.lookup('h1', NOW)).toBeUndefined();
  });

  it('forgets a rejection when the key is announced again: an expiry moved later in SQL is read afresh', () => {
    const cache = listening();
    remember(cache, 'h1', cache.snapshot(), key('k1', NOW + 1000));
    expect(cache.lookup('h1', NOW + 1000)).toBe('rejected'); // expired, so remembered as rejected
    cache.forget('h1'); // the trigger announces the new expiry
    expect(cache.lookup('h1', NOW + 2000)).toBeUndefined(); // the database decides again
  });

  it('does not store a read that a revocation overtook', () => {
    const cache = listening();
    const before = cache.snapshot();
    cache.forget('h1'); // the revocation lands while the read is in flight
    remember(cache, 'h1', before, key('k1'));
    expect(cache.lookup('h1', NOW)).toBeUndefined();
  });

  it('serves no accepted key until the listener is connected, and none while it is down', () => {
    const cache = new ApiKeyCache(new MemoryBudget(1024 * 1024));
    remember(cache, 'h1', cache.snapshot(), key('k1'));
    expect(cache.lookup('h1', NOW)).toBeUndefined();

    cache.resume(NOW + PROVEN_MS);
    remember(cache, 'h1', cache.snapshot(), key('k1'));
    expect(cache.lookup('h1', NOW)).toMatchObject(key('k1'));

    const during = cache.snapshot();
    cache.suspend();
    expect(cache.serving).toBe(false);
    expect(cache.lookup('h1', NOW)).toBeUndefined();
    remember(cache, 'h2', cache.snapshot(), key('k2'));
    expect(cache.lookup('h2', NOW)).toBeUndefined();

    cache.resume(NOW + PROVEN_MS); // starts empty: a revocation may have been missed while down
    expect(cache.lookup('h1', NOW)).toBeUndefined();
    remember(cache, 'h3', during, key('k3')); // a read begun before the outage
    expect(cache.lookup('h3', NOW)).toBeUndefined();
  });

  it('serves accepted keys only until the proof of hearing runs out, and again once a heartbeat renews it', () => {
    const cache = listening();
    remember(cache, 'h1', cache.snapshot(), key('k1'));
    expect(cache.lookup('h1', NOW + PROVEN_MS - 1)).toMatchObject(key('k1'));
    // No heartbeat answered in time (a frozen connection): the database decides.
    expect(cache.lookup('h1', NOW + PROVEN_MS)).toBeUndefined();
    // The same connection answered a later heartbeat: nothing was missed, the entry serves again.
    cache.heard(NOW + 2 * PROVEN_MS);
    expect(cache.lookup('h1', NOW + PROVEN_MS)).toMatchObject(key('k1'));
    // A proof arriving while the listener is down grants nothing.
    cache.suspend();
    cache.heard(NOW + 3 * PROVEN_MS);
    remember(cache, 'h1', cache.snapshot(), key('k1'));
    expect(cache.lookup('h1', NOW)).toBeUndefined();
  });

  it('keeps serving rejections while the listener is down (a rejected key never comes back)', () => {
    const cache = listening();
    remember(cache, 'bad', cache.snapshot(), null);
    cache.suspend();
    expect(cache.lookup('bad', NOW)).toBe('rejected');
  });

  it('stays within its memory budget, and drops both ways to an evicted key', () => {
    const budget = new MemoryBudget(4000);
    const cache = new ApiKeyCache(budget);
    cache.resume(NOW + PROVEN_MS);
    for (let index = 0; index < 100; index++) remember(cache, `a${index}`, cache.snapshot(), key(`k${index}`));
    expect(budget.bytes).toBeLessThanOrEqual(4000);
    // An entry of these short strings weighs 2 × 40 (Map slots) + 96 (the entry) + 16 (its
    // creation time) + 32 + 3 × 24 (its strings) = 296 bytes: 13 fit in 4,000.
    expect(cache.size.accepted).toBe(13);
    expect(cache.lookup('a99', NOW)).toMatchObject(key('k99'));
    expect(cache.lookup('a0', NOW)).toBeUndefined();
    expect(cache.known(presented('a0'), NOW)).toBeUndefined();
    expect(cache.known(presented('a99'), NOW)).toMatchObject(key('k99'));
  });

  it('bounds rejections by count, at a sixty-fourth of the budget', () => {
    const cache = listening(64 * 176 * 10);
    for (let index = 0; index < 100; index++) remember(cache, `r${index}`, cache.snapshot(), null);
    // A rejection is counted at 176 bytes (Map slot, hex hash, wrapper, deadline): 10 fit in 1/64 of the budget.
    expect(cache.size.rejected).toBe(10);
  });
});
