import { Logger } from '@nestjs/common';
import { SigningKeyRing, UNKNOWN_KID_RELOAD_INTERVAL_MS } from '../../src/auth/keys/signing-key.ring';
import { GeneratedKeyPair, generateSigningKeyPair } from '../../src/auth/keys/signing-key-material';
import { NEW_KEY_SIGNS_AFTER_MS, SigningKeysService, StoredSigningKey } from '../../src/auth/keys/signing-keys.service';
import { Clock } from '../../src/common/time/clock';
import { loadConfig } from '../../src/config/app-config';

/** Time that moves only when the test moves it. */
class FakeClock extends Clock {
  private at = Date.parse('2027-03-01T12:00:00.000Z');

  override nowMs(): number {
    return this.at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

/** The database side of the keys, in memory: the ring is what is under test. */
class FakeKeys {
  stored: StoredSigningKey[] = [];
  reads = 0;

  constructor(private readonly clock: Clock) {}

  add(pair: GeneratedKeyPair, retireAt: Date | null = null): void {
    this.stored.unshift({ kid: pair.kid, publicKeyPem: pair.publicKeyPem, privateKeyEncrypted: pair.privateKeyPem, createdAt: this.clock.now(), retireAt });
  }

  /** What SigningKeysService.rotate leaves in the database: the newest key retires in an hour, `pair` is added. */
  rotateTo(pair: GeneratedKeyPair): void {
    this.stored.find((key) => key.retireAt === null)!.retireAt = new Date(this.clock.now().getTime() + 3_600_000);
    this.add(pair);
  }

  async findUsable(): Promise<StoredSigningKey[]> {
    this.reads++;
    return this.stored.filter((key) => key.retireAt === null || key.retireAt > this.clock.now()).map((key) => ({ ...key }));
  }

  async ensureCurrentKey(): Promise<void> {
    if (!this.stored.some((key) => key.retireAt === null)) this.add(await generateSigningKeyPair());
  }

  /** Keys sealed with another secret than this instance's: opening them fails. */
  readonly sealedElsewhere = new Set<string>();

  async openPrivateKey(key: StoredSigningKey): Promise<string> {
    if (this.sealedElsewhere.has(key.kid)) throw new Error(`cannot open signing key ${key.kid}`);
    return key.privateKeyEncrypted;
  }
}

describe('SigningKeyRing', () => {
  let clock: FakeClock;
  let keys: FakeKeys;
  let ring: SigningKeyRing;
  let first: GeneratedKeyPair;
  let second: GeneratedKeyPair;
  let third: GeneratedKeyPair;

  const newRing = () => new SigningKeyRing(keys as unknown as SigningKeysService, loadConfig({ NODE_ENV: 'test' }), clock);
  const published = (on = ring) => on.jwks().keys.map((key) => key.kid).sort();

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    [first, second, third] = await Promise.all([generateSigningKeyPair(), generateSigningKeyPair(), generateSigningKeyPair()]);
  });

  beforeEach(async () => {
    clock = new FakeClock();
    keys = new FakeKeys(clock);
    keys.add(first);
    // An installation that has signed with its first key for a while.
    clock.advance(86_400_000);
    ring = newRing();
    await ring.reload();
  });

  it('keeps to SIGNING_KEY_PEM when a token names a kid it does not know: no database key is read or made', async () => {
    keys.stored = [];
    const pem = new SigningKeyRing(keys as unknown as SigningKeysService, loadConfig({ NODE_ENV: 'test', SIGNING_KEY_PEM: second.privateKeyPem }), clock);
    await pem.onModuleInit();
    const reads = keys.reads;
    expect(await pem.resolveUnknownKid('a-kid-anyone-can-send')).toBeUndefined();
    clock.advance(UNKNOWN_KID_RELOAD_INTERVAL_MS);
    await pem.reload();
    expect({ reads: keys.reads, stored: keys.stored.length }).toEqual({ reads, stored: 0 });
    expect(pem.signingKey().kid).toBe(second.kid);
    expect(published(pem)).toEqual([second.kid]);
    // Nothing to hear either: no rotation listener to report on.
    expect(pem.hearingRotations).toBeUndefined();
    await pem.onModuleDestroy();
  });

  it('signs with a lone key at once', async () => {
    keys.stored = [];
    keys.add(second);
    const fresh = newRing();
    await fresh.reload();
    expect(fresh.signingKey().kid).toBe(second.kid);
    expect(published(fresh)).toEqual([second.kid]);
  });

  it('publishes a rotated-in key at once, and signs with it only once it has been published for NEW_KEY_SIGNS_AFTER_MS', async () => {
    keys.rotateTo(second);
    await ring.reload();
    expect(published()).toEqual([first.kid, second.kid].sort());
    expect(ring.verificationKey(second.kid)).toBeDefined();
    expect(ring.signingKey().kid).toBe(first.kid);

    clock.advance(NEW_KEY_SIGNS_AFTER_MS - 1);
    expect(ring.signingKey().kid).toBe(first.kid);
    // No reload in between: the ring opened the key ahead and switches on the clock.
    const readsBefore = keys.reads;
    clock.advance(1);
    expect(ring.signingKey().kid).toBe(second.kid);
    expect(keys.reads).toBe(readsBefore);
    expect(ring.verificationKey(first.kid)).toBeDefined();
    expect(published()).toEqual([first.kid, second.kid].sort());
  });

  it('switches every instance at the same instant, whenever each read the keys, from the creation time', async () => {
    keys.rotateTo(second);
    await ring.reload();
    clock.advance(NEW_KEY_SIGNS_AFTER_MS - 10_000);
    const late = newRing();
    await late.reload();
    expect([ring.signingKey().kid, late.signingKey().kid]).toEqual([first.kid, first.kid]);
    clock.advance(10_000);
    expect([ring.signingKey().kid, late.signingKey().kid]).toEqual([second.kid, second.kid]);
  });

  it('signs with each of two quick rotations in turn, each once it has been published for the wait', async () => {
    keys.rotateTo(second);
    clock.advance(30_000);
    keys.rotateTo(third);
    await ring.reload();
    expect(published()).toEqual([first.kid, second.kid, third.kid].sort());
    expect(ring.signingKey().kid).toBe(first.kid);
    clock.advance(NEW_KEY_SIGNS_AFTER_MS - 30_000);
    expect(ring.signingKey().kid).toBe(second.kid);
    clock.advance(30_000);
    expect(ring.signingKey().kid).toBe(third.kid);
  });

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
    const readsBefore = keys.reads;
    expect(await ring.resolveUnknownKid('garbage-1')).toBeUndefined();
    expect(keys.reads).toBe(readsBefore + 1);

    // A rotation lands in the database; within the interval, unknown kids do not reach it.
    keys.rotateTo(second);
    expect(await ring.resolveUnknownKid(second.kid)).toBeUndefined();
    expect(await ring.resolveUnknownKid('garbage-2')).toBeUndefined();
    expect(keys.reads).toBe(readsBefore + 1);

    clock.advance(UNKNOWN_KID_RELOAD_INTERVAL_MS);
    expect(await ring.resolveUnknownKid(second.kid)).toBeDefined();
    expect(keys.reads).toBe(readsBefore + 2);
    expect(ring.verificationKey(first.kid)).toBeDefined();
  });

  it('shares one read among concurrent unknown kids', async () => {
    const readsBefore = keys.reads;
    keys.rotateTo(second);
    const found = await Promise.all(Array.from({ length: 20 }, () => ring.resolveUnknownKid(second.kid)));
    expect(found.every((key) => key !== undefined)).toBe(true);
    expect(keys.reads).toBe(readsBefore + 1);
  });

  it('reads again after a read under way, so a reload sees every change made before it was asked for', async () => {
    const readsBefore = keys.reads;
    const underway = ring.reload();
    keys.rotateTo(second);
    await Promise.all([ring.reload(), ring.reload(), underway]);
    expect(keys.reads).toBe(readsBefore + 2);
    expect(published()).toEqual([first.kid, second.kid].sort());
  });

  it('stops verifying and publishing a retiring key at its retire time, without a reload', async () => {
    keys.rotateTo(second);
    keys.stored[1].retireAt = new Date(clock.now().getTime() + 10_000);
    await ring.reload();
    expect(published()).toEqual([first.kid, second.kid].sort());
    expect(ring.verificationKey(first.kid)).toBeDefined();

    clock.advance(10_000);
    expect(ring.verificationKey(first.kid)).toBeUndefined();
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([second.kid]);
    expect(ring.verificationKey(second.kid)).toBeDefined();
  });

  it('drops keys retired at once at its next read, signs with the only key left at once, and says so at warn', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    keys.rotateTo(second);
    await ring.reload();
    // What SigningKeysService.retireNow leaves in the database: every key retired now, and a new one.
    for (const key of keys.stored) key.retireAt = clock.now();
    keys.add(third);
    await ring.reload();
    expect(ring.verificationKey(first.kid)).toBeUndefined();
    expect(ring.verificationKey(second.kid)).toBeUndefined();
    expect(published()).toEqual([third.kid]);
    expect(ring.signingKey().kid).toBe(third.kid);
    expect(warned.mock.calls.map(([message]) => message).sort()).toEqual(
      [first.kid, second.kid].sort().map((kid) => `signing key ${kid} was retired at once: tokens it signed are refused from now on`),
    );
    warned.mockRestore();
  });

  it('says nothing of a key that retires at its time', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    keys.rotateTo(second);
    await ring.reload();
    clock.advance(3_600_000);
    await ring.reload();
    expect(published()).toEqual([second.kid]);
    expect(warned).not.toHaveBeenCalled();
    warned.mockRestore();
  });

  it('answers 503 rather than sign with a key that has retired when the key after it cannot be opened here, and signs again once one can', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    // Retired at once, and its successor sealed with a secret this instance does not hold.
    keys.stored[0].retireAt = clock.now();
    keys.add(second);
    keys.sealedElsewhere.add(second.kid);
    clock.advance(1);
    await ring.reload();
    expect(published()).toEqual([second.kid]);
    expect(() => ring.signingKey()).toThrow(expect.objectContaining({ code: 'SERVER_BUSY' }));

    keys.sealedElsewhere.clear();
    await ring.reload();
    expect(ring.signingKey().kid).toBe(second.kid);
    errors.mockRestore();
  });

  it('reads the keys again when told that a key it verifies with has retired, and not for a key it does not know', async () => {
    keys.rotateTo(second);
    await ring.reload();
    for (const key of keys.stored) key.retireAt = clock.now();
    keys.add(third);
    const reads = keys.reads;
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    ring.retiredElsewhere('a-kid-anyone-can-send');
    expect(keys.reads).toBe(reads);
    // However many tokens say so at once: one read under way, and at most one more after it.
    for (let told = 0; told < 10; told++) ring.retiredElsewhere(first.kid);
    // The reload it starts, and nothing else, brings the new key.
    for (let turn = 0; turn < 100 && published()[0] !== third.kid; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(published()).toEqual([third.kid]);
    expect(keys.reads).toBeGreaterThan(reads);
    expect(keys.reads).toBeLessThanOrEqual(reads + 2);
    warned.mockRestore();
  });

  it('publishes the JWKS members of each key', () => {
    expect(ring.jwks()).toEqual({ keys: [{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: first.kid, alg: 'ES256', use: 'sig' }] });
  });

  it('refuses to start with a current key it cannot use', async () => {
    keys.stored = [{ kid: second.kid, publicKeyPem: second.publicKeyPem, privateKeyEncrypted: first.privateKeyPem, createdAt: clock.now(), retireAt: null }];
    const fresh = newRing();
    await expect(fresh.reload()).rejects.toThrow(/does not match/);
    expect(() => fresh.signingKey()).toThrow(/not loaded/);
  });

  it('keeps signing with its key, and verifies with the new one, when a rotated-in key cannot be opened once it is due', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    keys.rotateTo(second);
    keys.stored[0].privateKeyEncrypted = first.privateKeyPem;
    clock.advance(NEW_KEY_SIGNS_AFTER_MS);
    await ring.reload();
    expect(ring.signingKey().kid).toBe(first.kid);
    expect(ring.verificationKey(second.kid)).toBeDefined();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining(`signing with key ${first.kid}: cannot use key ${second.kid}`));
    logged.mockRestore();
  });

  it('starts signing with a rotated-in key at once when the previous one cannot be opened, as after rotating away a lost secret', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    keys.rotateTo(second);
    keys.stored[1].privateKeyEncrypted = second.privateKeyPem;
    const fresh = newRing();
    await fresh.reload();
    expect(fresh.signingKey().kid).toBe(second.kid);
    expect(published(fresh)).toEqual([first.kid, second.kid].sort());
    expect(logged).toHaveBeenCalledWith(expect.stringContaining(`signing with key ${second.kid}: cannot use key ${first.kid}`));
    logged.mockRestore();
  });
});
