import { CircuitBreaker } from '../../src/rate-limit/circuit-breaker';

describe('CircuitBreaker', () => {
  it('opens after the given number of failures in a row, and says so once', () => {
    const changes: boolean[] = [];
    const breaker = new CircuitBreaker(3, (open) => changes.push(open));
    breaker.failed();
    breaker.failed();
    expect(breaker.allow()).toBe(true);
    breaker.failed();
    expect({ allow: breaker.allow(), open: breaker.isOpen }).toEqual({ allow: false, open: true });
    breaker.failed(); // a call that was in flight when it opened
    expect(changes).toEqual([true]);
  });

  it('counts failures in a row only: a success in between starts again', () => {
    const breaker = new CircuitBreaker(2);
    breaker.failed();
    breaker.succeeded();
    breaker.failed();
    expect(breaker.allow()).toBe(true);
  });

  it('lets calls through again once closed by a successful probe, from a count of zero', () => {
    const changes: boolean[] = [];
    const breaker = new CircuitBreaker(2, (open) => changes.push(open));
    breaker.failed();
    breaker.failed();
    breaker.close();
    expect(breaker.allow()).toBe(true);
    breaker.failed();
    expect(breaker.allow()).toBe(true);
    breaker.close(); // closing a closed breaker changes nothing
    expect(changes).toEqual([true, false]);
  });
});
