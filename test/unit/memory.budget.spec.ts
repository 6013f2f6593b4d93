import { BudgetedCache, CacheSlot, MemoryBudget } from '../../src/common/cache/memory.budget';

interface Entry extends CacheSlot {
  bytes: number;
}

const entry = (bytes: number): Entry => ({ bytes, cacheUsed: false, cacheSeq: 0 });

function cacheOn(budget: MemoryBudget, evicted: string[] = []): BudgetedCache<string, Entry> {
  return new BudgetedCache<string, Entry>(budget, (_key, value) => value.bytes, (key) => evicted.push(key));
}

describe('MemoryBudget and BudgetedCache', () => {
  it('evicts by size: a large entry pushes out as many small ones as it needs room for', () => {
    const budget = new MemoryBudget(1000);
    const evicted: string[] = [];
    const cache = cacheOn(budget, evicted);
    for (let index = 0; index < 10; index++) cache.set(`small${index}`, entry(100));
    expect(budget.bytes).toBe(1000);
    expect(evicted).toEqual([]);

    cache.set('large', entry(450));
    // The five oldest go (500 bytes), not one: the bound is in bytes, not entries.
    expect(evicted).toEqual(['small0', 'small1', 'small2', 'small3', 'small4']);
    expect(budget.bytes).toBe(950);
    expect(cache.size).toBe(6);
  });

  it('gives an entry hit since it came in a second chance', () => {
    const budget = new MemoryBudget(300);
    const evicted: string[] = [];
    const cache = cacheOn(budget, evicted);
    cache.set('a', entry(100));
    cache.set('b', entry(100));
    cache.set('c', entry(100));
    cache.get('a');
    cache.set('d', entry(100));
    expect(evicted).toEqual(['b']);
    expect(cache.get('a')).toBeDefined();
  });

  it('shares one bound between caches, evicting whatever came in longest ago in any of them', () => {
    const budget = new MemoryBudget(1000);
    const keysEvicted: string[] = [];
    const tokensEvicted: string[] = [];
    const keys = cacheOn(budget, keysEvicted);
    const tokens = cacheOn(budget, tokensEvicted);
    for (let index = 0; index < 5; index++) keys.set(`key${index}`, entry(200));
    // The traffic moves to tokens: they take the room the keys had, oldest first.
    for (let index = 0; index < 3; index++) tokens.set(`token${index}`, entry(200));
    expect(keysEvicted).toEqual(['key0', 'key1', 'key2']);
    expect(tokensEvicted).toEqual([]);
    expect([keys.size, tokens.size]).toEqual([2, 3]);
    expect(budget.bytes).toBe(1000);
  });

  it('gives back the bytes of what is deleted, replaced or cleared', () => {
    const budget = new MemoryBudget(1000);
    const cache = cacheOn(budget);
    cache.set('a', entry(300));
    cache.set('b', entry(300));
    cache.set('a', entry(100));
    expect(budget.bytes).toBe(400);
    cache.delete('b');
    expect(budget.bytes).toBe(100);
    cache.clear();
    expect(budget.bytes).toBe(0);
  });

  it('stores nothing with a bound of 0, and an entry larger than the bound not at all', () => {
    const off = cacheOn(new MemoryBudget(0));
    off.set('a', entry(1));
    expect(off.get('a')).toBeUndefined();

    const budget = new MemoryBudget(100);
    const cache = cacheOn(budget);
    cache.set('huge', entry(101));
    expect(cache.get('huge')).toBeUndefined();
    expect(budget.bytes).toBe(0);
  });
});
