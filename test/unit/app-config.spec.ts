import { resolve } from 'node:path';
import { ConfigError, DEVELOPMENT_SECRET, developmentDefaultsInForce, loadConfig } from '../../src/config/app-config';

describe('loadConfig', () => {
  it('gives working development defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBe('');
    expect(config.database.migrateOnStart).toBe(true);
    expect(config.tokens.accessTtlSeconds).toBe(3600);
    expect(config.tokens.signingKeyEncryptionSecret).toBe(DEVELOPMENT_SECRET);
  });

  it('lands mailed links on the built-in dashboard unless DASHBOARD_URL names another, and serves it from dist/dashboard', () => {
    const builtIn = loadConfig({ PUBLIC_URL: 'https://auth.atiru.test/' });
    expect([builtIn.http.dashboardUrl, builtIn.http.dashboardBuiltIn]).toEqual(['https://auth.atiru.test/dashboard/', true]);
    expect(builtIn.http.dashboardDir).toBe(resolve('dist/dashboard'));
    const external = loadConfig({ PUBLIC_URL: 'https://auth.atiru.test', DASHBOARD_URL: 'https://app.atiru.test/', DASHBOARD_DIR: '/srv/dashboard' });
    expect([external.http.dashboardUrl, external.http.dashboardBuiltIn, external.http.dashboardDir]).toEqual(['https://app.atiru.test', false, '/srv/dashboard']);
    expect(() => loadConfig({ DASHBOARD_URL: 'ftp://app.atiru.test' })).toThrow(/DASHBOARD_URL must be an absolute http/);
  });

  it('serves metrics on 127.0.0.1:9464 unless METRICS_PORT is set empty, and in tests only when a port is given', () => {
    expect(loadConfig({}).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ METRICS_PORT: '' }).metrics.port).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://auth.atiru.dev', METRICS_PORT: ' ', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:587', SIGNING_KEY_ENCRYPTION_SECRET: 'a'.repeat(43) }).metrics.port).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9500', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ host: '0.0.0.0', port: 9500 });
    expect(loadConfig({ NODE_ENV: 'test' }).metrics.port).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test', METRICS_PORT: '9500' }).metrics.port).toBe(9500);
  });

  it('takes CORS_ORIGINS as origins a browser sends, and names every entry that could never match', () => {
    expect(loadConfig({}).http.corsOrigins).toEqual(['http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.atiru.dev, http://localhost:8080' }).http.corsOrigins).toEqual(['https://app.atiru.dev', 'http://localhost:8080']);
    const error = (() => {
      try {
        loadConfig({ CORS_ORIGINS: 'https://ok.atiru.dev, https://*.atiru.dev, https://app.atiru.dev/, https://App.atiru.dev, https://a.atiru.dev:443, nonsense' });
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/CORS_ORIGINS must be comma-separated origins/);
    for (const bad of ['https://*.atiru.dev', 'https://app.atiru.dev/', 'https://App.atiru.dev', 'https://a.atiru.dev:443', 'nonsense']) expect(error!.message).toContain(`"${bad}"`);
    expect(error!.message).not.toContain('"https://ok.atiru.dev"');
  });

  it('reads CORS_ORIGINS and REDIRECT_ALLOW_LIST set empty as none, not as the development default', () => {
    const config = loadConfig({ CORS_ORIGINS: '', REDIRECT_ALLOW_LIST: ' ' });
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.http.redirectAllowList).toEqual([]);
    expect(loadConfig({}).http.redirectAllowList).toEqual(['http://localhost:5173']);
  });

  it('names a malformed INTROSPECTION_CLIENTS entry by its place, never by text that may be its secret', () => {
    const secret = 'Zk3v9QpLw2XmR7tYb8NcJ4sDf1GhE0oaqpeU';
    expect(() => loadConfig({ INTROSPECTION_CLIENTS: `billing=${secret}` })).toThrow(/INTROSPECTION_CLIENTS: entry 1 must be id:secret/);
    expect(() => loadConfig({ INTROSPECTION_CLIENTS: `ok:${'s'.repeat(32)}, bad id:${secret}` })).toThrow(/entry 2 must be id:secret/);
    for (const env of [{ INTROSPECTION_CLIENTS: `billing=${secret}` }, { INTROSPECTION_CLIENTS: `${secret}` }, { INTROSPECTION_CLIENTS: `bad id:${secret}` }]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      try {
        loadConfig(env);
      } catch (error) {
        expect((error as Error).message).not.toContain(secret);
      }
    }
    expect(() => loadConfig({ INTROSPECTION_CLIENTS: `a:${'s'.repeat(32)},a:${'t'.repeat(32)}` })).toThrow(/client "a" is listed more than once/);
  });

  it('reads and types every value', () => {
    const config = loadConfig({ PORT: '8080', MIGRATE_ON_START: 'false', REDIRECT_ALLOW_LIST: 'https://a.test, https://*.b.test', TRUST_PROXY: '10.0.0.1' });
    expect(config.http.port).toBe(8080);
    expect(config.database.migrateOnStart).toBe(false);
    expect(config.http.redirectAllowList).toEqual(['https://a.test', 'https://*.b.test']);
    expect(config.http.trustProxy).toEqual(['10.0.0.1']);
  });

  it('caps a session at 90 days after its login by default, and refuses a cap under the sliding lifetime, naming both', () => {
    expect(loadConfig({}).tokens).toMatchObject({ refreshTtlSeconds: 30 * 86_400, sessionMaxLifetimeSeconds: 90 * 86_400 });
    expect(loadConfig({ REFRESH_TOKEN_TTL_SECONDS: '3600', SESSION_MAX_LIFETIME_SECONDS: '3600' }).tokens.sessionMaxLifetimeSeconds).toBe(3600);
    expect(() => loadConfig({ SESSION_MAX_LIFETIME_SECONDS: '86400' })).toThrow(
      expect.objectContaining({ problems: [expect.stringMatching(/^SESSION_MAX_LIFETIME_SECONDS \(86400\) must be at least REFRESH_TOKEN_TTL_SECONDS \(2592000\)/)] }),
    );
    expect(() => loadConfig({ SESSION_MAX_LIFETIME_SECONDS: '0' })).toThrow(/SESSION_MAX_LIFETIME_SECONDS/);
  });

  it('caps the mails sent to one address within what the outbox keeps, and refuses a longer window, naming both', () => {
    expect(loadConfig({}).rateLimits).toMatchObject({ mail_ip_email: { limit: 5, windowSeconds: 3600 }, mail_email: { limit: 10, windowSeconds: 3600 } });
    expect(loadConfig({ MAIL_RETENTION_DAYS: '2', RATE_LIMIT_MAIL_EMAIL: '20/172800' }).rateLimits.mail_email).toEqual({ limit: 20, windowSeconds: 172_800 });
    expect(() => loadConfig({ MAIL_RETENTION_DAYS: '1', RATE_LIMIT_MAIL_EMAIL: '20/172800' })).toThrow(
      expect.objectContaining({ problems: [expect.stringMatching(/^RATE_LIMIT_MAIL_EMAIL's window \(172800 s\) must be at most MAIL_RETENTION_DAYS \(86400 s\)/)] }),
    );
  });

  it('names each invalid variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', MIGRATE_ON_START: 'maybe', PUBLIC_URL: 'not a url' })).toThrow(
      expect.objectContaining({ problems: [expect.stringMatching(/^PORT/), expect.stringMatching(/^PUBLIC_URL/), expect.stringMatching(/^MIGRATE_ON_START/)] }),
    );
  });

  it('names, outside production, each development default a start runs on, so that a deployment that forgot NODE_ENV=production is told', () => {
    const forgetful = { DATABASE_URL: 'postgres://db/atiru', PUBLIC_URL: 'https://auth.atiru.dev', SMTP_URL: 'smtp://mail:25' };
    expect(developmentDefaultsInForce(loadConfig(forgetful), forgetful)).toEqual([
      'SIGNING_KEY_ENCRYPTION_SECRET is a placeholder: anyone who reads the signing_keys table can sign access tokens',
      'mailed links may send their tokens to http://localhost:5173 (REDIRECT_ALLOW_LIST)',
      'http://localhost:5173 may call the API from a browser (CORS_ORIGINS)',
    ]);
    expect(developmentDefaultsInForce(loadConfig({}), {})).toEqual([
      expect.stringMatching(/^SIGNING_KEY_ENCRYPTION_SECRET is a placeholder/),
      expect.stringMatching(/REDIRECT_ALLOW_LIST/),
      expect.stringMatching(/CORS_ORIGINS/),
      'mailed links and the token issuer name http://localhost:3000 (PUBLIC_URL)',
      'mails are only logged (SMTP_URL)',
      'the embedded PostgreSQL holds the data (DATABASE_URL)',
    ]);
    const configured = { ...forgetful, SIGNING_KEY_ENCRYPTION_SECRET: 'k'.repeat(16) + 'Zq81xPz0aLw3nQ7vR5t2', REDIRECT_ALLOW_LIST: 'https://app.atiru.dev', CORS_ORIGINS: 'https://app.atiru.dev' };
    expect(developmentDefaultsInForce(loadConfig(configured), configured)).toEqual([]);
    const production = { ...configured, NODE_ENV: 'production' };
    expect(developmentDefaultsInForce(loadConfig(production), production)).toEqual([]);
    expect(developmentDefaultsInForce(loadConfig({ NODE_ENV: 'test' }), { NODE_ENV: 'test' })).toEqual([]);
  });

  it('refuses to start in production with a placeholder secret, naming the variable', () => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.atiru.dev', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:25' };
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(/SIGNING_KEY_ENCRYPTION_SECRET/);
    expect(() => loadConfig({ ...production, SIGNING_KEY_ENCRYPTION_SECRET: 'change-me-change-me-change-me-change-me' })).toThrow(/SIGNING_KEY_ENCRYPTION_SECRET/);
    expect(loadConfig({ ...production, SIGNING_KEY_ENCRYPTION_SECRET: 'k'.repeat(16) + 'Zq81xPz0aLw3nQ7vR5t2' }).env).toBe('production');
  });

  it('bounds the credential caches in MiB, and names the count bound it replaced', () => {
    expect(loadConfig({}).cache).toEqual({ maxBytes: 768 * 1024 * 1024 });
    expect(loadConfig({ AUTH_CACHE_MAX_MB: '64' }).cache).toEqual({ maxBytes: 64 * 1024 * 1024 });
    expect(() => loadConfig({ AUTH_CACHE_MAX_MB: 'lots' })).toThrow(/AUTH_CACHE_MAX_MB/);
    expect(() => loadConfig({ AUTH_CACHE_MAX_ENTRIES: '10000' })).toThrow(/AUTH_CACHE_MAX_ENTRIES is replaced by AUTH_CACHE_MAX_MB/);
    // A leftover empty line in an env file is not a setting.
    expect(() => loadConfig({ AUTH_CACHE_MAX_ENTRIES: ' ' })).not.toThrow();
  });

  it('bounds the rate-limit counters each limit keeps in memory, at least one', () => {
    expect(loadConfig({}).rateLimitMemoryKeys).toBe(10_000);
    expect(loadConfig({ RATE_LIMIT_MEMORY_KEYS: '50' }).rateLimitMemoryKeys).toBe(50);
    for (const bad of ['0', '-1', 'many', '2.5']) expect(() => loadConfig({ RATE_LIMIT_MEMORY_KEYS: bad })).toThrow(/RATE_LIMIT_MEMORY_KEYS must be a whole number/);
  });

  it('refuses production without PUBLIC_URL, DATABASE_URL or SMTP_URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', SIGNING_KEY_ENCRYPTION_SECRET: 'x'.repeat(40) })).toThrow(/PUBLIC_URL[\s\S]*DATABASE_URL[\s\S]*SMTP_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: ' ', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:25', SIGNING_KEY_ENCRYPTION_SECRET: 'x'.repeat(40) })).toThrow(
      /PUBLIC_URL must be set in production/,
    );
  });

  it('allows a local dev server as a redirect and a CORS origin in development only', () => {
    expect(loadConfig({}).http).toMatchObject({ redirectAllowList: ['http://localhost:5173'], corsOrigins: ['http://localhost:5173'] });
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.atiru.dev', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:25', SIGNING_KEY_ENCRYPTION_SECRET: 'x'.repeat(40) };
    expect(loadConfig(production).http).toMatchObject({ redirectAllowList: [], corsOrigins: [] });
    expect(loadConfig({ ...production, REDIRECT_ALLOW_LIST: 'https://app.atiru.dev', CORS_ORIGINS: 'https://app.atiru.dev' }).http).toMatchObject({
      redirectAllowList: ['https://app.atiru.dev'],
      corsOrigins: ['https://app.atiru.dev'],
    });
  });

  it('drains for 5 s on a stop in production only: elsewhere no load balancer waits, and a stop would only be slower', () => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.atiru.dev', DATABASE_URL: 'postgres://db/atiru', SMTP_URL: 'smtp://mail:25', SIGNING_KEY_ENCRYPTION_SECRET: 'x'.repeat(40) };
    expect([loadConfig(production), loadConfig({}), loadConfig({ NODE_ENV: 'test' })].map((config) => config.http.drainSeconds)).toEqual([5, 0, 0]);
    expect([loadConfig({ ...production, SHUTDOWN_DRAIN_SECONDS: '30' }), loadConfig({ SHUTDOWN_DRAIN_SECONDS: '2' })].map((config) => config.http.drainSeconds)).toEqual([30, 2]);
  });

  it('names a service URL with the wrong scheme or no URL at all, without echoing it', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    const found = problems({ DATABASE_URL: 'notaurl', SMTP_URL: 'http://user:hunter2@mail', REDIS_URL: 'localhost:6379', PUBLIC_URL: 'ftp://x' });
    expect(found).toEqual([
      expect.stringMatching(/^PUBLIC_URL must be an absolute http/),
      expect.stringMatching(/^DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL .*got not a URL/),
      expect.stringMatching(/^SMTP_URL must be a smtp:\/\/ or smtps:\/\/ URL .*got scheme "http"/),
      expect.stringMatching(/^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/),
    ]);
    expect(found.join('\n')).not.toContain('hunter2');
    expect(problems({ DATABASE_URL: 'postgresql://u:p@db:5432/atiru', SMTP_URL: 'smtps://mail:465', REDIS_URL: 'rediss://cache:6380' })).toEqual([]);
  });

  it('reads REDIS_CLUSTER as a cluster behind REDIS_URL, and refuses it without REDIS_URL or with a database number a cluster does not have', () => {
    expect(loadConfig({}).redisCluster).toBe(false);
    expect(loadConfig({ REDIS_URL: 'rediss://user:secret@clustercfg.cache.example:6379', REDIS_CLUSTER: 'true' }).redisCluster).toBe(true);
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379/0', REDIS_CLUSTER: 'true' }).redisCluster).toBe(true);
    expect(() => loadConfig({ REDIS_CLUSTER: 'true' })).toThrow(/REDIS_CLUSTER is set without REDIS_URL/);
    expect(() => loadConfig({ REDIS_URL: 'redis://cache:6379/2', REDIS_CLUSTER: 'true' })).toThrow(/REDIS_URL names a database number, which a Redis Cluster does not have/);
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379/2' }).redisCluster).toBe(false);
  });

  it('starts Redis keys with atiru: unless REDIS_KEY_PREFIX names another, and refuses a prefix that would be confusing in a listing of keys', () => {
    expect(loadConfig({}).redisKeyPrefix).toBe('atiru:');
    expect(loadConfig({ REDIS_KEY_PREFIX: '  ' }).redisKeyPrefix).toBe('atiru:');
    expect(loadConfig({ REDIS_KEY_PREFIX: ' atiru:staging-2.eu_west: ' }).redisKeyPrefix).toBe('atiru:staging-2.eu_west:');
    expect(loadConfig({ REDIS_KEY_PREFIX: `${'a'.repeat(63)}:` }).redisKeyPrefix).toHaveLength(64);
    expect(() => loadConfig({ REDIS_KEY_PREFIX: `${'a'.repeat(64)}:` })).toThrow(/REDIS_KEY_PREFIX must be at most 64 characters \(got 65\): it starts every key in Redis/);
    for (const bad of ['atiru staging:', 'atiru:\tstaging:', 'atiru:*:', 'atiru:{staging}:', 'atiru"x:', 'atiru', 'atiru:staging', ':atiru:', 'été:']) {
      expect(() => loadConfig({ REDIS_KEY_PREFIX: bad })).toThrow(`REDIS_KEY_PREFIX must be letters, digits and . _ - :, start with a letter or digit and end with ":", such as atiru-staging: (got ${JSON.stringify(bad)})`);
    }
  });

  it('takes TRUST_PROXY as a boolean or addresses and ranges, and names anything else', () => {
    expect(loadConfig({ TRUST_PROXY: 'TRUE' }).http.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, fd00::/8' }).http.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
    for (const bad of ['maybe', '10.0.0.0/33', '10.0.0.1/8/2', 'proxy.internal']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY must be true, false, or a comma-separated list/);
    }
  });

  it('refuses a TRUST_PROXY hop count, which would trust any address that connects, and says what to set instead', () => {
    expect(() => loadConfig({ TRUST_PROXY: '1' })).toThrow(/TRUST_PROXY takes no hop count \(got "1"\): list the proxies' addresses/);
  });
});
