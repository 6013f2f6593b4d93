import { hash } from '@node-rs/argon2';
import { fork } from 'node:child_process';

/** The parameters the service hashes passwords with (OWASP's argon2id minimum). */
export const ARGON2_PARAMETERS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes timed before, and as many after, each run of a scenario held against argon2. */
export const ARGON2_BESIDE_SAMPLES = 10;

/** Median wall time of one argon2id hash on this machine, one at a time, after two unmeasured. */
export async function measureArgon2Ms(samples = 20): Promise<number> {
  return median(await argon2Samples(samples));
}

/**
 * Wall times (ms) of `samples` argon2id hashes, one at a time, after `unmeasured` more, each time in
 * a new process. The benchmark's own process is not fit for it once it has driven load: after a
 * 5 s autocannon run in one process, its hashes spent 3.2–4.7 ms per hash in the kernel (page
 * faults) against 2.2 before, so the reference would have grown with the benchmark's own work.
 */
export function argon2Samples(samples: number, unmeasured = 2): Promise<number[]> {
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
