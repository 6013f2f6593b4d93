import { randomBytes, randomInt } from 'node:crypto';
import { Client } from 'pg';

/** A setup step met a 404: the endpoint it needs is not built yet, so its scenario is skipped. */
export class EndpointMissingError extends Error {}

export interface Account {
  email: string;
  password: string;
}

const PASSWORD = 'bench-password-1';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Requests in flight while seeding: enough to keep the hashing threads busy. */
const SEED_CONCURRENCY = 8;

/**
 * Creates what the scenarios need through the service's own HTTP API (register, login, create
 * and revoke API keys); only the email confirmation, whose link travels by mail, is done
 * directly in the database. Pools grow on demand and are shared, so `accessTokens(1)` is the
 * first of `accessTokens(1000)`.
 */
export class Seeder {
  private readonly accounts: Account[] = [];
  private readonly tokens: string[] = [];
  private readonly keys: string[] = [];
  private revokedKey?: string;
  private db?: Client;
  private readonly runId = randomBytes(3).toString('hex');

  constructor(
    private readonly baseUrl: string,
    private readonly databaseUrl: string,
    /** How many distinct credentials the "1,000 credentials" scenarios use. */
    readonly many: number,
  ) {}

  /** Registered users whose email is confirmed, so they can log in. */
  async confirmedAccounts(count: number): Promise<Account[]> {
    if (this.accounts.length < count) {
      const fresh = Array.from({ length: count - this.accounts.length }, (_, i) => ({
        email: `bench-${this.runId}-${this.accounts.length + i}@example.com`,
        password: PASSWORD,
      }));
      await mapLimited(fresh, SEED_CONCURRENCY, (account) => this.call('POST', '/auth/register', { body: account }, 201));
      const db = await this.database();
      // What each registration's confirmation link would do: it becomes a confirmed user, and the
      // address's registrations go (one left behind would cost every login a second hash).
      const { rowCount } = await db.query(
        `WITH confirmed AS (
           INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at)
           SELECT DISTINCT ON (email) id, email, password_hash, now(), created_at FROM registrations
            WHERE email = ANY($1::text[]) ORDER BY email, created_at DESC
           RETURNING email),
         discarded AS (DELETE FROM registrations WHERE email IN (SELECT email FROM confirmed))
         SELECT email FROM confirmed`,
        [fresh.map((a) => a.email)],
      );
      if (rowCount !== fresh.length) throw new Error(`confirmed ${rowCount} of ${fresh.length} registered bench users: were they stored?`);
      this.accounts.push(...fresh);
    }
    return this.accounts.slice(0, count);
  }

  /** One access token (JWT) per user, from a real login. */
  async accessTokens(count: number): Promise<string[]> {
    if (this.tokens.length < count) {
      const accounts = (await this.confirmedAccounts(count)).slice(this.tokens.length);
      const fresh = await mapLimited(accounts, SEED_CONCURRENCY, async (account) => {
        const body = await this.call('POST', '/auth/login', { body: account }, 200);
        return requiredString(body?.session?.access_token, 'POST /auth/login: session.access_token');
      });
      this.tokens.push(...fresh);
    }
    return this.tokens.slice(0, count);
  }

  /** One API key per user, so distinct keys also mean distinct users. */
  async apiKeys(count: number): Promise<string[]> {
    if (this.keys.length < count) {
      const tokens = (await this.accessTokens(count)).slice(this.keys.length);
      const fresh = await mapLimited(tokens, SEED_CONCURRENCY, async (token) => (await this.createApiKey(token, 'bench')).key);
      this.keys.push(...fresh);
    }
    return this.keys.slice(0, count);
  }

  /** A real key of the first user, revoked at once. */
  async revokedApiKey(): Promise<string> {
    if (!this.revokedKey) {
      const [token] = await this.accessTokens(1);
      const { id, key } = await this.createApiKey(token, 'bench-revoked');
      await this.call('DELETE', `/auth/api-keys/${encodeURIComponent(id)}`, { token }, 204);
      this.revokedKey = key;
    }
    return this.revokedKey;
  }

  /**
   * Well-formed keys (`atiru_`, 32 random and 6 checksum characters) whose checksum is random,
   * hence wrong but for a one-in-56-billion chance: the service can reject them unread.
   */
  badChecksumKeys(count: number): string[] {
    const base62 = (length: number) => Array.from({ length }, () => BASE62[randomInt(62)]).join('');
    return Array.from({ length: count }, () => `atiru_${base62(32)}${base62(6)}`);
  }

  /**
   * Waits until the mails the seeding's registrations queued have gone out: the outbox sends them
   * after the requests have been answered, and the timed runs should not share the machine with it.
   */
  async untilMailSent(timeoutMs = 60_000): Promise<void> {
    const db = await this.database();
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
      const { rows } = await db.query<{ pending: string }>(`SELECT count(*) AS pending FROM mail_outbox WHERE status = 'pending'`);
      if (rows[0].pending === '0') return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async close(): Promise<void> {
    await this.db?.end();
    this.db = undefined;
  }

  private async createApiKey(token: string, name: string): Promise<{ id: string; key: string }> {
    const body = await this.call('POST', '/auth/api-keys', { token, body: { name } }, 201);
    return { id: requiredString(body?.id, 'POST /auth/api-keys: id'), key: requiredString(body?.key, 'POST /auth/api-keys: key') };
  }

  private async database(): Promise<Client> {
    if (!this.db) {
      this.db = new Client({ connectionString: this.databaseUrl });
      await this.db.connect();
    }
    return this.db;
  }

  private async call(method: string, path: string, options: { body?: unknown; token?: string }, expectStatus: number): Promise<any> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    if (response.status === expectStatus) return text ? JSON.parse(text) : undefined;
    const route = `${method} ${path.replace(/\/[0-9a-f-]{36}$/, '/:id')}`;
    if (response.status === 404) throw new EndpointMissingError(`${route} answers 404`);
    const hint = response.status === 429 ? ' (rate limited: raise the service\'s limits for the benchmark through its environment)' : '';
    throw new Error(`seeding: ${route} answered ${response.status}, expected ${expectStatus}${hint}: ${text.slice(0, 300)}`);
  }
}

function requiredString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`seeding: ${what} is missing from the response`);
  return value;
}

async function mapLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
