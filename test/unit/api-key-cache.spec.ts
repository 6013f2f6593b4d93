import { ApiKeyCache, CachedApiKey, REJECTED_TTL_MS } from '../../src/api-keys/api-key-cache';
import { LruCache } from '../../src/common/cache/bounded-cache';

const NOW = 1_700_000_000_000;
const key = (id: string, expiresAt: number | null = null): CachedApiKey => ({ id, userId: `user-${id}`, expiresAt, createdAt: 0, scopes: null });

function listening(maxEntries = 10): ApiKeyCache {
  const cache = new ApiKeyCache(maxEntries);
  cache.resume();
  return cache;
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
    cache.remember('h1', cache.snapshot(), key('k1'), NOW);
    expect(cache.lookup('h1', NOW)).toEqual(key('k1'));
  });

  it('checks expires_at on every hit', () => {
    const cache = listening();
    cache.remember('h1', cache.snapshot(), key('k1', NOW + 1000), NOW);
    expect(cache.lookup('h1', NOW + 999)).toEqual(key('k1', NOW + 1000));
    expect(cache.lookup('h1', NOW + 1000)).toBe('rejected');
    expect(cache.lookup('h1', NOW + 1001)).toBe('rejected');
  });

  it('remembers rejections for a while, then asks again', () => {
    const cache = listening();
    cache.remember('unknown', cache.snapshot(), null, NOW);
    expect(cache.lookup('unknown', NOW + REJECTED_TTL_MS - 1)).toBe('rejected');
    expect(cache.lookup('unknown', NOW + REJECTED_TTL_MS)).toBeUndefined();
  });

  it('forgets a revoked key at once', () => {
    const cache = listening();
    cache.remember('h1', cache.snapshot(), key('k1'), NOW);
    cache.forget('h1');
    expect(cache.lookup('h1', NOW)).toBeUndefined();
  });

  it('does not store a read that a revocation overtook', () => {
    const cache = listening();
    const before = cache.snapshot();
    cache.forget('h1'); // the revocation lands while the read is in flight
    cache.remember('h1', before, key('k1'), NOW);
    expect(cache.lookup('h1', NOW)).toBeUndefined();
  });

  it('serves no accepted key until the listener is connected, and none while it is down', () => {
    const cache = new ApiKeyCache(10);
    cache.remember('h1', cache.snapshot(), key('k1'), NOW);
    expect(cache.lookup('h1', NOW)).toBeUndefined();

    cache.resume();
    cache.remember('h1', cache.snapshot(), key('k1'), NOW);
    expect(cache.lookup('h1', NOW)).toEqual(key('k1'));

    const during = cache.snapshot();
    cache.suspend();
    expect(cache.serving).toBe(false);
    expect(cache.lookup('h1', NOW)).toBeUndefined();
    cache.remember('h2', cache.snapshot(), key('k2'), NOW);
    expect(cache.lookup('h2', NOW)).toBeUndefined();

    cache.resume(); // starts empty: a revocation may have been missed while down
    expect(cache.lookup('h1', NOW)).toBeUndefined();
    cache.remember('h3', during, key('k3'), NOW); // a read begun before the outage
    expect(cache.lookup('h3', NOW)).toBeUndefined();
  });

  it('keeps serving rejections while the listener is down (a rejected key never comes back)', () => {
    const cache = listening();
    cache.remember('bad', cache.snapshot(), null, NOW);
    cache.suspend();
    expect(cache.lookup('bad', NOW)).toBe('rejected');
  });

  it('stays within its bound, for accepted and rejected entries alike', () => {
    const cache = listening(3);
    for (let index = 0; index < 10; index++) {
      cache.remember(`a${index}`, cache.snapshot(), key(`k${index}`), NOW);
      cache.remember(`r${index}`, cache.snapshot(), null, NOW);
    }
    expect(cache.size).toEqual({ accepted: 3, rejected: 3 });
    expect(cache.lookup('a9', NOW)).toEqual(key('k9'));
    expect(cache.lookup('a0', NOW)).toBeUndefined();
  });
});
