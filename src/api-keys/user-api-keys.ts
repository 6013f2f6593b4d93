import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * What another module may do with a user's API keys, injected by USER_API_KEYS: the accounts
 * module reaches keys through this alone, not through ApiKeysModule's classes. Both methods run in
 * the caller's transaction, so what they do commits or rolls back with the caller's change.
 */
export interface UserApiKeys {
  /**
   * Revokes every key of the user that still works (rolled keys in their grace period included)
   * and announces each on the revocation channel: once the transaction commits, every instance
   * drops them before it resolves. Answers how many were revoked.
   */
  revokeAllForUser(em: EntityManager, userId: string): Promise<number>;
  /** How many keys of the user still work. */
  countActiveForUser(em: EntityManager, userId: string): Promise<number>;
}

/** The injection token of UserApiKeys, which ApiKeysModule provides and exports. */
export const USER_API_KEYS = Symbol('UserApiKeys');
