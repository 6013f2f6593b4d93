import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AuthenticatedUser } from '../common/auth/principal';
import { BudgetedCache, MemoryBudget } from '../common/cache/memory.budget';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PgListener } from '../database/pg-listener';
import { ProofOfHearing } from '../database/proof-of-hearing';
import { PROOF_HEARTBEAT_MS, PROOF_VALID_MS } from '../database/revocation-channel';
import { CachedUser } from './cached-user';

/** Notified by a trigger on `users` (migration UserChangeNotify) with the id of a changed row. */
export const USER_CHANGED_CHANNEL = 'atiru_user_changed';

@Injectable()
export class UsersService implements OnModuleInit, OnModuleDestroy {
  /**
   * Users that authenticated requests act as, so a credential seen before costs no database read.
   * A change is dropped from every instance's cache when its notification arrives. Served only
   * while the listener proves, by a heartbeat answered lately, that it hears every change
   * (decision 011, as the credentials it goes with): a connection that died silently still looks
   * open, and an instance behind it would serve a changed user until its heartbeat gave up.
   * Without that proof every request reads the database.
   */
  private readonly cache: BudgetedCache<string, CachedUser>;
  /** Bumped by every invalidation: a read that started before one must not fill the cache. */
  private generation = 0;
  /** Whether the cache may be served, and filled (while listening): the listener's proof of hearing. */
  private readonly hearing = new ProofOfHearing();
  private listener?: PgListener;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    budget: MemoryBudget,
  ) {
    this.cache = new BudgetedCache(budget, (_id, user) => CachedUser.weigh(user));
  }

  async onModuleInit(): Promise<void> {
    const listener = new PgListener(
      this.config.database.url,
      USER_CHANGED_CHANNEL,
      {
        onNotification: (id) => {
          if (id) this.forget(id);
        },
        onConnected: () => this.resume(listener.since + PROOF_VALID_MS),
        onHeard: (sentAt) => this.heard(sentAt + PROOF_VALID_MS),
        onDisconnected: () => this.suspend(),
      },
      new Logger(UsersService.name),
      // As often as the revocation channels prove hearing: a healthy instance's proof is renewed
      // long before it runs out, so losing it means a listener that is late or cut off.
      { heartbeatMs: PROOF_HEARTBEAT_MS },
    );
    this.listener = listener;
    await listener.start();
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
   * The listener is (re)connected: changes made while it was not were not heard, so start from
   * nothing, and serve until `servingUntil` (epoch ms).
   */
  resume(servingUntil: number): void {
    this.generation++;
    this.cache.clear();
    this.hearing.resume(servingUntil);
  }

  /**
   * The listener proved again that it has heard every change notified before a heartbeat: serve
   * until `servingUntil`, what the cache holds included, even after a proof ran out, since nothing
   * was missed on the same connection.
   */
  heard(servingUntil: number): void {
    this.hearing.heard(servingUntil);
  }

  /** The listener lost its connection: stop serving. The cache is emptied when it listens again. */
  suspend(): void {
    this.hearing.suspend();
  }

  /** Whether users are being served from memory: the listener proved lately that it hears every change. */
  get serving(): boolean {
    return this.hearing.serving;
  }

  /**
   * The user, when this instance may answer from memory without asking the database; undefined
   * otherwise: the credential's own read brings its user (`readAuthenticatedUser`). The hot path.
   */
  findCachedAuthenticatedUser(id: string): AuthenticatedUser | undefined {
    return this.serving ? this.cache.get(id) : undefined;
  }

  /**
   * Runs `read`, a read of a user that may check more than the user (that a session is live, or
   * that an API key is active), and keeps the user it found in the cache. Always reads.
   */
  async readAuthenticatedUser<T extends { user: AuthenticatedUser }>(read: () => Promise<T | null>): Promise<T | null> {
    const generation = this.generation;
    const found = await read();
    if (found === null) return null;
    const user = CachedUser.of(found.user);
    // Kept while listening even without a fresh proof: it is served only once one comes on this
    // connection, by then any later change has been heard; a new connection empties the cache.
    // Keyed by the user's own id string, which the entry holds anyway.
    if (this.hearing.listening && generation === this.generation) this.cache.set(user.id, user);
    return { ...found, user };
  }
}
