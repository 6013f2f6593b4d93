import { RateLimiterService } from '../../src/rate-limit/rate-limiter.service';
import type { TestApp } from './test-app';

/** Sends `service`'s authenticated uses to Redis, after a merge its timer may have started. */
export async function mergedUses(service: TestApp): Promise<void> {
  const limiter = service.app.get(RateLimiterService);
  await limiter.mergeUses();
  await limiter.mergeUses();
}

/** The statuses of `times` requests made one after the other by `request`. */
export async function statusesOf(times: number, request: () => Promise<{ status: number }>): Promise<number[]> {
  const answers = [];
  for (let i = 0; i < times; i++) answers.push((await request()).status);
  return answers;
}
