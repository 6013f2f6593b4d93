import { Logger } from '@nestjs/common';
import { loadConfig } from '../../src/config/app-config';
import { AppError } from '../../src/common/errors/app-error';
import { RateLimiterService } from '../../src/rate-limit/rate-limiter.service';

/** A client whose address says how often it was read (behind TRUST_PROXY each read parses X-Forwarded-For). */
function client(ip: string) {
  const read = { count: 0 };
  return {
    read,
    get ip() {
      read.count++;
      return ip;
    },
  };
}

describe('RateLimiterService: clients blocked after failed authentications', () => {
  it('refuses a blocked client and reads no address while no client is blocked', async () => {
    const limiter = new RateLimiterService(loadConfig({ NODE_ENV: 'test', RATE_LIMIT_AUTH_FAILURE_IP: '2/60' }));
    const other = client('192.0.2.7');
    limiter.refuseBlockedClient(other);
    expect(other.read.count).toBe(0);

    await limiter.countFailedAuthentication('192.0.2.1');
    await limiter.countFailedAuthentication('192.0.2.1');
    await expect(limiter.countFailedAuthentication('192.0.2.1')).rejects.toMatchObject({ code: 'RATE_LIMITED' });

    const blocked = client('192.0.2.1');
    expect(() => limiter.refuseBlockedClient(blocked)).toThrow(AppError);
    expect(() => limiter.refuseBlockedClient(other)).not.toThrow();
    expect(other.read.count).toBe(1);
    await limiter.onApplicationShutdown();
  });
});

describe('RateLimiterService: IPv6 clients', () => {
  it('counts failed authentications and blocks by the /64, so stepping to another address in it does not reset the count', async () => {
    const limiter = new RateLimiterService(loadConfig({ NODE_ENV: 'test', RATE_LIMIT_AUTH_FAILURE_IP: '2/60' }));
    await limiter.countFailedAuthentication('2001:db8:1:2::1');
    await limiter.countFailedAuthentication('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    await expect(limiter.countFailedAuthentication('2001:0db8:0001:0002::ffff')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(() => limiter.refuseBlockedClient({ ip: '2001:db8:1:2:1:2:3:4' })).toThrow(AppError);
    // The next /64 is another subscriber.
    expect(() => limiter.refuseBlockedClient({ ip: '2001:db8:1:3::1' })).not.toThrow();
    await expect(limiter.countFailedAuthentication('2001:db8:1:3::1')).resolves.toBeUndefined();
  });
});

describe('RateLimiterService: giving back', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('takes a cost back from the window it was spent in, and never from a later one', async () => {
    jest.useFakeTimers({ now: 0 });
    const limiter = new RateLimiterService(loadConfig({ NODE_ENV: 'test', RATE_LIMIT_MAIL_EMAIL: '2/60' }));
    await limiter.consume('mail_email', 'a');
    const spent = await limiter.consume('mail_email', 'a');
    await limiter.giveBack('mail_email', 'a', spent!);
    await expect(limiter.consume('mail_email', 'a')).resolves.toMatchObject({ remaining: 0 });
    await expect(limiter.consume('mail_email', 'a')).rejects.toMatchObject({ code: 'RATE_LIMITED' });

    const spentInFirstWindow = await limiter.consume('mail_email', 'b');
    jest.setSystemTime(60_000);
    await limiter.consume('mail_email', 'b');
    await limiter.giveBack('mail_email', 'b', spentInFirstWindow!);
    await expect(limiter.consume('mail_email', 'b')).resolves.toMatchObject({ remaining: 0 });
    await expect(limiter.consume('mail_email', 'b')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});
