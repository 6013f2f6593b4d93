import { createHash } from 'node:crypto';
import { LogFingerprint } from '../../src/common/logging/log.fingerprint';
import { loadConfig } from '../../src/config/app-config';

const EMAIL = 'ada@example.com';
const fingerprint = (env: Record<string, string>) => new LogFingerprint(loadConfig(env)).of(EMAIL);

describe('LogFingerprint', () => {
  it('names an address without case, as addresses are compared: one stored with capitals is the same address', () => {
    const fingerprints = new LogFingerprint(loadConfig({ LOG_FINGERPRINT_SECRET: 'secret one' }));
    expect(fingerprints.email(' Ada@Example.COM ')).toEqual(fingerprints.email(EMAIL));
    expect(fingerprints.email(EMAIL)).toEqual({ email_domain: 'example.com', email_hash: fingerprints.of(EMAIL) });
  });

  it('names a domain in its ASCII form, so that one of look-alike letters cannot pass for the one it mimics', () => {
    const fingerprints = new LogFingerprint(loadConfig({ LOG_FINGERPRINT_SECRET: 'secret one' }));
    // Cyrillic а, е, р: reads as apple.com.
    expect(fingerprints.email('ada@\u0430\u0440\u0440l\u0435.com').email_domain).toBe('xn--l-7sbq6ba.com');
    expect(fingerprints.email('ada@apple.com').email_domain).toBe('apple.com');
    // Both forms of one domain are one address: one domain and one hash in the logs.
    expect(fingerprints.email('ada@bücher.example')).toEqual(fingerprints.email('ADA@xn--bcher-kva.example'));
    expect(fingerprints.email('ada@bücher.example').email_domain).toBe('xn--bcher-kva.example');
  });

  it('is a stable keyed hash: the same secret gives the same fingerprint, another secret another one', () => {
    const first = fingerprint({ LOG_FINGERPRINT_SECRET: 'secret one' });
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint({ LOG_FINGERPRINT_SECRET: 'secret one' })).toBe(first);
    expect(fingerprint({ LOG_FINGERPRINT_SECRET: 'secret two' })).not.toBe(first);
    expect(first).not.toBe(createHash('sha256').update(EMAIL).digest('hex').slice(0, 16));
  });

  it('derives its key from SIGNING_KEY_ENCRYPTION_SECRET when LOG_FINGERPRINT_SECRET is not set', () => {
    const derived = fingerprint({ SIGNING_KEY_ENCRYPTION_SECRET: 'y'.repeat(40) });
    expect(derived).toBe(fingerprint({ SIGNING_KEY_ENCRYPTION_SECRET: 'y'.repeat(40) }));
    expect(derived).not.toBe(fingerprint({ SIGNING_KEY_ENCRYPTION_SECRET: 'z'.repeat(40) }));
    expect(derived).toBe(fingerprint({ LOG_FINGERPRINT_SECRET: 'y'.repeat(40) }));
  });

  it('uses a random key per process in production when the only secret is the public placeholder', () => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.atiru.dev', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:25', SIGNING_KEY_PEM: 'pem' };
    const config = loadConfig(production);
    expect(new LogFingerprint(config).of(EMAIL)).not.toBe(new LogFingerprint(config).of(EMAIL));
    expect(fingerprint({ ...production, LOG_FINGERPRINT_SECRET: 'set' })).toBe(fingerprint({ LOG_FINGERPRINT_SECRET: 'set' }));
  });

  it('uses a random key in production for any secret production would refuse without SIGNING_KEY_PEM, not only the placeholder', () => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.atiru.dev', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:25', SIGNING_KEY_PEM: 'pem' };
    for (const guessable of ['changeme', 'short', 'please-change-me-' + 'x'.repeat(30)]) {
      const config = loadConfig({ ...production, SIGNING_KEY_ENCRYPTION_SECRET: guessable });
      expect(new LogFingerprint(config).of(EMAIL)).not.toBe(fingerprint({ LOG_FINGERPRINT_SECRET: guessable }));
      expect(new LogFingerprint(config).of(EMAIL)).not.toBe(new LogFingerprint(config).of(EMAIL));
    }
  });
});

describe('reset-password rate limits', () => {
  it('default to 20 per 15 minutes per IP and 5 per 15 minutes per token, and can be changed', () => {
    expect(loadConfig({}).rateLimits).toMatchObject({ reset_ip: { limit: 20, windowSeconds: 900 }, reset_token: { limit: 5, windowSeconds: 900 } });
    expect(loadConfig({ RATE_LIMIT_RESET_TOKEN: '2/60' }).rateLimits.reset_token).toEqual({ limit: 2, windowSeconds: 60 });
  });
});
