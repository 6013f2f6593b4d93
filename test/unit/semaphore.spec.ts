import { Semaphore } from '../../src/common/concurrency/semaphore';

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, in arrival order, and survives failures', async () => {
    const semaphore = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (id: number, fail = false) =>
      semaphore.run(async () => {
        active++;
        peak = Math.max(peak, active);
        order.push(id);
        await new Promise((resolve) => setTimeout(resolve, 10));
        active--;
        if (fail) throw new Error(`task ${id} failed`);
        return id;
      });
    const results = await Promise.allSettled([task(1), task(2, true), task(3), task(4), task(5)]);
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(semaphore.queued).toBe(0);
    expect(await task(6)).toBe(6);
  });
});
