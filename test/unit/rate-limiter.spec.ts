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
