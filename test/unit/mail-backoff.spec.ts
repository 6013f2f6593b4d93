import { describeDeliveryError, MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/mail/mail-backoff';

describe('mail retry backoff', () => {
  it('doubles from the base delay on each failed attempt', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5].map((attempts) => retryDelayMs(attempts, 2000, noJitter))).toEqual([2000, 4000, 8000, 16_000, 32_000]);
  });

  it('is capped, however many attempts failed', () => {
    expect(retryDelayMs(30, 2000, () => 0)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(100, 3_600_000, () => 0)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('shortens the delay by at most 10% at random, never lengthens it', () => {
    expect(retryDelayMs(3, 1000, () => 0.999_999)).toBe(3600);
    expect(retryDelayMs(30, 1000, () => 0.5)).toBe(MAX_RETRY_DELAY_MS * 0.95);
    const delays = Array.from({ length: 200 }, () => retryDelayMs(2, 1000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1800);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });
});

describe('delivery errors as stored and logged', () => {
  it('keeps the code and message, on one line', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2525'), { code: 'ESOCKET' });
    expect(describeDeliveryError(error)).toBe('ESOCKET: connect ECONNREFUSED 127.0.0.1:2525');
    expect(describeDeliveryError(Object.assign(new Error('Invalid login: 535\n  bad credentials'), { code: 'EAUTH' }))).toBe('EAUTH: Invalid login: 535 bad credentials');
  });

  it('removes credentials from URLs and truncates long messages', () => {
    expect(describeDeliveryError(new Error('cannot reach smtp://mailer:s3cret@smtp.internal:587'))).toBe('cannot reach smtp://***@smtp.internal:587');
    const long = describeDeliveryError(new Error('x'.repeat(5000)));
    expect(long.length).toBe(500);
    expect(describeDeliveryError('plain string')).toBe('plain string');
  });
});
