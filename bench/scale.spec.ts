import { zipfDraws } from './scale';

describe('zipfDraws', () => {
  it('draws the k-th credential in proportion to 1 / k', () => {
    const n = 1000;
    const draws = zipfDraws(n, 200_000, 42);
    const counts = new Array<number>(n).fill(0);
    for (const draw of draws) counts[draw]++;
    const harmonic = Array.from({ length: n }, (_, index) => 1 / (index + 1)).reduce((a, b) => a + b, 0);
    // The most used: 1 / H(1000) ≈ 13.4 % of the draws; the second half; the tenth a tenth.
    expect(counts[0] / draws.length).toBeCloseTo(1 / harmonic, 2);
    expect(counts[1] / counts[0]).toBeCloseTo(0.5, 1);
    expect(counts[9] / counts[0]).toBeCloseTo(0.1, 1);
    expect(draws.every((draw) => draw < n)).toBe(true);
  });

  it('draws the same sequence for the same seed, and another for another', () => {
    expect(Array.from(zipfDraws(100, 50, 7))).toEqual(Array.from(zipfDraws(100, 50, 7)));
    expect(Array.from(zipfDraws(100, 50, 7))).not.toEqual(Array.from(zipfDraws(100, 50, 8)));
  });
});
