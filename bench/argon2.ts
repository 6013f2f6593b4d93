import { hash } from '@node-rs/argon2';

/** The parameters the service hashes passwords with (OWASP's argon2id minimum). */
export const ARGON2_PARAMETERS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Median wall time of one argon2id hash on this machine, one at a time, after two unmeasured. */
export async function measureArgon2Ms(samples = 20): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples + 2; i++) {
    const started = process.hrtime.bigint();
    await hash(`bench-password-${i}`, ARGON2_PARAMETERS);
    if (i >= 2) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times);
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
