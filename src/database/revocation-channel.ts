import { EntityManager } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PgListener } from './pg-listener';
import { afterTransaction } from './transaction';

/** What an instance keeps in memory about the things a channel revokes. */
export interface RevocationHandlers {
  /** Forget everything `subject` names; the acknowledgement goes out once this returns. */
  onRevoked(subject: string): void;
  /** The channel is listening (again): revocations are heard from now on, earlier ones may have been missed. */
  onListening(): void;
  /** The channel stopped listening: from now on revocations may be missed. */
  onDeaf(): void;
}

/** How long a revocation waits for every instance to acknowledge it before answering anyway. */
const ACK_TIMEOUT_MS = 2_000;

const REVOKED = 'revoked:';
const ACK = 'ack:';

interface Pending {
  expected: number;
  acknowledged: Set<string>;
  done(): void;
}

/**
 * One PostgreSQL channel that tells every instance of the service that something it may hold in
 * memory was revoked, and tells the revoking request when they have all forgotten it.
 *
 * NOTIFY alone reaches the other instances a moment after the commit, and under load that moment
 * can be longer than a client takes to send its next request elsewhere. So each instance, once it
 * has forgotten the subject, acknowledges on the same channel, and the revoking transaction waits
 * after its commit for as many acknowledgements as there were listening connections when it
 * announced: when the revoking request answers, no instance that can serve the subject from
 * memory still does. An instance that stops listening stops serving from memory (`onDeaf`), so
 * the wait never needs it; a missing acknowledgement costs the wait its timeout, nothing more.
 *
 * Messages: `revoked:<revocation id>:<subject>` from the revoking transaction, then
 * `ack:<revocation id>:<instance id>` from each listening instance.
 */
export class RevocationChannel {
  private readonly listener: PgListener;
  private readonly instanceId = randomUUID();
  /** Revocations announced here that wait for acknowledgements, by revocation id. */
  private readonly pending = new Map<string, Pending>();

  constructor(
    url: string,
    private readonly channel: string,
    private readonly handlers: RevocationHandlers,
    private readonly logger: Logger,
  ) {
    this.listener = new PgListener(
      url,
      channel,
      {
        onNotification: (payload) => this.onNotification(payload),
        onConnected: () => handlers.onListening(),
        onDisconnected: () => {
          handlers.onDeaf();
          // No acknowledgement can arrive now; the revocations waiting for them answer.
          for (const waiting of this.pending.values()) waiting.done();
        },
      },
      logger,
    );
  }

  get connected(): boolean {
    return this.listener.connected;
  }

  /** Resolves after the first attempt to listen, successful or not. */
  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  /**
   * Announces, inside the revoking transaction `em` (an `inTransaction` one), that `subject` is
   * revoked. PostgreSQL delivers the notification at commit; after the commit this instance
   * forgets the subject at once, and the transaction resolves once every instance that listened
   * has acknowledged (or after a short timeout). Nothing happens if the transaction rolls back.
   */
  async announce(em: EntityManager, subject: string): Promise<void> {
    const revocationId = randomUUID();
    let arrived: Promise<void> | undefined = undefined;
    // Registered first: it throws for an `em` outside `inTransaction`, before anything is sent.
    afterTransaction(em, {
      committed: async () => {
        this.handlers.onRevoked(subject);
        await this.wait(revocationId, arrived);
      },
      rolledBack: () => this.pending.delete(revocationId),
    });
    // The notification and the head count in one statement: one round trip inside the transaction.
    const [row] = await em.getConnection().execute<Array<{ listeners: number }>>(
      `SELECT pg_notify(?, ?), (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?) AS listeners`,
      [this.channel, `${REVOKED}${revocationId}:${subject}`, PgListener.applicationName(this.channel)],
      'all',
      em.getTransactionContext(),
    );
    arrived = this.expect(revocationId, row.listeners);
  }

  /** Starts counting acknowledgements of `revocationId`; answers at once when nobody (or not this instance) listens. */
  private expect(revocationId: string, listeners: number): Promise<void> | undefined {
    // Not listening: this instance hears no acknowledgement, and none of its memory is served.
    if (listeners <= 0 || !this.listener.connected) return undefined;
    return new Promise<void>((done) => this.pending.set(revocationId, { expected: listeners, acknowledged: new Set(), done }));
  }

  private async wait(revocationId: string, arrived: Promise<void> | undefined): Promise<void> {
    if (arrived === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
    });
    try {
      const inTime = await Promise.race([arrived.then(() => true), timeout]);
      if (!inTime) {
        const pending = this.pending.get(revocationId);
        this.logger.warn(`only ${pending?.acknowledged.size ?? 0} of ${pending?.expected ?? '?'} instances acknowledged a revocation on ${this.channel} within ${ACK_TIMEOUT_MS} ms`);
      }
    } finally {
      clearTimeout(timer);
      this.pending.delete(revocationId);
    }
  }

  private onNotification(payload: string | undefined): void {
    if (payload === undefined) return;
    if (payload.startsWith(REVOKED)) {
      const separator = payload.indexOf(':', REVOKED.length);
      if (separator < 0) return;
      const revocationId = payload.slice(REVOKED.length, separator);
      this.handlers.onRevoked(payload.slice(separator + 1));
      this.listener.notify(`${ACK}${revocationId}:${this.instanceId}`).catch((error) => {
        this.logger.warn(`could not acknowledge a revocation on ${this.channel}: ${error?.message ?? error}`);
      });
    } else if (payload.startsWith(ACK)) {
      const [revocationId, instance] = payload.slice(ACK.length).split(':');
      const pending = this.pending.get(revocationId);
      if (pending === undefined || instance === undefined) return;
      pending.acknowledged.add(instance);
      if (pending.acknowledged.size >= pending.expected) pending.done();
    }
  }
}
