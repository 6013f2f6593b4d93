/**
 * `npm run bench:cache-memory`: what one cached credential costs the heap, measured rather than
 * estimated. Each kind of entry is stored COUNT times through the product's own caches (the API-key
 * cache, the JWT strategy's verified tokens with their session leases, the users cache's entries),
 * with strings shaped as the service sees them; the heap is measured after a full collection before
 * and after. It also prints what the memory budget charged for the same entries (its estimate),
 * so a drift between the two shows. Runs with --expose-gc in a process of its own.
 * The figures go into docs/capacity.md.
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ApiKeyCache } from '../src/api-keys/api-key.cache';
import { generateApiKey, hashApiKey } from '../src/api-keys/api-key-format';
import { SessionLeases } from '../src/auth/tokens/session-leases';
import { JwtStrategy } from '../src/auth/strategies/jwt.strategy';
import { BudgetedCache, MemoryBudget } from '../src/common/cache/memory.budget';
import { loadConfig } from '../src/config/app-config';
import { CachedUser } from '../src/users/cached-user';

const COUNT = Number(process.env.CACHE_MEMORY_COUNT ?? 200_000);
/** How many entries the fill functions store: COUNT, but for the warm-up pass. */
const COUNT_NOW = { value: COUNT };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterCollection(): number {
  for (let round = 0; round < 3; round++) gc();
  return process.memoryUsage().heapUsed;
}


/**
 * A string as pg or a request header hands it over: one flat string. Strings built here by
 * concatenation (randomUUID's among them) are V8 cons strings, several objects each, which would
 * make the entries look dearer than the service's are.
 */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** A user as the database returns it: fresh strings and Dates. */
function userRow(index: number) {
  const now = Date.now();
  return {
    id: flat(randomUUID()),
    email: flat(`someone-${index}@example.com`),
    emailConfirmedAt: new Date(now - 1000),
    createdAt: new Date(now - 2000),
    updatedAt: new Date(now - 1000),
  };
}

function users(budget: MemoryBudget, count: number): BudgetedCache<string, CachedUser> {
  // As UsersService keeps them.
  const cache = new BudgetedCache<string, CachedUser>(budget, (_id, user) => CachedUser.weigh(user));
  for (let index = 0; index < count; index++) {
    const user = CachedUser.of(userRow(index));
    cache.set(user.id, user);
  }
  return cache;
}

function apiKeys(budget: MemoryBudget, withUsers: boolean): unknown {
  const cache = new ApiKeyCache(budget);
  cache.resume(Number.MAX_SAFE_INTEGER); // revocations proven heard for the whole measurement
  const usersCache = withUsers ? new BudgetedCache<string, CachedUser>(budget, (_id, user) => CachedUser.weigh(user)) : undefined;
  for (let index = 0; index < COUNT_NOW.value; index++) {
    // The key as a header brings it: a string of its own, 44 characters.
    const presented = flat(generateApiKey().key);
    const user = CachedUser.of(userRow(index));
    usersCache?.set(user.id, user);
    // The key's user id is the user's own string (both come from one row of the joined read).
    cache.remember(presented, hashApiKey(presented), cache.snapshot(), { id: flat(randomUUID()), userId: user.id, expiresAt: null, createdAt: Date.now(), scopes: null }, Date.now());
  }
  return [cache, usersCache];
}

/** Access tokens shaped as the service signs them: an ES256 JWS with iss, aud, sub, email, sid, iat, exp. */
function accessToken(user: { id: string; email: string }, sid: string, kid: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = part({ alg: 'ES256', typ: 'JWT', kid });
  const payload = part({ iss: 'https://auth.example.com', aud: 'atiru', sub: user.id, email: user.email, sid, iat: now, exp: now + 3600 });
  return `${header}.${payload}.${randomBytes(64).toString('base64url')}`;
}

