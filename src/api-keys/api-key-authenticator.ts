import { Injectable } from '@nestjs/common';
import { AuthenticatedUser, Principal } from '../common/auth/principal';
import { UsersService } from '../users/users.service';
import { ApiKeyCache, CachedApiKey } from './api-key-cache';
import { hashApiKey, parseApiKey } from './api-key-format';
import { ApiKeysRepository } from './api-key.repository';

/**
 * Turns a presented API key into a principal, or null. A malformed key or a wrong checksum costs
 * no I/O; a key seen before costs no database read while the revocation listener is connected.
 * Database failures are thrown, never turned into a rejection: an outage is a 503, not a 401.
 * It logs nothing of a presented key: the guard's deny line says why a request was refused.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    private readonly cache: ApiKeyCache,
    private readonly repository: ApiKeysRepository,
    private readonly users: UsersService,
  ) {}

  /**
   * The principal when the key and its user are both known to this instance's caches, without
   * I/O or a promise (the hot path); undefined when `authenticate` has to decide.
   *
   * No parsing and no hashing here: only a key that passed every check (shape, checksum, the
   * database) has its hash remembered, so finding one is proof enough of its form, and the
   * entry it names says whether the key still holds. Anything else falls to `authenticate`.
   */
  authenticateFromMemory(presented: string): Principal | undefined {
    const keyHash = this.cache.knownHash(presented);
    if (keyHash === undefined) return undefined;
    const now = Date.now();
    const key = this.cache.lookup(keyHash, now);
    if (key === undefined || key === 'rejected') return undefined;
    const user = this.users.findCachedAuthenticatedUser(key.userId);
    return user === undefined ? undefined : this.use(key, user);
  }

  async authenticate(presented: string): Promise<Principal | null> {
    const parsed = parseApiKey(presented);
    // Nothing of a value that is not a well-formed key is logged: it may be another secret.
    if (!parsed) return null;
    const keyHash = hashApiKey(parsed.key);
    const now = Date.now();
    const key = this.cache.lookup(keyHash, now) ?? (await this.lookUp(keyHash, now));
    if (key === 'rejected') return null;
    const user = await this.users.findAuthenticatedUser(key.userId);
    if (!user) return null;
    this.cache.rememberHash(parsed.key, keyHash);
    return this.use(key, user);
  }

  /** The principal of an accepted key. Its use is noted once the guard has decided (ApiKeyUsageRecorder). */
  private use(key: CachedApiKey, user: AuthenticatedUser): Principal {
    return { user, method: 'api_key', api_key_id: key.id };
  }

  private async lookUp(keyHash: string, now: number): Promise<CachedApiKey | 'rejected'> {
    const snapshot = this.cache.snapshot();
    const found = await this.repository.findActiveByHash(keyHash);
    const key = found ? { id: found.id, userId: found.userId, expiresAt: found.expiresAt } : null;
    this.cache.remember(keyHash, snapshot, key, now);
    // The database compared with its own clock; the cache compares with ours: agree on ours.
    return key && (key.expiresAt === null || key.expiresAt > now) ? key : 'rejected';
  }
}
