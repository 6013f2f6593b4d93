import { mannWhitneyU, median, quantile } from '../support/statistics';

describe('statistics for the timing tests', () => {
  it('computes quantiles by interpolation', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.9)).toBe(46);
  });

  it('computes U as the count of pairs where the first sample is larger, ties a half', () => {
    // 3 beats 1 and 2; 5 beats all three; 4 beats 1 and 2 and ties 4: 2 + 3 + 2.5.
    expect(mannWhitneyU([3, 5, 4], [1, 2, 4]).u).toBe(7.5);
    expect(mannWhitneyU([1, 2], [3, 4]).u).toBe(0);
    expect(mannWhitneyU([3, 4], [1, 2]).effect).toBe(1);
  });

  it('matches a textbook z: two samples of 10, entirely separated', () => {
    const low = Array.from({ length: 10 }, (_, i) => i);
    const high = Array.from({ length: 10 }, (_, i) => 100 + i);
    // U = 0, mean 50, sd sqrt(10*10*21/12) = 13.229
    expect(mannWhitneyU(low, high).z).toBeCloseTo(-3.78, 2);
    expect(mannWhitneyU(high, low).z).toBeCloseTo(3.78, 2);
  });

  it('finds no difference between interleaved samples', () => {
    const a = Array.from({ length: 50 }, (_, i) => 2 * i);
    const b = Array.from({ length: 50 }, (_, i) => 2 * i + 1);
    expect(Math.abs(mannWhitneyU(a, b).z)).toBeLessThan(0.2);
  });
});
