import { hash } from '@node-rs/argon2';
import { fork } from 'node:child_process';

/** The parameters the service hashes passwords with (OWASP's argon2id minimum). */
export const ARGON2_PARAMETERS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes timed before, and as many after, each run of a scenario held against argon2. */
export const ARGON2_BESIDE_SAMPLES = 10;

/**
 * Hashes run unmeasured first in each new process: one per libuv thread (4 by default), since each
 * thread's first 19 MiB allocation faults its pages in, and the hashes go to whichever thread is free.
 */
const WARM_UP_HASHES = 4;

/** Median wall time of one argon2id hash on this machine, one at a time, after the warm-up ones. */
export async function measureArgon2Ms(samples = 20): Promise<number> {
  return median(await argon2Samples(samples));
}

/**
 * Wall times (ms) of `samples` argon2id hashes, one at a time, after `unmeasured` more, each time in
 * a new process: every reference is then timed the same way, whatever the benchmark's own process
 * has done before (driven load, held its results).
 */
export function argon2Samples(samples: number, unmeasured = WARM_UP_HASHES): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [String(samples), String(unmeasured)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let times: number[] | undefined;
    child.once('message', (message) => (times = message as number[]));
    child.once('error', reject);
    child.once('exit', (code) => (times && code === 0 ? resolve(times) : reject(new Error(`the argon2 timing process exited with ${code}`))));
  });
}

async function timeHashes(samples: number, unmeasured: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples + unmeasured; i++) {
    const started = process.hrtime.bigint();
    await hash(`bench-password-${i}`, ARGON2_PARAMETERS);
    if (i >= unmeasured) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

if (require.main === module) {
  const [samples, unmeasured] = process.argv.slice(2).map(Number);
  timeHashes(samples, unmeasured).then(
    (times) => process.send!(times, () => process.exit(0)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
