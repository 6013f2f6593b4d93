import { AuthenticatedUser } from '../common/auth/principal';
import { CacheSlot, HEAP_NUMBER_BYTES, MAP_ENTRY_BYTES, objectBytes, stringBytes } from '../common/cache/memory.budget';

/**
 * A user as the users cache keeps it: the times as epoch milliseconds, a Date made only when a
 * handler asks for one. A Date is a 96-byte object on V8 (it caches its calendar fields), so the
 * three of them were more than half of a cached user; few requests read them.
 *
 * Its fields are readonly and every Date it hands out is new, so a handler cannot change what the
 * next request sees. It is an AuthenticatedUser for every reader; spreading it (`{ ...user }`)
 * would lose the dates, so nothing does.
 */
export class CachedUser implements AuthenticatedUser, CacheSlot {
  cacheUsed = false;
  cacheSeq = 0;

  private constructor(
    readonly id: string,
    readonly email: string,
    private readonly confirmedAtMs: number | null,
    private readonly createdAtMs: number,
    private readonly updatedAtMs: number,
  ) {}

  static of(user: AuthenticatedUser): CachedUser {
    if (user instanceof CachedUser) return user;
    return new CachedUser(user.id, user.email, user.emailConfirmedAt?.getTime() ?? null, user.createdAt.getTime(), user.updatedAt.getTime());
  }

  get emailConfirmedAt(): Date | null {
    return this.confirmedAtMs === null ? null : new Date(this.confirmedAtMs);
  }

  get createdAt(): Date {
    return new Date(this.createdAtMs);
  }

  get updatedAt(): Date {
    return new Date(this.updatedAtMs);
  }

  /** What the entry keeps alive, keyed by its own id (the cache's key is that same string). */
  static weigh(user: CachedUser): number {
    return MAP_ENTRY_BYTES + objectBytes(7) + stringBytes(user.id.length) + stringBytes(user.email.length) + 3 * HEAP_NUMBER_BYTES;
  }
}
