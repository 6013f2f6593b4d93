import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { isInlineKeys, parseSecretScanningKeys, SecretScanningKey } from './secret-scanning-keys';

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
    /** Fastify `trustProxy`: false, true, or a list of addresses/CIDRs. */
    trustProxy: boolean | string[];
  };
  database: {
    /** Empty when the service should start its embedded PostgreSQL. */
    url: string;
    migrateOnStart: boolean;
    poolMax: number;
    /** How long opening a connection may take before the attempt fails (an outage: 503). */
    connectTimeoutMs: number;
    /** How long a request may wait for a free pooled connection. */
    acquireTimeoutMs: number;
    /**
     * PostgreSQL's `statement_timeout` on every pooled connection; the client gives up on an
     * answer a second later and ends the connection, so a frozen server cannot hold a request.
     */
    statementTimeoutMs: number;
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
    /** A session dies after this long without a refresh. */
    refreshTtlSeconds: number;
    /** However often it is refreshed, a session ends this long after its login. */
    sessionMaxLifetimeSeconds: number;
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
    /** The scopes a key may be given (`API_KEY_SCOPES`); a key given none may do everything. */
    scopes: string[];
  };
  /** How long rows that have served their purpose stay before the retention worker deletes them, in days. */
  retention: {
    /** Mails after they were sent, or after they failed for good (a failed mail can be resent until then). */
    mailDays: number;
    /** Sessions, with their refresh tokens, after they ended (revoked or expired). */
    sessionDays: number;
    /** One-time tokens (confirmation and reset links) after they expired. */
    oneTimeTokenDays: number;
    /** API keys, with their usage, after they ended (revoked or expired). */
    apiKeyDays: number;
  };
  /** Who may call `POST /auth/introspect` (HTTP Basic): other services of Atiru. */
  introspectionClients: IntrospectionClient[];
  cache: {
    /** All the credential caches of an instance together (API keys, access tokens, users): bytes. */
    maxBytes: number;
  };
  /** argon2 operations allowed at once; the rest queue, so hashing never starves the event loop. */
  passwordHashConcurrency: number;
  redisUrl: string;
  /** Starts every key this deployment writes to Redis, so that deployments sharing one count apart. */
  redisKeyPrefix: string;
  /** REDIS_URL names a node of a Redis Cluster (its configuration endpoint, say), not a standalone server. */
  redisCluster: boolean;
  /** GitHub's secret-scanning partner reports (leaked API keys). */
  secretScanning: {
    /** The keys their signatures are verified with; none: every report is refused. */
    keys: SecretScanningKey[];
    /** The file they came from, read again when a report names a key it does not hold; empty when given inline. */
    keysFile: string;
  };
  /** Where Prometheus reads `GET /metrics`; no port: no metrics listener. */
  metrics: { host: string; port?: number };
  rateLimits: Record<RateLimitPolicyName, RateLimitPolicy>;
  /**
   * Counters each route limit may keep in this instance's memory (every one's without Redis, the
   * confirmation link's with it; authenticated uses are bounded apart); past it, the limit's
   * counter that ends first is dropped.
   */
  rateLimitMemoryKeys: number;
  /**
   * Keys the hashes that stand for emails in log lines (HMAC), so a reader of the logs cannot test
   * a guessed address against them. Empty: derived from SIGNING_KEY_ENCRYPTION_SECRET.
   */
  logFingerprintSecret: string;
  /** How many units a failed login (or password change) adds to the login counters (a success adds 1). */
  failedLoginCost: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** How much log output may wait for standard output's reader, in bytes; beyond, lines are dropped and counted. */
  logBufferMaxBytes: number;
}

/** A caller of token introspection: its id, and the SHA-256 of its secret (the secret itself is not kept). */
export interface IntrospectionClient {
  id: string;
  secretSha256: Buffer;
}

/** A scope name: lower case, short, safe in a space-separated `scope` claim. */
export const SCOPE_NAME = /^[a-z][a-z0-9_.:-]{0,31}$/;
/**
 * REDIS_KEY_PREFIX's default: the names keys had before the setting, so that instances of an
 * earlier release and of this one share counts during a rolling deploy (decision 033).
 */
export const DEFAULT_REDIS_KEY_PREFIX = 'atiru:';
/**
 * Characters `redis-cli --scan --pattern` takes literally (no glob, space or quote), ending with
 * the usual separator, so that one deployment's pattern (`atiru-staging:*`) does not also match
 * the keys of a prefix that extends its name (`atiru-staging2:…`).
 */
