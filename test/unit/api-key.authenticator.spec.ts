import { ApiKeyAuthenticator } from '../../src/api-keys/api-key.authenticator';
import { ApiKeyCache } from '../../src/api-keys/api-key.cache';
import { generateApiKey, hashApiKey } from '../../src/api-keys/api-key-format';
import { ActiveApiKey, ApiKeysRepository } from '../../src/api-keys/api-keys.repository';
import { AuthenticatedUser } from '../../src/common/auth/principal';
import { MemoryBudget } from '../../src/common/cache/memory.budget';
import { UsersService } from '../../src/users/users.service';
import { Gate } from '../support/gate';

const USER: AuthenticatedUser = {
  id: '11111111-1111-4111-8111-111111111111',
  email: 'ada@example.com',
  emailConfirmedAt: new Date('2024-01-01T00:00:00.000Z'),
  createdAt: new Date('2024-01-01T00:00:00.000Z'),
  updatedAt: new Date('2024-01-01T00:00:00.000Z'),
};

/**
 * Stands in for the tables: keys by hash joined with their user (only USER exists), with a count
 * of lookups, an optional outage, and an optional gate that holds every lookup until opened.
 */
class FakeRepository {
  readonly rows = new Map<string, ActiveApiKey>();
  lookups = 0;
  down = false;
  readonly gate = new Gate();

  async findActiveWithUserByHash(keyHash: string): Promise<{ key: ActiveApiKey; user: AuthenticatedUser } | null> {
    this.lookups++;
    // Read when the statement runs, as the database would.
    const row = this.rows.get(keyHash);
    const down = this.down;
    await this.gate.passage();
    if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    return row && row.userId === USER.id && (row.expiresAt === null || row.expiresAt > Date.now()) ? { key: row, user: USER } : null;
  }
}

