/**
 * `npm run bench:async-context`: what an AsyncLocalStorage entered around each request costs on
 * the Node it runs on. A "request" here is a chain of awaited async functions, about as many
 * promises as a guarded route makes through Nest. Each variant runs in a process of its own,
 * because on Node before 24 (async hooks) one entry leaves every later promise of the process
 * dearer, and a shared process would charge that to the variants after it.
 * The figures it prints are the input of docs/decisions/003-async-local-storage.md.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { fork } from 'node:child_process';

const VARIANTS = ['none', 'entered-once', 'per-request'] as const;
type Variant = (typeof VARIANTS)[number];

const DESCRIPTION: Record<Variant, string> = {
  none: 'no AsyncLocalStorage in the process',
  'entered-once': 'one entered and left once, before the timing',
  'per-request': 'run() around every request, the store read at its end',
};

/** Awaits per request: a guarded Nest route with a database read makes a few dozen promises. */
const DEPTH = 40;
/** Overridable for a run under callgrind, where instructions rather than time are counted. */
const REQUESTS = Number(process.env.ALS_BENCH_REQUESTS ?? 200_000);
const SAMPLES = Number(process.env.ALS_BENCH_SAMPLES ?? 7);

async function step(depth: number): Promise<number> {
  return depth === 0 ? 0 : 1 + (await step(depth - 1));
}

/** CPU nanoseconds per request, median of SAMPLES timings after one unmeasured one. */
async function measure(variant: Variant): Promise<number> {
  const storage = new AsyncLocalStorage<{ id: number }>();
  if (variant === 'entered-once') {
    storage.run({ id: 0 }, () => undefined);
    storage.disable();
  }
  const request = variant === 'per-request' ? (id: number) => storage.run({ id }, async () => (await step(DEPTH)) + storage.getStore()!.id) : () => step(DEPTH);
  const times: number[] = [];
  for (let sample = 0; sample <= SAMPLES; sample++) {
    const before = process.cpuUsage();
    for (let id = 0; id < REQUESTS; id++) await request(id);
    const used = process.cpuUsage(before);
    if (sample > 0) times.push(((used.user + used.system) * 1000) / REQUESTS);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function inChild(variant: Variant): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: number | undefined;
    child.once('message', (message) => (result = message as number));
    child.once('error', reject);
    child.once('exit', (code) => (result !== undefined && code === 0 ? resolve(result) : reject(new Error(`${variant} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const variant = process.argv[2] as Variant | undefined;
  if (variant) {
    // Run on its own (no IPC channel), e.g. under valgrind, it prints its figure.
    const result = await measure(variant);
    if (process.send) process.send(result);
    else console.log(`${variant}: ${(result / 1000).toFixed(2)} µs CPU per request`);
    return;
  }
  console.log(`Node ${process.version}: ${REQUESTS} requests of ${DEPTH} awaits each, CPU time per request (median of ${SAMPLES})`);
  const results: Partial<Record<Variant, number>> = {};
  for (const name of VARIANTS) {
    results[name] = await inChild(name);
    const extra = name === 'none' ? '' : ` (+${((results[name]! - results.none!) / 1000).toFixed(2)} µs)`;
    console.log(`  ${(results[name]! / 1000).toFixed(2).padStart(6)} µs  ${DESCRIPTION[name]}${extra}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
