import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/app-config';
import { decideAfterFailure, describeDeliveryError, MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/mail/mail-backoff';

const HOUR = 3_600_000;

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

describe('the default retry schedule, replayed on a fake clock', () => {
  const defaults = loadConfig({}).mail;

  /**
   * An SMTP outage that never ends: every attempt fails for a passing reason. Answers when each
   * attempt was made (milliseconds after the first) and when the mail was given up.
   */
  function replayOutage(random: () => number): { attemptsAt: number[]; givenUpAt: number; failure: string } {
    let now = 0;
    const attemptsAt: number[] = [];
    for (let attempts = 1; ; attempts++) {
      attemptsAt.push(now);
      const decision = decideAfterFailure(attempts, false, defaults, random);
      if (decision.outcome === 'failed') return { attemptsAt, givenUpAt: now, failure: decision.failure };
      now += decision.delayMs;
    }
  }

  it('keeps retrying a mail through a 24-hour outage, even when every delay is at its shortest', () => {
    const { attemptsAt, givenUpAt, failure } = replayOutage(() => 0.999_999);
    expect(givenUpAt).toBeGreaterThan(26 * HOUR);
    expect(failure).toBe('retries_exhausted');
    // Once the delay has grown to its cap, attempts come at most an hour apart: a mail leaves within
    // an hour of the server's return, whenever in the outage that is.
    const gaps = attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(HOUR);
    expect(attemptsAt.filter((at) => at <= 24 * HOUR).length).toBeLessThan(defaults.maxAttempts);
  });

  it('is the schedule the docs state: 2 s doubling to an hour, 40 attempts over about 29 hours', () => {
    const { attemptsAt, givenUpAt } = replayOutage(() => 0);
    expect(attemptsAt.slice(0, 6)).toEqual([0, 2000, 6000, 14_000, 30_000, 62_000]);
    expect(attemptsAt[11] - attemptsAt[10]).toBe(2048 * 1000);
    expect(attemptsAt[12] - attemptsAt[11]).toBe(HOUR);
    expect(attemptsAt).toHaveLength(40);
    expect(givenUpAt / HOUR).toBeCloseTo(29.1, 1);
  });

  it('gives up a permanently rejected mail at its first attempt, and a passing failure only at the last', () => {
    expect(decideAfterFailure(1, true, defaults)).toEqual({ outcome: 'failed', failure: 'rejected' });
    expect(decideAfterFailure(39, false, defaults, () => 0)).toEqual({ outcome: 'retry', delayMs: HOUR });
    expect(decideAfterFailure(40, false, defaults)).toEqual({ outcome: 'failed', failure: 'retries_exhausted' });
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

  it('reads a long reply of word characters in one pass: a server cannot make it backtrack for minutes', () => {
    // Before the look-behind, each start inside the run tried the rest of it: quadratic, the best part
    // of a minute for this reply, against milliseconds. In a process of its own (the compiled module,
    // as `npm test` builds it), so that a relapse is stopped at the deadline rather than holding the suite.
    const script = `
      const { describeDeliveryError } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'mail', 'mail-backoff.js'))});
      process.stdout.write(describeDeliveryError(new Error('a'.repeat(200000) + ' then smtp://mailer:s3cret@smtp.internal')));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect([run.signal, run.status, run.stdout.length]).toEqual([null, 0, 500]);
    expect(describeDeliveryError(new Error(`${'b'.repeat(300)}smtp://mailer:s3cret@host`))).toBe(`${'b'.repeat(300)}smtp://***@host`);
  });

  it('replaces the recipient, in any case, wherever the reply quotes it, before cutting it, so no part of it is left at the cut', () => {
    const recipient = 'Ada.Lovelace+x@Example.com';
    expect(describeDeliveryError(new Error(`550 5.1.1 <ada.lovelace+x@example.com>: Recipient address rejected (${recipient})`), recipient)).toBe(
      '550 5.1.1 <<recipient>>: Recipient address rejected (<recipient>)',
    );
    // The address straddles the 500th character.
    const straddling = describeDeliveryError(new Error(`${'x'.repeat(490)} <${recipient}> rejected`), recipient);
    expect(straddling).toBe(`${'x'.repeat(490)} <<recipi…`);
    expect(straddling).not.toMatch(/ada/i);
  });

  it('replaces the recipient in the forms it was sent in: an internationalised domain in ASCII, white space folded', () => {
    expect(describeDeliveryError(new Error('550 5.1.1 <reject@xn--exmple-cua.com>: no such user'), 'reject@exämple.com')).toBe('550 5.1.1 <<recipient>>: no such user');
    expect(describeDeliveryError(new Error('550 <"a b"@example.com> rejected'), '"a\r\nb"@example.com')).toBe('550 <<recipient>> rejected');
    // Stored in ASCII, sent (or quoted back) in Unicode.
    expect(describeDeliveryError(new Error('550 5.1.1 <rejectè@exämple.com>: no such user'), 'rejectè@xn--exmple-cua.com')).toBe('550 5.1.1 <<recipient>>: no such user');
  });
});
