import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

/**
 * The whole configuration of the service, read from the environment once at start.
 * Nothing else in the code base reads `process.env`.
 */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  http: {
    host: string;
    port: number;
    /** Where this service is reachable from the outside; links in mails start here. */
    publicUrl: string;
    /**
     * Where people land after confirming their email when no `redirect_to` was given: DASHBOARD_URL,
     * or the dashboard this service serves (`${publicUrl}/dashboard/`) when that is unset.
     */
    dashboardUrl: string;
    /** DASHBOARD_URL was unset: mailed links land on the built-in dashboard's own pages. */
    dashboardBuiltIn: boolean;
    /** The built dashboard (Vite's output) that `/dashboard/` serves. */
    dashboardDir: string;
    /** Exact origins (`https://app.atiru.dev`) or patterns (`https://*.atiru.dev`) allowed as `redirect_to`. */
    redirectAllowList: string[];
    corsOrigins: string[];
    bodyLimitBytes: number;
    /** After SIGTERM/SIGINT: how long the instance keeps serving while it reports not-ready. */
    drainSeconds: number;
    /** Then: how long requests still in flight may take before their connections are cut. */
    shutdownTimeoutSeconds: number;
    /** Fastify `trustProxy`: false, true, a hop count, or a list of addresses/CIDRs. */
    trustProxy: boolean | number | string[];
  };
  database: {
    /** Empty when the service should start its embedded PostgreSQL. */
    url: string;
    migrateOnStart: boolean;
    poolMax: number;
  };
  dataDir: string;
  embeddedPostgresPort: number;
  mail: {
    smtpUrl: string;
    from: string;
    maxAttempts: number;
    pollIntervalMs: number;
    retryBaseMs: number;
  };
  tokens: {
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    refreshReuseGraceSeconds: number;
    confirmTtlSeconds: number;
    resetTtlSeconds: number;
    /** Encrypts the private part of signing keys stored in the database. */
    signingKeyEncryptionSecret: string;
    /** Optional PEM private key that replaces the database-held keys. */
    signingKeyPem: string;
  };
  apiKeys: {
    maxActivePerUser: number;
    lastUsedIntervalSeconds: number;
  };
  cache: {
    maxEntries: number;
  };
  /** argon2 operations allowed at once; the rest queue, so hashing never starves the event loop. */
  passwordHashConcurrency: number;
  redisUrl: string;
  /** Where Prometheus reads `GET /metrics`; no port: no metrics listener. */
  metrics: { host: string; port?: number };
  rateLimits: Record<RateLimitPolicyName, RateLimitPolicy>;
  /**
   * Keys the hashes that stand for emails in log lines (HMAC), so a reader of the logs cannot test
   * a guessed address against them. Empty: derived from SIGNING_KEY_ENCRYPTION_SECRET.
   */
  logFingerprintSecret: string;
  /** How many units a failed login adds to the login counters (a success adds 1). */
  failedLoginCost: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** A limit of `limit` units per `windowSeconds`, counted per the policy's key. */
export interface RateLimitPolicy {
  limit: number;
  windowSeconds: number;
}

/** Each limit, with its default and the variable that changes it (`RATE_LIMIT_<NAME>=limit/seconds`). */
export const RATE_LIMIT_DEFAULTS = {
  /** Logins per client IP; a failure costs `failedLoginCost`. */
  login_ip: { limit: 300, windowSeconds: 900 },
  /** Logins per (client IP, email): guessing one account's password. */
  login_ip_email: { limit: 50, windowSeconds: 900 },
  /** Mail-sending requests (register, resend-confirmation, forgot-password) per client IP. */
  mail_ip: { limit: 30, windowSeconds: 3600 },
  /** Mail-sending requests per target email, so nobody can flood one inbox. */
  mail_email: { limit: 5, windowSeconds: 3600 },
  /** Password resets (`POST /auth/reset-password`) per client IP: reset tokens cannot be guessed at speed. */
  reset_ip: { limit: 20, windowSeconds: 900 },
  /** Password resets per presented token, whatever the address they come from. */
  reset_token: { limit: 5, windowSeconds: 900 },
  /** Refreshes per client IP. */
  refresh_ip: { limit: 300, windowSeconds: 900 },
  /** Failed authentications (bad JWT, unknown or malformed API key) per client IP. */
  auth_failure_ip: { limit: 60, windowSeconds: 60 },
  /** Authenticated requests per API key. */
  api_key: { limit: 60_000, windowSeconds: 60 },
  /** Authenticated requests per user, all credentials together. */
  user: { limit: 120_000, windowSeconds: 60 },
} as const satisfies Record<string, RateLimitPolicy>;

