import { Injectable } from '@nestjs/common';
import { AuthenticatedUser, Principal } from '../common/auth/principal';
import { UsersService } from '../users/users.service';
import { ApiKeyCache, CachedApiKey } from './api-key.cache';
import { hashApiKey, parseApiKey } from './api-key-format';
import { ApiKeysRepository } from './api-keys.repository';

/** What one read of the database answered about a key: the key and its user, or no active key. */
type KeyRead = { key: CachedApiKey; user: AuthenticatedUser } | 'rejected';

/**
 * Turns a presented API key into a principal, or null. A malformed key or a wrong checksum costs
 * no I/O; a key seen before costs no database read while the revocation listener is connected;
 * a key not seen before costs one read, which loads its user too, and which every request that
 * presents the same key meanwhile shares (so a cold instance reads each key once, however many
 * requests bring it). Database failures are thrown, never turned into a rejection: an outage is a
 * 503, not a 401, for every request that shared the read.
 * It logs nothing of a presented key: the guard's deny line says why a request was refused.
 */
@Injectable()
export class ApiKeyAuthenticator {
  /** The read in flight for each key hash, and the cache generation it began in. */
  private readonly reads = new Map<string, { snapshot: number; answer: Promise<KeyRead> }>();

  constructor(
    private readonly cache: ApiKeyCache,
    private readonly repository: ApiKeysRepository,
    private readonly users: UsersService,
  ) {}

  /**
   * The principal when the key and its user are both known to this instance's caches, without
   * I/O or a promise (the hot path); undefined when `authenticate` has to decide.
   */
  authenticateFromMemory(presented: string): Principal | undefined {
    const now = Date.now();
    const key = this.cache.known(presented, now);
    if (key === undefined) return undefined;
    const user = this.users.findCachedAuthenticatedUser(key.userId);
    return user === undefined ? undefined : this.use(key, user);
  }

  async authenticate(presented: string): Promise<Principal | null> {
    const parsed = parseApiKey(presented);
    // Nothing of a value that is not a well-formed key is logged: it may be another secret.
    if (!parsed) return null;
    const fromMemory = this.authenticateFromMemory(parsed.key);
    if (fromMemory !== undefined) return fromMemory;
    const keyHash = hashApiKey(parsed.key);
    const now = Date.now();
    if (this.cache.lookup(keyHash, now) === 'rejected') return null;
    // A key in memory whose user is not costs the same one read: it brings both.
    const found = await this.read(parsed.key, keyHash);
    return found === 'rejected' ? null : this.use(found.key, found.user);
  }

  /** The principal of an accepted key. Its use is noted once the guard has decided (ApiKeyUsageRecorder). */
  private use(key: CachedApiKey, user: AuthenticatedUser): Principal {
    return {
      user,
      method: 'api_key',
      api_key_id: key.id,
      scopes: key.scopes ?? undefined,
      issued_at: Math.floor(key.createdAt / 1000),
      expires_at: key.expiresAt === null ? undefined : Math.floor(key.expiresAt / 1000),
    };
  }

  /**
   * One read per key hash at a time. A request joins the read in flight only if no revocation
   * (nor a loss of the listener) has been heard since it began: a read that a revocation
   * overtook may answer with the revoked key, which only requests that came before it may get.
   */
  private read(presented: string, keyHash: string): Promise<KeyRead> {
    const inFlight = this.reads.get(keyHash);
    if (inFlight !== undefined && this.cache.current(inFlight.snapshot)) return inFlight.answer;
    const snapshot = this.cache.snapshot();
    const answer = this.readOnce(presented, keyHash, snapshot);
    this.reads.set(keyHash, { snapshot, answer });
    const done = () => {
      if (this.reads.get(keyHash)?.answer === answer) this.reads.delete(keyHash);
    };
    answer.then(done, done);
    return answer;
  }

  private async readOnce(presented: string, keyHash: string, snapshot: number): Promise<KeyRead> {
    const found = await this.users.readAuthenticatedUser(() => this.repository.findActiveWithUserByHash(keyHash));
    const now = Date.now();
    this.cache.remember(presented, keyHash, snapshot, found?.key ?? null, now);
    // The database compared with its own clock; the cache compares with ours: agree on ours.
    return found && (found.key.expiresAt === null || found.key.expiresAt > now) ? found : 'rejected';
  }
}
