import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

const MIB = 1024 * 1024;

/**
 * At or below this memory limit Node 24 gives V8 its smallest heap configuration, whose young
 * generation is a few MiB rather than tens: every request's garbage is then scavenged far more
 * often (docs/capacity.md, "Memory of the process").
 */
export const SMALL_YOUNG_GENERATION_AT_BYTES = 512 * MIB;

/** What the process was given to hold its heap in. */
export interface HeapFacts {
  /** V8's heap limit, which Node sizes from the memory it sees or takes from --max-old-space-size. */
  heapLimitBytes: number;
  /** The memory limit of the process's container (cgroup), when it has one. */
  memoryLimitBytes?: number;
  /** Whether Node was started with --max-semi-space-size. */
  youngGenerationSized: boolean;
}

/** The heap this process runs with. */
export function processHeapFacts(): HeapFacts {
  // Without a limit, cgroup v1 reports an unreachable figure: a limit is one below the machine's memory.
  const constrained = process.constrainedMemory?.() ?? 0;
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return {
    heapLimitBytes: getHeapStatistics().heap_size_limit,
    memoryLimitBytes: constrained > 0 && constrained < totalmem() ? constrained : undefined,
    youngGenerationSized: flags.some((flag) => /^--max[-_]semi[-_]space[-_]size\b/.test(flag)),
  };
}

/**
 * The credential caches' bound (AUTH_CACHE_MAX_MB) held to half the heap, so that full caches
 * leave the rest of the service room to work rather than end the process out of memory; and what
 * an operator should know of the heap at start.
 */
export function fitToHeap(cacheMaxBytes: number, facts: HeapFacts): { cacheMaxBytes: number; warnings: string[] } {
  const warnings: string[] = [];
  const room = Math.floor(facts.heapLimitBytes / 2 / MIB) * MIB;
  let fitted = cacheMaxBytes;
  if (cacheMaxBytes > room) {
    fitted = room;
    warnings.push(
      `AUTH_CACHE_MAX_MB=${cacheMaxBytes / MIB} does not fit this process's heap of ${Math.round(facts.heapLimitBytes / MIB)} MiB: ` +
        `the credential caches are held to ${room / MIB} MiB, half of it. Give the instance more memory, start Node with ` +
        '--max-old-space-size, or set AUTH_CACHE_MAX_MB (docs/capacity.md)',
    );
  }
  if (facts.memoryLimitBytes !== undefined && facts.memoryLimitBytes <= SMALL_YOUNG_GENERATION_AT_BYTES && !facts.youngGenerationSized) {
    warnings.push(
      `with a memory limit of ${Math.round(facts.memoryLimitBytes / MIB)} MiB Node gives the heap's young generation its least ` +
        'space, and an instance serves markedly fewer requests: start Node with --max-semi-space-size=16, or give it more ' +
        'than 512 MiB (docs/capacity.md)',
    );
  }
  return { cacheMaxBytes: fitted, warnings };
}