export type RateLimitPolicyName = keyof typeof RATE_LIMIT_DEFAULTS;

/** Placeholder secrets shipped for development; production refuses them. */
export const DEVELOPMENT_SECRET = 'dev-only-signing-key-secret-change-me';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  }

  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    return raw.split(',').map((item) => item.trim()).filter(Boolean);
  }

  /** An http(s) URL that people's browsers open (links in mails, redirects). */
  url(name: string, fallback: string): string {
    const value = this.string(name, fallback);
    if (value === '') return value;
    if (!URL.canParse(value) || !['http:', 'https:'].includes(new URL(value).protocol)) {
      this.problems.push(`${name} must be an absolute http:// or https:// URL (got "${value}")`);
    }
    return value.replace(/\/+$/, '');
  }

  /**
   * The URL of a service this one connects to, empty when unset. Only its scheme is checked and
   * named in a problem, never the value: it may carry a password.
   */
  serviceUrl(name: string, schemes: readonly string[], example: string): string {
    const value = this.string(name, '');
    if (value === '') return value;
    let scheme: string | undefined;
    try {
      scheme = new URL(value).protocol.slice(0, -1);
    } catch {
      scheme = undefined;
    }
    if (scheme === undefined || !schemes.includes(scheme)) {
      const seen = scheme === undefined ? 'not a URL' : `scheme "${scheme}"`;
      this.problems.push(`${name} must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL such as ${example} (got ${seen}; the value is not shown, it may hold a password)`);
    }
    return value;
  }

  /** Fastify `trustProxy`: false, true, a hop count, or a list of addresses and CIDR ranges. */
  trustProxy(name: string): boolean | number | string[] {
    const raw = this.string(name, 'false').toLowerCase();
    if (raw === 'false') return false;
    if (raw === 'true') return true;
    if (/^\d+$/.test(raw)) return Number(raw);
    const entries = raw.split(',').map((item) => item.trim()).filter(Boolean);
    const invalid = entries.filter((entry) => !isAddressOrRange(entry));
    if (entries.length === 0 || invalid.length > 0) {
      this.problems.push(`${name} must be true, false, a hop count, or a comma-separated list of IP addresses or CIDR ranges (got "${raw}")`);
      return false;
    }
    return entries;
  }

  rateLimit(name: string, fallback: RateLimitPolicy): RateLimitPolicy {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '') return { ...fallback };
    const match = /^(\d+)\s*\/\s*(\d+)$/.exec(raw);
    if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
      this.problems.push(`${name} must be "limit/windowSeconds", e.g. "50/900" (got "${raw}")`);
      return { ...fallback };
    }
    return { limit: Number(match[1]), windowSeconds: Number(match[2]) };
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if (!allowed.includes(value as T)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }
}

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`. */
function isAddressOrRange(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): AppConfig {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const port = read.int('PORT', 3000, 0, 65535);
  const publicUrl = read.url('PUBLIC_URL', `http://localhost:${port}`);
  const dashboardUrl = read.url('DASHBOARD_URL', '');

  const config: AppConfig = {
    env: nodeEnv,
    http: {
      host: read.string('HOST', '0.0.0.0'),
      port,
      publicUrl,
      dashboardUrl: dashboardUrl === '' ? `${publicUrl}/dashboard/` : dashboardUrl,
      dashboardBuiltIn: dashboardUrl === '',
      dashboardDir: resolve(read.string('DASHBOARD_DIR', 'dist/dashboard')),
      redirectAllowList: read.list('REDIRECT_ALLOW_LIST', ['http://localhost:5173']),
      corsOrigins: read.list('CORS_ORIGINS', ['http://localhost:5173']),
      bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 16 * 1024, 1024, 10 * 1024 * 1024),
      trustProxy: read.trustProxy('TRUST_PROXY'),
      drainSeconds: read.int('SHUTDOWN_DRAIN_SECONDS', 5, 0, 300),
      shutdownTimeoutSeconds: read.int('SHUTDOWN_TIMEOUT_SECONDS', 10, 1, 600),
    },
    database: {
      url: read.serviceUrl('DATABASE_URL', ['postgres', 'postgresql'], 'postgres://user:password@host:5432/atiru'),
      migrateOnStart: read.bool('MIGRATE_ON_START', true),
      poolMax: read.int('DATABASE_POOL_MAX', 10, 1, 200),
    },
    dataDir: resolve(read.string('DATA_DIR', '.data')),
    embeddedPostgresPort: read.int('EMBEDDED_POSTGRES_PORT', 54329, 1, 65535),
    mail: {
      smtpUrl: read.serviceUrl('SMTP_URL', ['smtp', 'smtps'], 'smtp://user:password@host:587'),
      from: read.string('MAIL_FROM', 'Atiru <no-reply@atiru.local>'),
      maxAttempts: read.int('MAIL_MAX_ATTEMPTS', 8, 1, 100),
      pollIntervalMs: read.int('MAIL_POLL_INTERVAL_MS', 1000, 10, 60_000),
      retryBaseMs: read.int('MAIL_RETRY_BASE_MS', 2000, 10, 3_600_000),
    },
    tokens: {
      issuer: read.string('JWT_ISSUER', publicUrl),
      audience: read.string('JWT_AUDIENCE', 'atiru'),
      accessTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 3600, 30, 86_400),
      refreshTtlSeconds: read.int('REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 1, 365 * 86_400),
      refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      confirmTtlSeconds: read.int('CONFIRM_TOKEN_TTL_SECONDS', 24 * 3600, 1, 30 * 86_400),
      resetTtlSeconds: read.int('RESET_TOKEN_TTL_SECONDS', 3600, 1, 7 * 86_400),
      signingKeyEncryptionSecret: read.string('SIGNING_KEY_ENCRYPTION_SECRET', DEVELOPMENT_SECRET),
      signingKeyPem: read.string('SIGNING_KEY_PEM', '').replace(/\\n/g, '\n'),
    },
    apiKeys: {
      maxActivePerUser: read.int('API_KEY_MAX_ACTIVE_PER_USER', 100, 1, 100_000),
      lastUsedIntervalSeconds: read.int('API_KEY_LAST_USED_INTERVAL_SECONDS', 60, 1, 86_400),
    },
    cache: {
      maxEntries: read.int('AUTH_CACHE_MAX_ENTRIES', 10_000, 0, 10_000_000),
    },
    passwordHashConcurrency: read.int('PASSWORD_HASH_CONCURRENCY', Math.max(1, availableParallelism() - 1), 1, 64),
    metrics: {
      host: read.string('METRICS_HOST', '127.0.0.1'),
      // Off in tests, where many instances share a machine; on, on loopback, everywhere else.
      port: read.string('METRICS_PORT', nodeEnv === 'test' ? '' : '9464') === '' ? undefined : read.int('METRICS_PORT', 9464, 0, 65535),
    },
    redisUrl: read.serviceUrl('REDIS_URL', ['redis', 'rediss'], 'redis://127.0.0.1:6379'),
    rateLimits: Object.fromEntries(
      Object.entries(RATE_LIMIT_DEFAULTS).map(([name, policy]) => [name, read.rateLimit(`RATE_LIMIT_${name.toUpperCase()}`, policy)]),
    ) as Record<RateLimitPolicyName, RateLimitPolicy>,
    logFingerprintSecret: read.string('LOG_FINGERPRINT_SECRET', ''),
    failedLoginCost: read.int('FAILED_LOGIN_COST', 5, 1, 1000),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'warn' : 'info'),
  };

  if (config.env === 'production') {
    const secret = config.tokens.signingKeyEncryptionSecret;
    if (!config.tokens.signingKeyPem && (secret === DEVELOPMENT_SECRET || secret.length < 32 || /change.?me/i.test(secret))) {
      read.problems.push(
        'SIGNING_KEY_ENCRYPTION_SECRET is missing or a placeholder: set a random secret of at least 32 characters (or SIGNING_KEY_PEM)',
      );
    }
    if (!config.database.url) read.problems.push('DATABASE_URL must be set in production (the embedded PostgreSQL is for development)');
    if (!config.mail.smtpUrl) read.problems.push('SMTP_URL must be set in production (mails would only be logged)');
  }

  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}