export const REDIS_KEY_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:-]*:$/;
/** Every key carries the prefix, in Redis's memory and on every count sent. */
export const MAX_REDIS_KEY_PREFIX_LENGTH = 64;
/** Client secrets are long random strings: a short one could be guessed. */
export const MIN_CLIENT_SECRET_LENGTH = 32;

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
  /**
   * Mail-sending requests per (client IP, target inbox, `inboxOf`): one client asking again and
   * again for one inbox, under any of its names.
   */
  mail_ip_email: { limit: 5, windowSeconds: 3600 },
  /**
   * Mails those three requests send to one inbox, under any of its names (`inboxOf`), whoever
   * asked: nobody can flood one inbox.
   * Never a 429, which would let anyone lock the owner out of their own mail: beyond it a request
   * is answered as any other and sends nothing (decision 029). Counted in the outbox. Above
   * `mail_ip_email`, so that one client cannot spend it alone.
   */
  mail_email: { limit: 10, windowSeconds: 3600 },
  /** Password resets (`POST /auth/reset-password`) per client IP: reset tokens cannot be guessed at speed. */
  reset_ip: { limit: 20, windowSeconds: 900 },
  /** Password resets per presented token, whatever the address they come from. */
  reset_token: { limit: 5, windowSeconds: 900 },
  /** Confirmations by programs (`POST /auth/confirm`) per client IP. */
  confirm_ip: { limit: 60, windowSeconds: 900 },
  /**
   * Openings of one confirmation link, and presses of its page's button, per presented token,
   * whatever the address: a person opens and presses, a mail scanner opens a few times. Not per
   * client IP, which any web page could spend for its visitors.
   */
  confirm_token: { limit: 20, windowSeconds: 900 },
  /** Refreshes per client IP. */
  refresh_ip: { limit: 300, windowSeconds: 900 },
  /** Failed authentications (bad JWT, unknown or malformed API key) per client IP. */
  auth_failure_ip: { limit: 60, windowSeconds: 60 },
  /**
   * API keys created or rolled per user. Each mails the owner a notice: without it, one account
   * could fill the mail queue that everyone's confirmation and reset links wait in.
   */
  key_change_user: { limit: 30, windowSeconds: 3600 },
  /** Authenticated requests per API key. */
  api_key: { limit: 60_000, windowSeconds: 60 },
  /** Authenticated requests per user, all credentials together. */
  user: { limit: 120_000, windowSeconds: 60 },
} as const satisfies Record<string, RateLimitPolicy>;

export type RateLimitPolicyName = keyof typeof RATE_LIMIT_DEFAULTS;

/** Placeholder secrets shipped for development; production refuses them. */
export const DEVELOPMENT_SECRET = 'dev-only-signing-key-secret-change-me';

/**
 * The credential caches' default bound: a million cached API keys or access tokens fit in it
 * even when each has a user of its own (docs/capacity.md has what one costs, and the heap it
 * needs).
 */
