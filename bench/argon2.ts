import { hash } from '@node-rs/argon2';

/** The parameters the service hashes passwords with (OWASP's argon2id minimum). */
export const ARGON2_PARAMETERS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes timed before, and as many after, each run of a scenario held against argon2. */
export const ARGON2_BESIDE_SAMPLES = 10;

/** Median wall time of one argon2id hash on this machine, one at a time, after two unmeasured. */
export async function measureArgon2Ms(samples = 20): Promise<number> {
  return median(await argon2Samples(samples));
}

/** Wall times (ms) of `samples` argon2id hashes, one at a time, after `unmeasured` more. */
export async function argon2Samples(samples: number, unmeasured = 2): Promise<number[]> {
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