describe('ApiKeyAuthenticator', () => {
  let repository: FakeRepository;
  let cache: ApiKeyCache;
  let authenticator: ApiKeyAuthenticator;
  let usersCached: Set<string>;

  beforeEach(() => {
    repository = new FakeRepository();
    cache = new ApiKeyCache(new MemoryBudget(1024 * 1024));
    // Revocations proven heard for the whole test.
    cache.resume(Date.now() + 3_600_000);
    // The users cache holds the users that reads through it have found.
    usersCached = new Set();
    const users = {
      readAuthenticatedUser: async <T extends { user: AuthenticatedUser }>(read: () => Promise<T | null>) => {
        const found = await read();
        if (found) usersCached.add(found.user.id);
        return found;
      },
      findCachedAuthenticatedUser: (id: string) => (usersCached.has(id) ? USER : undefined),
    };
    authenticator = new ApiKeyAuthenticator(cache, repository as unknown as ApiKeysRepository, users as unknown as UsersService);
  });

  afterEach(() => jest.useRealTimers());

  function store(key: string, id = 'key-1', expiresAt: number | null = null, userId = USER.id): void {
    repository.rows.set(hashApiKey(key), { id, userId, expiresAt, createdAt: 0, scopes: null });
  }

  it('answers the principal for an active key', async () => {
    const { key } = generateApiKey();
    store(key);
    await expect(authenticator.authenticate(key)).resolves.toEqual({ user: USER, method: 'api_key', api_key_id: 'key-1', issued_at: 0 });
  });

  it('rejects a malformed key or a wrong checksum without a lookup', async () => {
    const { key } = generateApiKey();
    store(key);
    const last = key.at(-1) === 'a' ? 'b' : 'a';
    for (const bad of [key.slice(0, -1) + last, key.slice(0, 43), 'atiru_nope', `${key}x`]) {
      await expect(authenticator.authenticate(bad)).resolves.toBeNull();
    }
    expect(repository.lookups).toBe(0);
  });

  it('reads the database once per key, then answers from the cache', async () => {
    const { key } = generateApiKey();
    store(key);
    for (let index = 0; index < 5; index++) expect(await authenticator.authenticate(key)).not.toBeNull();
    expect(repository.lookups).toBe(1);
  });

  it('answers from memory, synchronously, only for a key and a user seen before', async () => {
    const { key } = generateApiKey();
    store(key);
    expect(authenticator.authenticateFromMemory(key)).toBeUndefined();
    expect(repository.lookups).toBe(0);
    await authenticator.authenticate(key);
    expect(authenticator.authenticateFromMemory(key)).toEqual({ user: USER, method: 'api_key', api_key_id: 'key-1', issued_at: 0 });
    expect(repository.lookups).toBe(1);
  });

  it('knows accepted keys as presented, so the hot path hashes nothing', async () => {
    const { key } = generateApiKey();
    store(key);
    const unknown = generateApiKey().key;
    await authenticator.authenticate(key);
    await authenticator.authenticate(unknown);
    expect(cache.known(key, Date.now())).toMatchObject({ id: 'key-1' });
    expect(cache.known(unknown, Date.now())).toBeUndefined();
    // A revocation drops the key however it is found.
    cache.forget(hashApiKey(key));
    expect(authenticator.authenticateFromMemory(key)).toBeUndefined();
    repository.rows.delete(hashApiKey(key));
    await expect(authenticator.authenticate(key)).resolves.toBeNull();
  });

  it('leaves malformed, rejected and not-yet-served keys to authenticate', async () => {
    const { key } = generateApiKey();
    expect(authenticator.authenticateFromMemory('atiru_nope')).toBeUndefined();
    await expect(authenticator.authenticate(key)).resolves.toBeNull(); // unknown: remembered as rejected
    expect(authenticator.authenticateFromMemory(key)).toBeUndefined();
    const other = generateApiKey().key;
    store(other, 'key-2');
    await authenticator.authenticate(other);
    cache.suspend();
    expect(authenticator.authenticateFromMemory(other)).toBeUndefined();
  });

  it('remembers an unknown key as rejected', async () => {
    const { key } = generateApiKey();
    expect(await authenticator.authenticate(key)).toBeNull();
    expect(await authenticator.authenticate(key)).toBeNull();
    expect(repository.lookups).toBe(1);
  });

  it('reads the database every time while revocations cannot be heard', async () => {
    const { key } = generateApiKey();
    store(key);
    cache.suspend();
    await authenticator.authenticate(key);
    await authenticator.authenticate(key);
    expect(repository.lookups).toBe(2);
  });

  it('rejects a cached key once it expires, without asking the database', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00.000Z') });
    const { key } = generateApiKey();
    store(key, 'key-1', Date.parse('2026-01-01T00:00:05.000Z'));
    expect(await authenticator.authenticate(key)).not.toBeNull();
    jest.setSystemTime(new Date('2026-01-01T00:00:05.000Z'));
    expect(await authenticator.authenticate(key)).toBeNull();
    expect(repository.lookups).toBe(1);
  });

  it('rejects a revoked key on the next request', async () => {
    const { key } = generateApiKey();
    store(key);
    expect(await authenticator.authenticate(key)).not.toBeNull();
    repository.rows.delete(hashApiKey(key));
    cache.forget(hashApiKey(key));
    expect(await authenticator.authenticate(key)).toBeNull();
  });

  it('rejects a key whose user is gone', async () => {
    const { key } = generateApiKey();
    store(key, 'key-1', null, '22222222-2222-4222-8222-222222222222');
    expect(await authenticator.authenticate(key)).toBeNull();
  });

  it('lets a database failure through instead of rejecting the key', async () => {
    const { key } = generateApiKey();
    store(key);
    repository.down = true;
    await expect(authenticator.authenticate(key)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    repository.down = false;
    expect(await authenticator.authenticate(key)).not.toBeNull(); // the failure was not cached as a rejection
  });

  it('reads a key once however many requests bring it at once, and the user with it', async () => {
    const { key } = generateApiKey();
    store(key);
    repository.gate.hold();
    const answers = Array.from({ length: 20 }, () => authenticator.authenticate(key));
    repository.gate.release();
    const principals = await Promise.all(answers);
    expect(principals.every((principal) => principal?.api_key_id === 'key-1')).toBe(true);
    expect(repository.lookups).toBe(1);
  });

  it('answers every request that shared a failed read with the same failure, and reads again after', async () => {
    const { key } = generateApiKey();
    store(key);
    repository.down = true;
    repository.gate.hold();
    const answers = Array.from({ length: 10 }, () => authenticator.authenticate(key).then(() => 'admitted', (error) => error.code));
    repository.gate.release();
    expect(await Promise.all(answers)).toEqual(Array(10).fill('ECONNREFUSED'));
    expect(repository.lookups).toBe(1);
    repository.down = false;
    expect(await authenticator.authenticate(key)).not.toBeNull();
    expect(repository.lookups).toBe(2);
  });

  it('does not let a request that comes after a revocation join a read that began before it', async () => {
    const { key } = generateApiKey();
    store(key);
    repository.gate.hold();
    const before = authenticator.authenticate(key); // reads the key while it is still active
    repository.rows.delete(hashApiKey(key));
    cache.forget(hashApiKey(key)); // the revocation is heard while that read is in flight
    const after = authenticator.authenticate(key);
    repository.gate.release();
    expect(await before).not.toBeNull(); // it came before the revocation
    expect(await after).toBeNull();
    expect(repository.lookups).toBe(2);
    // Nor did the overtaken read put the key back in the cache.
    expect(cache.known(key, Date.now())).toBeUndefined();
    expect(await authenticator.authenticate(key)).toBeNull();
  });
});
