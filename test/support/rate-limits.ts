import { RateLimiterService } from '../../src/rate-limit/rate-limiter.service';
import type { TestApp } from './test-app';

/** Sends `service`'s authenticated uses to Redis, after a merge its timer may have started. */
export async function mergedUses(service: TestApp): Promise<void> {
  const limiter = service.app.get(RateLimiterService);
  await limiter.mergeUses();
  await limiter.mergeUses();
}

/** The statuses of `times` requests made one after the other by `request`. */
export function statusesOf(times: number, request: () => Promise<{ status: number }>): Promise<number[]> {
  return statusesInTurn(Array(times).fill(undefined), request);
}

/** The statuses of `request` sent to each of `services` in turn, one after the other (instances sharing a count, say). */
export async function statusesInTurn<S>(services: S[], request: (service: S) => Promise<{ status: number }>): Promise<number[]> {
  const answers = [];
  for (const service of services) answers.push((await request(service)).status);
  return answers;
}
