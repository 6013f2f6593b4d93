import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AuthenticatedUser } from '../common/auth/principal';
import { BudgetedCache, MemoryBudget } from '../common/cache/memory.budget';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PgListener } from '../database/pg-listener';
import { CachedUser } from './cached-user';
import { UsersRepository } from './users.repository';

/** Notified by a trigger on `users` (migration UserChangeNotify) with the id of a changed row. */
export const USER_CHANGED_CHANNEL = 'atiru_user_changed';

@Injectable()
export class UsersService implements OnModuleInit, OnModuleDestroy {
  /**
   * Users that authenticated requests act as, so a credential seen before costs no database read.
   * Served only while the LISTEN connection is up: a change is then dropped from every
   * instance's cache the moment it commits; without it, every request reads the database.
   */
  private readonly cache: BudgetedCache<string, CachedUser>;
  /** Bumped by every invalidation: a read that started before one must not fill the cache. */
  private generation = 0;
  private listener?: PgListener;

  constructor(
    private readonly users: UsersRepository,
    @InjectConfig() private readonly config: AppConfig,
    budget: MemoryBudget,
  ) {
    this.cache = new BudgetedCache(budget, (_id, user) => CachedUser.weigh(user));
  }

  async onModuleInit(): Promise<void> {
    this.listener = new PgListener(this.config.database.url, USER_CHANGED_CHANNEL, {
      onNotification: (id) => {
        if (id) this.forget(id);
      },
      onConnected: () => {
        // Changes made while disconnected were not heard: start from nothing.
        this.generation++;
        this.cache.clear();
      },
    });
    await this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener?.stop();
  }

  /**
   * Drops the cached copy of a user this instance has just changed, so its own next request is
   * exact without waiting for the notification (which still reaches every other instance).
   */
  forget(id: string): void {
    this.generation++;
    this.cache.delete(id);
  }

  /**
   * The user, when this instance may answer from memory without asking the database; undefined
   * otherwise (then `findAuthenticatedUser`). The synchronous form, for the hot path.
   */
  findCachedAuthenticatedUser(id: string): AuthenticatedUser | undefined {
    return this.listener?.connected === true ? this.cache.get(id) : undefined;
  }

  /** The user an authenticated request acts as, or null when the account no longer exists. */
  async findAuthenticatedUser(id: string): Promise<AuthenticatedUser | null> {
    const cached = this.findCachedAuthenticatedUser(id);
    if (cached !== undefined) return cached;
    const found = await this.readAuthenticatedUser(async () => {
      const user = await this.users.findAuthenticatedById(id);
      return user === null ? null : { user };
    });
    return found === null ? null : found.user;
  }

  /**
   * Runs `read`, a read of a user that may check more than the user (that a session is live, or
   * that an API key is active), and keeps the user it found in the cache, as
   * `findAuthenticatedUser` would. Always reads.
   */
  async readAuthenticatedUser<T extends { user: AuthenticatedUser }>(read: () => Promise<T | null>): Promise<T | null> {
    const listening = this.listener?.connected === true;
    const generation = this.generation;
    const found = await read();
    if (found === null) return null;
    const user = CachedUser.of(found.user);
    // Keyed by the user's own id string, which the entry holds anyway.
    if (listening && generation === this.generation) this.cache.set(user.id, user);
    return { ...found, user };
  }
}
