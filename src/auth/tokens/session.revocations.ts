import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { SigningKeyRing } from '../keys/signing-key.ring';
import { RevocationChannel } from '../../database/revocation-channel';
import { SessionLease, SessionLeases } from './session-leases';
import { EVERY_USER, SESSION_REVOKED_CHANNEL } from './session-revocation.subjects';

/** Roughly the least a cached user costs: leases are kept for at most as many users as would fit. */
const LEASE_BOUND_BYTES = 256;

/**
 * Session revocations across instances. A revocation (logout of any scope, password reset,
 * refresh-token reuse) is announced per user in the revoking transaction; every instance then
 * ends the lease of that user's sessions, so each access token of the user it had verified is
 * checked against the database again on its next request (the sessions that were not revoked
 * cost one read each), and the revoking request answers once every instance has done so. A
 * session revoked, deleted or ended earlier in SQL is heard the same way, from a trigger. Signing
 * keys retired at once end every user's lease (`EVERY_USER`).
 *
 * While the channel cannot prove it hears (not listening, or no heartbeat answered lately, decision
 * 011) no lease is live, so nothing is served from memory.
 */
@Injectable()
export class SessionRevocations implements OnModuleInit, OnApplicationShutdown {
  private readonly channel: RevocationChannel;
  private readonly leases: SessionLeases;

  constructor(@InjectConfig() config: AppConfig, keys: SigningKeyRing) {
    // A bound of its own, as many users as the budget could cache: a lease's bytes are counted
    // with the verified tokens that rest on it (JwtStrategy).
    const leases = new SessionLeases(Math.floor(config.cache.maxBytes / LEASE_BOUND_BYTES));
    this.leases = leases;
    this.channel = new RevocationChannel(
      config.database.url,
      SESSION_REVOKED_CHANNEL,
      {
        onRevoked: (userId) => {
          if (userId !== EVERY_USER) return leases.end(userId);
          leases.endAll();
          // Heard here even when the signing-key channel is silent, since this channel is held to
          // the proof of hearing: the JWKS stops publishing the retired keys, and signing stops
          // using them, on every instance that serves from memory (decision 028).
          keys.keysRetiredAtOnce();
        },
        onListening: (servingUntil) => leases.resume(servingUntil),
        onHeard: (servingUntil) => leases.heard(servingUntil),
        onDeaf: () => leases.suspend(),
      },
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
    return this.leases.lease(userId);
  }

  /**
   * Inside the revoking transaction (an `inTransaction` one), once some of `userId`'s sessions
   * were revoked in it: after the commit, no instance trusts that user's verified access tokens
   * any longer, and the transaction resolves once every listening instance has acknowledged.
   */
  announce(em: EntityManager, userId: string): Promise<void> {
    return this.channel.announce(em, userId);
  }
}
