import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { RevocationChannel } from '../../database/revocation-channel';

/** The PostgreSQL channel that carries session revocations, by user id, to every instance. */
export const SESSION_REVOKED_CHANNEL = 'session_revoked';

/**
 * This instance's trust in the sessions of one user, as checked in the database: it holds while
 * `live` is true. Memory that rests on the check (a verified access token) keeps the lease it
 * was given before the check began, and is served only while that lease is live.
 */
export interface SessionLease {
  readonly live: boolean;
}

interface MutableLease {
  live: boolean;
}

/** Given while revocations cannot be heard: nothing that rests on it is ever served. */
const NEVER_LIVE: SessionLease = Object.freeze({ live: false });

/**
 * Session revocations across instances. A revocation (logout of any scope, password reset,
 * refresh-token reuse) is announced per user in the revoking transaction; every instance then
 * ends the lease of that user's sessions, so each access token of the user it had verified is
 * checked against the database again on its next request (the sessions that were not revoked
 * cost one read each), and the revoking request answers once every instance has done so.
 *
 * While the channel is not listening no lease is live, so nothing is served from memory.
 */
@Injectable()
export class SessionRevocations implements OnModuleInit, OnApplicationShutdown {
  private readonly channel: RevocationChannel;
  /** The live lease of each user, oldest first; one that has to leave the bound ends. */
  private readonly leases = new Map<string, MutableLease>();
  private readonly maxLeases: number;

  constructor(@InjectConfig() config: AppConfig) {
    this.maxLeases = config.cache.maxEntries;
    this.channel = new RevocationChannel(
      config.database.url,
      SESSION_REVOKED_CHANNEL,
      { onRevoked: (userId) => this.endLease(userId), onListening: () => this.endAllLeases(), onDeaf: () => this.endAllLeases() },
      new Logger(SessionRevocations.name),
    );
  }

  get listening(): boolean {
    return this.channel.connected;
  }

  async onModuleInit(): Promise<void> {
    await this.channel.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.channel.stop();
  }

  /**
   * The lease of `userId`'s sessions: take it before reading whether a session is live, so a
   * revocation that lands while the read is in flight ends it.
   */
  lease(userId: string): SessionLease {
    if (!this.channel.connected || this.maxLeases <= 0) return NEVER_LIVE;
    const current = this.leases.get(userId);
    if (current !== undefined) return current;
    if (this.leases.size >= this.maxLeases) {
      const [oldest] = this.leases.keys();
      this.endLease(oldest);
    }
    const lease: MutableLease = { live: true };
    this.leases.set(userId, lease);
    return lease;
  }

  /**
   * Inside the revoking transaction (an `inTransaction` one), once some of `userId`'s sessions
   * were revoked in it: after the commit, no instance trusts that user's verified access tokens
   * any longer, and the transaction resolves once every listening instance has acknowledged.
   */
  announce(em: EntityManager, userId: string): Promise<void> {
    return this.channel.announce(em, userId);
  }

  private endLease(userId: string): void {
    const lease = this.leases.get(userId);
    if (lease === undefined) return;
    lease.live = false;
    this.leases.delete(userId);
  }

  private endAllLeases(): void {
    for (const lease of this.leases.values()) lease.live = false;
    this.leases.clear();
  }
}
