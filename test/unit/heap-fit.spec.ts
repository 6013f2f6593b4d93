import { fitToHeap, HeapFacts } from '../../src/config/heap-fit';

const MIB = 1024 * 1024;
const facts = (overrides: Partial<HeapFacts>): HeapFacts => ({ heapLimitBytes: 4096 * MIB, youngGenerationSized: false, ...overrides });

describe('fitting the credential caches and the young generation to the heap at start', () => {
  it('keeps a cache bound of half the heap or less, and says nothing', () => {
    expect(fitToHeap(768 * MIB, facts({ heapLimitBytes: 1536 * MIB }))).toEqual({ cacheMaxBytes: 768 * MIB, warnings: [] });
    expect(fitToHeap(0, facts({ heapLimitBytes: 64 * MIB }))).toEqual({ cacheMaxBytes: 0, warnings: [] });
  });

  it('holds a cache bound over half the heap to half, in whole MiB, and says what it did and how to change it', () => {
    const fitted = fitToHeap(768 * MIB, facts({ heapLimitBytes: 1121 * MIB }));
    expect(fitted.cacheMaxBytes).toBe(560 * MIB);
    expect(fitted.warnings).toEqual([
      "AUTH_CACHE_MAX_MB=768 does not fit this process's heap of 1121 MiB: the credential caches are held to 560 MiB, half of it. Give the instance more memory, start Node with --max-old-space-size, or set AUTH_CACHE_MAX_MB (docs/capacity.md)",
    ]);
  });

  it('warns of the small young generation under a memory limit of 512 MiB or less, unless Node was given its size', () => {
    const small = fitToHeap(64 * MIB, facts({ heapLimitBytes: 259 * MIB, memoryLimitBytes: 512 * MIB }));
    expect(small.warnings).toEqual([expect.stringMatching(/^with a memory limit of 512 MiB Node gives the heap's young generation its least space.*--max-semi-space-size=16/)]);
    expect(fitToHeap(64 * MIB, facts({ heapLimitBytes: 259 * MIB, memoryLimitBytes: 512 * MIB, youngGenerationSized: true })).warnings).toEqual([]);
    expect(fitToHeap(64 * MIB, facts({ heapLimitBytes: 368 * MIB, memoryLimitBytes: 640 * MIB })).warnings).toEqual([]);
    expect(fitToHeap(64 * MIB, facts({ heapLimitBytes: 259 * MIB })).warnings).toEqual([]);
  });

  it('says both when both apply, the caches first', () => {
    const both = fitToHeap(768 * MIB, facts({ heapLimitBytes: 259 * MIB, memoryLimitBytes: 384 * MIB }));
    expect(both.cacheMaxBytes).toBe(129 * MIB);
    expect(both.warnings.map((warning) => warning.split(' ')[0])).toEqual(['AUTH_CACHE_MAX_MB=768', 'with']);
  });
});
