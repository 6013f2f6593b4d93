import { MemoryRateLimitStore } from '../../src/rate-limit/rate-limit-store';

describe('MemoryRateLimitStore', () => {
  it('counts within a window and starts again after it', async () => {
    let now = 1_000;
    const store = new MemoryRateLimitStore(100, () => now);
    expect(await store.increment('k', 1, 1000)).toEqual({ count: 1, resetAtMs: 2_000 });
    expect((await store.increment('k', 4, 1000)).count).toBe(5);
    now = 1_999;
    expect((await store.increment('k', 1, 1000)).count).toBe(6);
    now = 2_000;
    expect(await store.increment('k', 1, 1000)).toEqual({ count: 1, resetAtMs: 3_000 });
  });

  it('keeps counters apart by key, and a zero cost only reads', async () => {
    const store = new MemoryRateLimitStore();
    await store.increment('a', 3, 1000);
    expect((await store.increment('b', 1, 1000)).count).toBe(1);
    expect((await store.increment('a', 0, 1000)).count).toBe(3);
  });

  it('stays within its bound, dropping expired windows first, then the oldest', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(3, () => now);
    await store.increment('short', 1, 10);
    await store.increment('old', 1, 1000);
    await store.increment('mid', 1, 1000);
    now = 20; // 'short' has expired
    await store.increment('new', 1, 1000);
    expect((await store.increment('old', 0, 1000)).count).toBe(1);
    await store.increment('newer', 1, 1000); // full again: the oldest live window ('old') goes
    expect((await store.increment('mid', 0, 1000)).count).toBe(1);
    expect((await store.increment('new', 0, 1000)).count).toBe(1);
    expect((await store.increment('old', 0, 1000)).count).toBe(0);
  });
});