function accessTokens(budget: MemoryBudget, withUsers: boolean): unknown {
  const leases = new SessionLeases(Number.MAX_SAFE_INTEGER);
  leases.resume(Number.MAX_SAFE_INTEGER);
  const usersCache = withUsers ? new BudgetedCache<string, CachedUser>(budget, (_id, user) => CachedUser.weigh(user)) : undefined;
  const config = loadConfig({});
  const kid = randomUUID();
  let admitted: { user: CachedUser; lease: ReturnType<SessionLeases['lease']>; liveUntilMs: number } | undefined;
  // The strategy itself, with stand-ins for what it asks of the rest of the service: only its cache is measured.
  const byId = new Map<string, CachedUser>();
  const strategy = new JwtStrategy(
    { verificationKey: () => ({}) } as never,
    { findCachedAuthenticatedUser: (id: string) => byId.get(id) } as never,
    { admit: async () => admitted } as never,
    config,
    { use: () => undefined } as never,
    budget,
  );
  const pending: Array<Promise<unknown>> = [];
  for (let index = 0; index < COUNT_NOW.value; index++) {
    const user = CachedUser.of(userRow(index));
    usersCache?.set(user.id, user);
    const sid = flat(randomUUID());
    const token = flat(accessToken(user, sid, kid));
    admitted = { user, lease: leases.lease(user.id), liveUntilMs: Date.now() + 3_600_000 };
    // validate() remembers the token synchronously after admit() resolves; awaited below.
    pending.push(
      strategy
        .validate({ headers: { authorization: `Bearer ${token}` } }, { sub: user.id, sid, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 } as never)
        .then(() => {
          // One hit, as any token in use has had: it makes the principal the entry keeps.
          byId.set(user.id, user);
          if (strategy.fromMemory(`${token}`) === undefined) throw new Error('the token was not remembered');
          byId.delete(user.id);
        }),
    );
  }
  return Promise.all(pending).then(() => [strategy, leases, usersCache]);
}

const KINDS = {
  user: { name: 'user (users cache)', fill: (budget: MemoryBudget) => users(budget, COUNT_NOW.value) },
  key: { name: 'API key (key cache only)', fill: (budget: MemoryBudget) => apiKeys(budget, false) },
  'key-user': { name: 'API key with its own user', fill: (budget: MemoryBudget) => apiKeys(budget, true) },
  token: { name: 'access token (token cache and session lease)', fill: (budget: MemoryBudget) => accessTokens(budget, false) },
  'token-user': { name: 'access token with its own user', fill: (budget: MemoryBudget) => accessTokens(budget, true) },
} as const;
type Kind = keyof typeof KINDS;

/** In a child: one kind, measured after an unmeasured warm-up pass, its row sent to the parent. */
async function measureKind(kind: Kind): Promise<void> {
  // Once unmeasured, so that what the first use of each code path allocates for good is not counted.
  COUNT_NOW.value = 1000;
  await KINDS[kind].fill(new MemoryBudget(1e9));
  COUNT_NOW.value = COUNT;
  const budget = new MemoryBudget(64 * 1024 ** 3);
  const before = heapAfterCollection();
  const kept = await KINDS[kind].fill(budget);
  const after = heapAfterCollection();
  if (kept === undefined) throw new Error('nothing kept');
  process.send!({ name: KINDS[kind].name, heap: (after - before) / COUNT, charged: budget.bytes / COUNT });
}

/** Each kind in a process of its own, so that nothing one leaves behind is counted in another. */
async function main(): Promise<void> {
  const kind = process.argv[2] as Kind | undefined;
  if (kind !== undefined) return measureKind(kind);
  const rows: Array<{ name: string; heap: number; charged: number }> = [];
  for (const each of Object.keys(KINDS) as Kind[]) {
    rows.push(
      await new Promise((resolve, reject) => {
        const child = fork(__filename, [each], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        child.once('message', resolve);
        child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${each}: exit ${code}`))));
      }),
    );
  }
  console.log(`Node ${process.version}, ${COUNT.toLocaleString('en')} entries of each kind, heap after a full collection\n`);
  console.log('| cached | heap bytes each (measured) | bytes charged to AUTH_CACHE_MAX_MB | per million, MiB |');
  console.log('|---|---:|---:|---:|');
  for (const row of rows) {
    console.log(`| ${row.name} | ${Math.round(row.heap)} | ${Math.round(row.charged)} | ${Math.round((row.heap * 1e6) / 1024 ** 2)} |`);
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