export const AUTH_CACHE_DEFAULT_MB = 768;
export const LOG_BUFFER_DEFAULT_MB = 16;

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
    return raw === undefined || raw === '' ? fallback : commaSeparated(raw);
  }

  /**
   * A comma-separated list of what a deployment allows: unset, the fallback (a development
   * convenience); set empty, nothing, which is what an operator who clears it means.
   */
  allowList(name: string, fallback: string[]): string[] {
    const raw = this.env[name];
    return raw === undefined ? fallback : commaSeparated(raw);
  }

  /**
   * Browser origins, as a browser sends them in `Origin` (scheme, lower-case host, a port other
   * than the scheme's own): CORS compares them as strings, so anything else would never match.
   */
  origins(name: string, fallback: string[]): string[] {
    const origins = this.allowList(name, fallback);
    // The URL parser takes `*` in a host name; a browser never sends one.
    const invalid = origins.filter((origin) => origin.includes('*') || !URL.canParse(origin) || new URL(origin).origin !== origin);
    if (invalid.length > 0) {
      this.problems.push(
        `${name} must be comma-separated origins such as https://app.atiru.dev, as browsers send them (no path or trailing slash, no wildcard, lower case; got ${invalid.map((origin) => `"${origin}"`).join(', ')})`,
      );
    }
    return origins;
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

  /**
   * Fastify `trustProxy`: false, true, or a list of addresses and CIDR ranges. A hop count is
   * refused rather than passed on: it trusts whatever address connects, so a client that reaches
   * the service directly could name its own address, and Fastify now treats one as trusting
   * nothing, which would silently put every client behind the proxy's one address.
   */
  trustProxy(name: string): boolean | string[] {
    const raw = this.string(name, 'false').toLowerCase();
    if (raw === 'false') return false;
    if (raw === 'true') return true;
    if (/^\d+$/.test(raw)) {
      this.problems.push(
        `${name} takes no hop count (got "${raw}"): list the proxies' addresses or CIDR ranges, or true when nothing but the proxy can reach the service`,
      );
      return false;
    }
    const entries = raw.split(',').map((item) => item.trim()).filter(Boolean);
    const invalid = entries.filter((entry) => !isAddressOrRange(entry));
    if (entries.length === 0 || invalid.length > 0) {
      this.problems.push(`${name} must be true, false, or a comma-separated list of IP addresses or CIDR ranges (got "${raw}")`);
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

  /** `API_KEY_SCOPES`: distinct scope names, at least one. */
  scopes(name: string, fallback: string[]): string[] {
    const scopes = this.list(name, fallback);
    const invalid = scopes.filter((scope) => !SCOPE_NAME.test(scope));
    if (invalid.length > 0 || new Set(scopes).size !== scopes.length) {
      this.problems.push(`${name} must be distinct comma-separated scope names (lower case letters, digits, _.:-, up to 32 characters; got "${scopes.join(',')}")`);
      return fallback;
    }
    return scopes;
  }

  /**
   * `id:secret` or `id:sha256:<hex of the secret's SHA-256>`, comma-separated. Only the digest is
   * kept. A problem names the client, never its secret.
   */
  introspectionClients(name: string): IntrospectionClient[] {
    const clients: IntrospectionClient[] = [];
    for (const [index, entry] of this.list(name, []).entries()) {
      const at = entry.indexOf(':');
      const id = at < 0 ? entry : entry.slice(0, at);
      const secret = at < 0 ? '' : entry.slice(at + 1);
      const digest = /^sha256:([0-9a-f]{64})$/i.exec(secret)?.[1];
      if (at < 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
        // Named by its place, not its text: without the colon, the text may be all secret.
        this.problems.push(`${name}: entry ${index + 1} must be id:secret, the id of letters, digits and ._-`);
      } else if (clients.some((client) => client.id === id)) {
        this.problems.push(`${name}: client "${id}" is listed more than once`);
      } else if (digest === undefined && secret.length < MIN_CLIENT_SECRET_LENGTH) {
        this.problems.push(`${name}: the secret of client "${id}" must be at least ${MIN_CLIENT_SECRET_LENGTH} characters, or sha256:<64 hex digits>`);
      } else {
        clients.push({ id, secretSha256: digest !== undefined ? Buffer.from(digest, 'hex') : createHash('sha256').update(secret).digest() });
      }
    }
    return clients;
  }

  /** GitHub's secret-scanning verification keys: their JSON document inline, or the path of a file holding it. */
  secretScanningKeys(name: string): AppConfig['secretScanning'] {
    const value = this.string(name, '');
    if (value === '') return { keys: [], keysFile: '' };
    const keysFile = isInlineKeys(value) ? '' : resolve(value);
    try {
      return { keys: parseSecretScanningKeys(keysFile ? readFileSync(keysFile, 'utf8') : value), keysFile };
    } catch (error) {
      const what = (error as NodeJS.ErrnoException).code ? `cannot be read (${(error as NodeJS.ErrnoException).code})` : (error as Error).message;
      this.problems.push(`${name} must be GitHub's secret-scanning keys (JSON from https://api.github.com/meta/public_keys/secret_scanning) or a file holding them: ${keysFile ? `the file ${keysFile}` : 'the value'} ${what}`);
      return { keys: [], keysFile };
    }
  }

  /** What every Redis key starts with: one per deployment sharing a Redis (decision 033). */
  redisKeyPrefix(name: string): string {
    const value = this.string(name, DEFAULT_REDIS_KEY_PREFIX);
    if (value.length > MAX_REDIS_KEY_PREFIX_LENGTH) {
      this.problems.push(`${name} must be at most ${MAX_REDIS_KEY_PREFIX_LENGTH} characters (got ${value.length}): it starts every key in Redis`);
      return DEFAULT_REDIS_KEY_PREFIX;
    }
    if (!REDIS_KEY_PREFIX.test(value)) {
      this.problems.push(`${name} must be letters, digits and . _ - :, start with a letter or digit and end with ":", such as atiru-staging: (got ${JSON.stringify(value)})`);
      return DEFAULT_REDIS_KEY_PREFIX;
    }
    return value;
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

/** Where a front-end's dev server (Vite's default) runs: redirects and CORS allow it in development. */
const DEV_FRONTEND_ORIGIN = 'http://localhost:5173';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The non-empty items of a comma-separated value, trimmed. */
function commaSeparated(raw: string): string[] {
  return raw.split(',').map((item) => item.trim()).filter(Boolean);
}

/**
 * The entries of an origin list that name the user's own machine (localhost, a loopback address):
 * allowed in production, they would send mailed tokens, or a browser's calls, to whatever listens
 * there on the machine of whoever follows the link.
 */
export function loopbackEntries(list: readonly string[]): string[] {
  return list.filter((entry) => {
    const candidate = entry.replace('://*.', '://wildcard.');
    if (!URL.canParse(candidate)) return false;
    // The URL parser has the address in its canonical form (127.1 is 127.0.0.1, [::ffff:7f00:1] its IPv6 form); a trailing dot names the same host.
    const host = new URL(candidate).hostname.replace(/\.$/, '');
    return (
      host === 'localhost' ||
      host.endsWith('.localhost') ||
      /^127\.\d+\.\d+\.\d+$/.test(host) ||
      host === '0.0.0.0' ||
      ['[::1]', '[::]', '[::ffff:7f00:1]', '[::ffff:0:0]'].includes(host) ||
      /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
    );
  });
}

/** The path of a URL already checked to be one; '' when it does not parse. */
function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

/** A secret anyone could guess: the development one, a short one, or one that asks to be changed. */
export function isPlaceholderSecret(secret: string): boolean {
  return secret === DEVELOPMENT_SECRET || secret.length < 32 || /change.?me/i.test(secret);
}

/**
 * What a start outside production takes from development defaults that production refuses or
 * does without, for the start to say so: a deployment that forgot NODE_ENV=production would
 * otherwise run on them without a word. Empty in production, which refuses them, and under test.
 */
export function developmentDefaultsInForce(config: AppConfig, env: Env = process.env): string[] {
  if (config.env !== 'development') return [];
  const unset = (name: string) => !env[name]?.trim();
  const localRedirects = loopbackEntries(config.http.redirectAllowList).join(', ');
  const localOrigins = loopbackEntries(config.http.corsOrigins).join(', ');
  return [
    ...(!config.tokens.signingKeyPem && isPlaceholderSecret(config.tokens.signingKeyEncryptionSecret)
      ? ['SIGNING_KEY_ENCRYPTION_SECRET is a placeholder: anyone who reads the signing_keys table can sign access tokens']
      : []),
    ...(localRedirects ? [`mailed links may send their tokens to ${localRedirects} (REDIRECT_ALLOW_LIST)`] : []),
    ...(localOrigins ? [`${localOrigins} may call the API from a browser (CORS_ORIGINS)`] : []),
    ...(unset('PUBLIC_URL') ? [`mailed links and the token issuer name ${config.http.publicUrl} (PUBLIC_URL)`] : []),
    ...(config.mail.smtpUrl ? [] : ['mails are only logged (SMTP_URL)']),
    ...(unset('DATABASE_URL') ? ['the embedded PostgreSQL holds the data (DATABASE_URL)'] : []),
  ];
}

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
      // A local front-end's dev server, in development only: in production a localhost origin would
      // send mailed tokens, or a browser's requests, to whatever listens there on the user's machine.
      redirectAllowList: read.allowList('REDIRECT_ALLOW_LIST', nodeEnv === 'production' ? [] : [DEV_FRONTEND_ORIGIN]),
      corsOrigins: read.origins('CORS_ORIGINS', nodeEnv === 'production' ? [] : [DEV_FRONTEND_ORIGIN]),
      bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 16 * 1024, 1024, 10 * 1024 * 1024),
      trustProxy: read.trustProxy('TRUST_PROXY'),
      // The drain lasts its whole length, and outside production no load balancer waits for it: a
      // stop there (Ctrl-C on `npm start`) would only be slower.
      drainSeconds: read.int('SHUTDOWN_DRAIN_SECONDS', nodeEnv === 'production' ? 5 : 0, 0, 300),
      shutdownTimeoutSeconds: read.int('SHUTDOWN_TIMEOUT_SECONDS', 10, 1, 600),
    },
    database: {
      url: read.serviceUrl('DATABASE_URL', ['postgres', 'postgresql'], 'postgres://user:password@host:5432/atiru'),
      migrateOnStart: read.bool('MIGRATE_ON_START', true),
      poolMax: read.int('DATABASE_POOL_MAX', 10, 1, 200),
      connectTimeoutMs: read.int('DATABASE_CONNECT_TIMEOUT_MS', 3000, 100, 60_000),
      acquireTimeoutMs: read.int('DATABASE_ACQUIRE_TIMEOUT_MS', 5000, 100, 60_000),
      statementTimeoutMs: read.int('DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    },
    dataDir: resolve(read.string('DATA_DIR', '.data')),
    embeddedPostgresPort: read.int('EMBEDDED_POSTGRES_PORT', 54329, 1, 65535),
    mail: {
      smtpUrl: read.serviceUrl('SMTP_URL', ['smtp', 'smtps'], 'smtp://user:password@host:587'),
      from: read.string('MAIL_FROM', 'Atiru <no-reply@atiru.local>'),
      maxAttempts: read.int('MAIL_MAX_ATTEMPTS', 40, 1, 1000),
      pollIntervalMs: read.int('MAIL_POLL_INTERVAL_MS', 1000, 10, 60_000),
      retryBaseMs: read.int('MAIL_RETRY_BASE_MS', 2000, 10, 3_600_000),
    },
    retention: {
      mailDays: read.int('MAIL_RETENTION_DAYS', 30, 1, 3650),
      sessionDays: read.int('SESSION_RETENTION_DAYS', 30, 1, 3650),
      oneTimeTokenDays: read.int('ONE_TIME_TOKEN_RETENTION_DAYS', 7, 1, 3650),
      apiKeyDays: read.int('API_KEY_RETENTION_DAYS', 90, 1, 3650),
    },
    tokens: {
      issuer: read.string('JWT_ISSUER', publicUrl),
      audience: read.string('JWT_AUDIENCE', 'atiru'),
      accessTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 3600, 30, 86_400),
      refreshTtlSeconds: read.int('REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 1, 365 * 86_400),
      sessionMaxLifetimeSeconds: read.int('SESSION_MAX_LIFETIME_SECONDS', 90 * 86_400, 1, 10 * 365 * 86_400),
      refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      confirmTtlSeconds: read.int('CONFIRM_TOKEN_TTL_SECONDS', 24 * 3600, 1, 30 * 86_400),
      resetTtlSeconds: read.int('RESET_TOKEN_TTL_SECONDS', 3600, 1, 7 * 86_400),
      signingKeyEncryptionSecret: read.string('SIGNING_KEY_ENCRYPTION_SECRET', DEVELOPMENT_SECRET),
      signingKeyPem: read.string('SIGNING_KEY_PEM', '').replace(/\\n/g, '\n'),
    },
    apiKeys: {
      maxActivePerUser: read.int('API_KEY_MAX_ACTIVE_PER_USER', 100, 1, 100_000),
      lastUsedIntervalSeconds: read.int('API_KEY_LAST_USED_INTERVAL_SECONDS', 60, 1, 86_400),
      scopes: read.scopes('API_KEY_SCOPES', ['read', 'write']),
    },
    introspectionClients: read.introspectionClients('INTROSPECTION_CLIENTS'),
    cache: {
      maxBytes: read.int('AUTH_CACHE_MAX_MB', AUTH_CACHE_DEFAULT_MB, 0, 64 * 1024) * 1024 * 1024,
    },
    passwordHashConcurrency: read.int('PASSWORD_HASH_CONCURRENCY', Math.max(1, availableParallelism() - 1), 1, 64),
    metrics: {
      host: read.string('METRICS_HOST', '127.0.0.1'),
      // Off where METRICS_PORT is set empty, and by default in tests, where many instances share a
      // machine; on, on loopback, everywhere else. (Most settings read empty as unset; here empty
      // is how an operator says "no metrics listener".)
      port:
        env.METRICS_PORT?.trim() === '' || (env.METRICS_PORT === undefined && nodeEnv === 'test') ? undefined : read.int('METRICS_PORT', 9464, 0, 65535),
    },
    redisUrl: read.serviceUrl('REDIS_URL', ['redis', 'rediss'], 'redis://127.0.0.1:6379'),
    redisKeyPrefix: read.redisKeyPrefix('REDIS_KEY_PREFIX'),
    redisCluster: read.bool('REDIS_CLUSTER', false),
    secretScanning: read.secretScanningKeys('GITHUB_SECRET_SCANNING_KEYS'),
    rateLimits: Object.fromEntries(
      Object.entries(RATE_LIMIT_DEFAULTS).map(([name, policy]) => [name, read.rateLimit(`RATE_LIMIT_${name.toUpperCase()}`, policy)]),
    ) as Record<RateLimitPolicyName, RateLimitPolicy>,
    rateLimitMemoryKeys: read.int('RATE_LIMIT_MEMORY_KEYS', 10_000, 1, 10_000_000),
    logFingerprintSecret: read.string('LOG_FINGERPRINT_SECRET', ''),
    failedLoginCost: read.int('FAILED_LOGIN_COST', 5, 1, 1000),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'warn' : 'info'),
    logBufferMaxBytes: read.int('LOG_BUFFER_MAX_MB', LOG_BUFFER_DEFAULT_MB, 1, 1024) * 1024 * 1024,
  };

  if (config.env === 'production') {
    const secret = config.tokens.signingKeyEncryptionSecret;
    if (!config.tokens.signingKeyPem && isPlaceholderSecret(secret)) {
      read.problems.push(
        'SIGNING_KEY_ENCRYPTION_SECRET is missing or a placeholder: set a random secret of at least 32 characters (or SIGNING_KEY_PEM)',
      );
    }
    // Not CORS_ORIGINS: a page there can call the API only with a credential it holds, and hybrid
    // mobile apps (Capacitor, Ionic) run their pages at https://localhost.
    for (const [name, list] of [
      ['REDIRECT_ALLOW_LIST', config.http.redirectAllowList],
      // Mailed links without redirect_to land there, their tokens with them.
      ['DASHBOARD_URL', config.http.dashboardBuiltIn ? [] : [config.http.dashboardUrl]],
    ] as const) {
      const local = loopbackEntries(list);
      if (local.length > 0) {
        read.problems.push(`${name} names the user's own machine (${local.join(', ')}), which production must not trust: mailed tokens would go to whatever listens there`);
      }
    }
    if (!env.PUBLIC_URL?.trim()) read.problems.push('PUBLIC_URL must be set in production (the base of mailed links and the JWT issuer; without it, http://localhost)');
    if (!config.database.url) read.problems.push('DATABASE_URL must be set in production (the embedded PostgreSQL is for development)');
    if (!config.mail.smtpUrl) read.problems.push('SMTP_URL must be set in production (mails would only be logged)');
  }

  // A cap under the sliding lifetime would make REFRESH_TOKEN_TTL_SECONDS meaningless (and the
  // cookie outlive its session): more likely a slip of units than a wish.
  if (config.tokens.sessionMaxLifetimeSeconds < config.tokens.refreshTtlSeconds) {
    read.problems.push(
      `SESSION_MAX_LIFETIME_SECONDS (${config.tokens.sessionMaxLifetimeSeconds}) must be at least REFRESH_TOKEN_TTL_SECONDS (${config.tokens.refreshTtlSeconds}): a session lives at most the one, and at most the other without a refresh`,
    );
  }
  // The per-address mail cap counts the mails the outbox still holds; the retention worker deletes
  // them after MAIL_RETENTION_DAYS, and a longer window would count only part of itself.
  if (config.rateLimits.mail_email.windowSeconds > config.retention.mailDays * 86_400) {
    read.problems.push(
      `RATE_LIMIT_MAIL_EMAIL's window (${config.rateLimits.mail_email.windowSeconds} s) must be at most MAIL_RETENTION_DAYS (${config.retention.mailDays * 86_400} s): the cap counts the mails the outbox still holds`,
    );
  }
  if (config.redisCluster) {
    if (!config.redisUrl) read.problems.push('REDIS_CLUSTER is set without REDIS_URL: name a node of the cluster (its configuration endpoint)');
    // A cluster has database 0 only; a number in the URL would be silently ignored.
    else if (!['', '/', '/0'].includes(safePath(config.redisUrl))) read.problems.push('REDIS_URL names a database number, which a Redis Cluster does not have (REDIS_CLUSTER is set): leave the path out');
  }
  if (env.AUTH_CACHE_MAX_ENTRIES?.trim()) {
    read.problems.push('AUTH_CACHE_MAX_ENTRIES is replaced by AUTH_CACHE_MAX_MB: one bound in MiB on all the authentication caches together (docs/capacity.md)');
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}
