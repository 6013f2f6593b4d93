import { ApiKeyAuthenticator } from '../../src/api-keys/api-key-authenticator';
import { ApiKeyCache } from '../../src/api-keys/api-key-cache';
import { generateApiKey, hashApiKey } from '../../src/api-keys/api-key-format';
import { ActiveApiKey, ApiKeysRepository } from '../../src/api-keys/api-key.repository';
import { AuthenticatedUser } from '../../src/common/auth/principal';
import { UsersService } from '../../src/users/users.service';

const USER: AuthenticatedUser = {
  id: '11111111-1111-4111-8111-111111111111',
  email: 'ada@example.com',
  emailConfirmedAt: new Date('2024-01-01T00:00:00.000Z'),
  createdAt: new Date('2024-01-01T00:00:00.000Z'),
  updatedAt: new Date('2024-01-01T00:00:00.000Z'),
};

/** Stands in for the table: keys by hash, with a count of lookups and an optional outage. */
class FakeRepository {
  readonly rows = new Map<string, ActiveApiKey>();
  lookups = 0;
  down = false;

  async findActiveByHash(keyHash: string): Promise<ActiveApiKey | null> {
    this.lookups++;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const row = this.rows.get(keyHash);
    return row && (row.expiresAt === null || row.expiresAt > Date.now()) ? row : null;
  }
}

describe('ApiKeyAuthenticator', () => {
  let repository: FakeRepository;
  let cache: ApiKeyCache;
  let authenticator: ApiKeyAuthenticator;
  let users: { findAuthenticatedUser: jest.Mock; findCachedAuthenticatedUser: jest.Mock };

  beforeEach(() => {
    repository = new FakeRepository();
    cache = new ApiKeyCache(100);
    cache.resume();
    users = {
      findAuthenticatedUser: jest.fn(async (id: string) => (id === USER.id ? USER : null)),
      // The users cache holds what findAuthenticatedUser has answered before.
      findCachedAuthenticatedUser: jest.fn((id: string) => (users.findAuthenticatedUser.mock.calls.some(([seen]) => seen === id) && id === USER.id ? USER : undefined)),
    };
    authenticator = new ApiKeyAuthenticator(cache, repository as unknown as ApiKeysRepository, users as unknown as UsersService);
  });

  afterEach(() => jest.useRealTimers());

  function store(key: string, id = 'key-1', expiresAt: number | null = null, userId = USER.id): void {
    repository.rows.set(hashApiKey(key), { id, userId, expiresAt });
  }

  it('answers the principal for an active key', async () => {
    const { key } = generateApiKey();
    store(key);
    await expect(authenticator.authenticate(key)).resolves.toEqual({ user: USER, method: 'api_key', api_key_id: 'key-1' });
  });

  it('rejects a malformed key or a wrong checksum without a lookup', async () => {
    const { key } = generateApiKey();
    store(key);
    const last = key.at(-1) === 'a' ? 'b' : 'a';
    for (const bad of [key.slice(0, -1) + last, key.slice(0, 43), 'atiru_nope', `${key}x`]) {
      await expect(authenticator.authenticate(bad)).resolves.toBeNull();
    }
    expect(repository.lookups).toBe(0);
    expect(users.findAuthenticatedUser).not.toHaveBeenCalled();
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
    expect(authenticator.authenticateFromMemory(key)).toEqual({ user: USER, method: 'api_key', api_key_id: 'key-1' });
    expect(repository.lookups).toBe(1);
  });

  it('remembers the hash of accepted keys only, so the hot path hashes nothing', async () => {
    const { key } = generateApiKey();
    store(key);
    const unknown = generateApiKey().key;
    await authenticator.authenticate(key);
    await authenticator.authenticate(unknown);
    expect(cache.knownHash(key)).toBe(hashApiKey(key));
    expect(cache.knownHash(unknown)).toBeUndefined();
    // A remembered hash is not a pass: the entry it names decides, and a revoked key has none.
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

  it('lets a failure of the user lookup through too', async () => {
    const { key } = generateApiKey();
    store(key);
    users.findAuthenticatedUser.mockRejectedValueOnce(Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' }));
    await expect(authenticator.authenticate(key)).rejects.toMatchObject({ code: '57P01' });
  });
});
