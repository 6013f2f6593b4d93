import { Logger } from '@nestjs/common';
import { SigningKeyRing, UNKNOWN_KID_RELOAD_INTERVAL_MS } from '../../src/auth/keys/signing-key.ring';
import { GeneratedKeyPair, generateSigningKeyPair } from '../../src/auth/keys/signing-key-material';
import { SigningKeysService, StoredSigningKey } from '../../src/auth/keys/signing-keys.service';
import { loadConfig } from '../../src/config/app-config';

/** The database side of the keys, in memory: the ring is what is under test. */
class FakeKeys {
  stored: StoredSigningKey[] = [];
  reads = 0;

  add(pair: GeneratedKeyPair, retireAt: Date | null = null): void {
    this.stored.unshift({ kid: pair.kid, publicKeyPem: pair.publicKeyPem, privateKeyEncrypted: pair.privateKeyPem, retireAt });
  }

  async findUsable(): Promise<StoredSigningKey[]> {
    this.reads++;
    return this.stored.filter((key) => key.retireAt === null || key.retireAt.getTime() > Date.now()).map((key) => ({ ...key }));
  }

  async ensureCurrentKey(): Promise<void> {
    if (!this.stored.some((key) => key.retireAt === null)) this.add(await generateSigningKeyPair());
  }

  async openPrivateKey(key: StoredSigningKey): Promise<string> {
    return key.privateKeyEncrypted;
  }
}

describe('SigningKeyRing', () => {
  let keys: FakeKeys;
  let ring: SigningKeyRing;
  let first: GeneratedKeyPair;
  let second: GeneratedKeyPair;

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    [first, second] = await Promise.all([generateSigningKeyPair(), generateSigningKeyPair()]);
  });

  beforeEach(async () => {
    keys = new FakeKeys();
    keys.add(first);
    ring = new SigningKeyRing(keys as unknown as SigningKeysService, loadConfig({ NODE_ENV: 'test' }));
    await ring.reload();
  });

  afterEach(() => jest.useRealTimers());

  it('creates a key when the database has none', async () => {
    keys.stored = [];
    await ring.reload();
    expect(keys.stored).toHaveLength(1);
    expect(ring.signingKey().kid).toBe(keys.stored[0].kid);
  });

  it('signs with the current key and verifies with each usable one', async () => {
    expect(ring.signingKey().kid).toBe(first.kid);
    expect(ring.verificationKey(first.kid)?.asymmetricKeyType).toBe('ec');
    expect(ring.verificationKey(second.kid)).toBeUndefined();
  });

  it('re-reads the keys for an unknown kid, at most once per interval', async () => {
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['nextTick', 'setImmediate'] });
    const readsBefore = keys.reads;
    expect(await ring.resolveUnknownKid('garbage-1')).toBeUndefined();
    expect(keys.reads).toBe(readsBefore + 1);

    // A rotation lands in the database; within the interval, unknown kids do not reach it.
    keys.stored[0].retireAt = new Date(Date.now() + 3_600_000);
    keys.add(second);
    expect(await ring.resolveUnknownKid(second.kid)).toBeUndefined();
    expect(await ring.resolveUnknownKid('garbage-2')).toBeUndefined();
    expect(keys.reads).toBe(readsBefore + 1);

    jest.advanceTimersByTime(UNKNOWN_KID_RELOAD_INTERVAL_MS);
    expect(await ring.resolveUnknownKid(second.kid)).toBeDefined();
    expect(keys.reads).toBe(readsBefore + 2);
    expect(ring.signingKey().kid).toBe(second.kid);
    expect(ring.verificationKey(first.kid)).toBeDefined();
  });

  it('shares one read among concurrent unknown kids', async () => {
    const readsBefore = keys.reads;
    keys.stored[0].retireAt = new Date(Date.now() + 3_600_000);
    keys.add(second);
    const found = await Promise.all(Array.from({ length: 20 }, () => ring.resolveUnknownKid(second.kid)));
    expect(found.every((key) => key !== undefined)).toBe(true);
    expect(keys.reads).toBe(readsBefore + 1);
  });

  it('reads again after a read under way, so a reload sees every change made before it was asked for', async () => {
    const readsBefore = keys.reads;
    const underway = ring.reload();
    keys.stored[0].retireAt = new Date(Date.now() + 3_600_000);
    keys.add(second);
    await Promise.all([ring.reload(), ring.reload(), underway]);
    expect(keys.reads).toBe(readsBefore + 2);
    expect(ring.signingKey().kid).toBe(second.kid);
  });

  it('stops verifying and publishing a retiring key at its retire time, without a reload', async () => {
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['nextTick', 'setImmediate'] });
    keys.stored[0].retireAt = new Date(Date.now() + 10_000);
    keys.add(second);
    await ring.reload();
    expect(ring.jwks().keys.map((key) => key.kid).sort()).toEqual([first.kid, second.kid].sort());
    expect(ring.verificationKey(first.kid)).toBeDefined();

    jest.advanceTimersByTime(10_000);
    expect(ring.verificationKey(first.kid)).toBeUndefined();
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([second.kid]);
    expect(ring.verificationKey(second.kid)).toBeDefined();
  });

  it('publishes the JWKS members of each key', () => {
    expect(ring.jwks()).toEqual({ keys: [{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: first.kid, alg: 'ES256', use: 'sig' }] });
  });

  it('refuses to start with a current key it cannot use', async () => {
    keys.stored = [{ kid: second.kid, publicKeyPem: second.publicKeyPem, privateKeyEncrypted: first.privateKeyPem, retireAt: null }];
    const fresh = new SigningKeyRing(keys as unknown as SigningKeysService, loadConfig({ NODE_ENV: 'test' }));
    await expect(fresh.reload()).rejects.toThrow(/does not match/);
    expect(() => fresh.signingKey()).toThrow(/not loaded/);
  });

  it('keeps signing with its key, and verifies with the new one, when a rotated-in key cannot be opened', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    keys.stored[0].retireAt = new Date(Date.now() + 3_600_000);
    keys.stored.unshift({ kid: second.kid, publicKeyPem: second.publicKeyPem, privateKeyEncrypted: first.privateKeyPem, retireAt: null });
    await ring.reload();
    expect(ring.signingKey().kid).toBe(first.kid);
    expect(ring.verificationKey(second.kid)).toBeDefined();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining(`cannot use the new key ${second.kid}`));
    logged.mockRestore();
  });
});
