import { MemoryRateLimitStore } from '../../src/rate-limit/rate-limit-store';

describe('MemoryRateLimitStore', () => {
  it('counts within a window and starts again after it', async () => {
    let now = 1_000;
    const store = new MemoryRateLimitStore(100, () => now);
    expect(await store.increment('p', 'k', 1, 1000)).toEqual({ count: 1, resetAtMs: 2_000 });
    expect((await store.increment('p', 'k', 4, 1000)).count).toBe(5);
    now = 1_999;
    expect((await store.increment('p', 'k', 1, 1000)).count).toBe(6);
    now = 2_000;
    expect(await store.increment('p', 'k', 1, 1000)).toEqual({ count: 1, resetAtMs: 3_000 });
  });

  it('takes a count given back from its window, never below zero, and never from a window that ended', async () => {
    let now = 1_000;
    const store = new MemoryRateLimitStore(100, () => now);
    await store.increment('p', 'k', 2, 1000);
    expect(await store.increment('p', 'k', -1, 1000)).toEqual({ count: 1, resetAtMs: 2_000 });
    expect((await store.increment('p', 'k', -5, 1000)).count).toBe(0);
    now = 2_500;
    expect(await store.increment('p', 'k', -1, 1000)).toEqual({ count: 0, resetAtMs: 3_500 });
    expect((await store.increment('p', 'k', 1, 1000)).count).toBe(1);
  });

  it('keeps counters apart by key, and a zero cost only reads', async () => {
    const store = new MemoryRateLimitStore(100);
    await store.increment('p', 'a', 3, 1000);
    expect((await store.increment('p', 'b', 1, 1000)).count).toBe(1);
    expect((await store.increment('p', 'a', 0, 1000)).count).toBe(3);
  });

  it('stays within its bound, dropping expired windows first, then the oldest', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(3, () => now);
    await store.increment('p', 'short', 1, 10);
    await store.increment('p', 'old', 1, 1000);
    await store.increment('p', 'mid', 1, 1000);
    now = 20; // 'short' has expired
    await store.increment('p', 'new', 1, 1000);
    expect((await store.increment('p', 'old', 0, 1000)).count).toBe(1);
    await store.increment('p', 'newer', 1, 1000); // full again: the oldest live window ('old') goes
    expect((await store.increment('p', 'mid', 0, 1000)).count).toBe(1);
    expect((await store.increment('p', 'new', 0, 1000)).count).toBe(1);
    expect((await store.increment('p', 'old', 0, 1000)).count).toBe(0);
  });

  it('keeps scopes apart, and bounds each on its own: new keys in one never push out the counts of another', async () => {
    const store = new MemoryRateLimitStore(2);
    await store.increment('login_ip', 'same-key', 2, 1000);
    expect((await store.increment('confirm_token', 'same-key', 1, 1000)).count).toBe(1);
    for (let i = 0; i < 10; i++) await store.increment('confirm_token', `made-up-${i}`, 1, 1000);
    expect((await store.increment('login_ip', 'same-key', 0, 1000)).count).toBe(2);
    // The flooded scope dropped its own oldest.
    expect((await store.increment('confirm_token', 'made-up-9', 0, 1000)).count).toBe(1);
    expect((await store.increment('confirm_token', 'same-key', 0, 1000)).count).toBe(0);
  });
});
