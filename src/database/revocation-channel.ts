import { EntityManager } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { describeFailure } from '../common/logging/sql-values';
import { randomUUID } from 'node:crypto';
import { PgListener } from './pg-listener';
import { afterTransaction } from './transaction';

/** What an instance keeps in memory about the things a channel revokes. */
export interface RevocationHandlers {
  /** Forget everything `subject` names; the acknowledgement goes out once this returns. */
  onRevoked(subject: string): void;
  /**
   * The channel is listening (again): revocations are heard from now on, earlier ones may have
   * been missed. Memory may be served until `servingUntil` (epoch ms), then as `onHeard` extends it.
   */
  onListening(servingUntil: number): void;
  /** The channel proved again that it hears every revocation: memory may be served until `servingUntil`. */
  onHeard(servingUntil: number): void;
  /** The channel stopped listening: from now on revocations may be missed. */
  onDeaf(): void;
}

/** How long a revocation waits for every instance to acknowledge it before answering anyway. */
export const ACK_TIMEOUT_MS = 2_000;
/**
 * How long after a proof of hearing (a heartbeat sent then, answered) an instance may still answer
 * from memory. Shorter than ACK_TIMEOUT_MS, so that when a revocation answers after its timeout,
 * an instance that did not acknowledge has stopped answering from memory: its last proof predates
 * the revocation by more than this, or the revocation reached it before the proof's answer.
 */
export const PROOF_VALID_MS = ACK_TIMEOUT_MS - 500;
/**
 * How often a listener whose proof of hearing lets memory be served proves it (each channel here,
 * and the users cache's listener): often enough that a proof is a few hundred milliseconds old
 * when a request asks, leaving the rest of PROOF_VALID_MS for a busy event loop or a slow round
 * trip before memory stops being served.
 */
export const PROOF_HEARTBEAT_MS = 250;
/**
 * How long an instance counts as alive after its last heartbeat was heard. An instance whose
 * database connection died without it knowing is not in `pg_stat_activity` any more, yet it may
 * answer from memory for PROOF_VALID_MS after its last heartbeat: a revocation waits for the
 * acknowledgement of every instance heard within this window too.
 */
const ALIVE_WINDOW_MS = PROOF_VALID_MS + 3 * PROOF_HEARTBEAT_MS;

const REVOKED = 'revoked:';
const ACK = 'ack:';
const ALIVE = 'alive:';
const GONE = 'gone:';

/**
 * The message that revokes `subject` on a channel for whoever sends it without a RevocationChannel
 * (a command, as the triggers do in SQL): every instance forgets the subject, and none
 * acknowledges, since nobody waits for it.
 */
export function revocationWithoutAcknowledgement(subject: string): string {
  return `${REVOKED}:${subject}`;
}

interface Pending {
  /** Listening connections counted when the revocation was announced. */
  expected: number;
  /** Instances heard alive lately: each must acknowledge too. */
  alive: string[];
  /** Not before this (epoch ms): until then, this instance may not have heard of every instance serving from memory. */
  notBefore: number;
  acknowledged: Set<string>;
  done(): void;
  check(): void;
}

/**
 * One PostgreSQL channel that tells every instance of the service that something it may hold in
 * memory was revoked, and tells the revoking request when they have all forgotten it.
 *
 * NOTIFY alone reaches the other instances a moment after the commit, and under load that moment
 * can be longer than a client takes to send its next request elsewhere. So each instance, once it
 * has forgotten the subject, acknowledges on the same channel, and the revoking transaction waits
 * after its commit for every instance to acknowledge: as many as there were listening
 * connections when it announced, and each instance heard alive lately. When the revoking request
 * answers, no instance that can serve the subject from memory still does.
 *
 * When an acknowledgement is missing (an instance cut off from PostgreSQL, or frozen), the
 * revocation answers after ACK_TIMEOUT_MS anyway, and the partition rule keeps that safe
 * (decision 011): an instance answers from memory only for PROOF_VALID_MS after its listening
 * connection last proved, by a heartbeat answered, that it had delivered every notification sent
 * before it. A cut-off instance cannot prove it, so by the time the revocation answers, it has
 * stopped answering from memory and asks the database, which it cannot reach: 503, never the
 * revoked credential.
 *
 * Messages: `revoked:<revocation id>:<subject>` from the revoking transaction, then
 * `ack:<revocation id>:<instance id>` from each listening instance; `alive:<instance id>` with
 * every heartbeat, `gone:<instance id>` when an instance stops listening on purpose. Triggers in
 * the database send `revoked::<subject>` (no revocation id) for rows revoked in SQL, by hand or
 * by the service: every instance forgets the subject, and none acknowledges, since nobody waits.
 */
export class RevocationChannel {
  private readonly listener: PgListener;
  private readonly instanceId = randomUUID();
  /** Revocations announced here that wait for acknowledgements, by revocation id. */
  private readonly pending = new Map<string, Pending>();
  /** When each instance's heartbeat was last heard (epoch ms), this one's included. */
  private readonly alive = new Map<string, number>();

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
        onConnected: () => {
          // Who was alive is heard afresh: a gap in hearing may have hidden arrivals and departures.
          this.alive.clear();
          handlers.onListening(this.listener.since + PROOF_VALID_MS);
        },
        onHeard: (sentAt) => handlers.onHeard(sentAt + PROOF_VALID_MS),
        onDisconnected: () => handlers.onDeaf(),
      },
      logger,
      { heartbeatPayload: `${ALIVE}${this.instanceId}`, heartbeatMs: PROOF_HEARTBEAT_MS },
    );
  }

  get connected(): boolean {
    return this.listener.connected;
  }

  /** Resolves after the first attempt to listen, successful or not. */
  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    // Others stop expecting this instance's acknowledgements; not worth waiting long for.
    const said = this.listener.notify(`${GONE}${this.instanceId}`).catch(() => undefined);
    await Promise.race([said, new Promise((resolve) => setTimeout(resolve, 250).unref())]);
    await this.listener.stop();
  }

  /**
   * Announces, inside the revoking transaction `em` (an `inTransaction` one), that `subject` is
   * revoked. PostgreSQL delivers the notification at commit; after the commit this instance
   * forgets the subject at once, and the transaction resolves once every instance that listened
   * has acknowledged (or after ACK_TIMEOUT_MS). Nothing happens if the transaction rolls back.
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

  /**
   * Starts counting acknowledgements of `revocationId`. Resolves once enough have come; never,
   * when this instance cannot hear them (not listening), so the revocation waits its whole timeout:
   * some instance may still answer from memory for up to PROOF_VALID_MS.
   */
  private expect(revocationId: string, listeners: number): Promise<void> {
    const listeningSince = this.listener.since;
    if (listeningSince === 0) return new Promise<void>(() => undefined);
    const now = Date.now();
    const alive = [...this.alive].filter(([, heardAt]) => now - heardAt <= ALIVE_WINDOW_MS).map(([instance]) => instance);
    return new Promise<void>((done) => {
      const pending: Pending = {
        expected: listeners,
        alive,
        // Heard from the start of listening: every instance that announced itself since. One that
        // did so only before may serve from memory until its last proof runs out, no later.
        notBefore: listeningSince + PROOF_VALID_MS + PROOF_HEARTBEAT_MS,
        acknowledged: new Set(),
        done,
        check: () => {
          if (pending.acknowledged.size < pending.expected) return;
          if (!pending.alive.every((instance) => pending.acknowledged.has(instance))) return;
          const early = pending.notBefore - Date.now();
          if (early > 0) setTimeout(pending.check, early).unref();
          else done();
        },
      };
      this.pending.set(revocationId, pending);
      pending.check();
    });
  }

  private async wait(revocationId: string, arrived: Promise<void> | undefined): Promise<void> {
    if (arrived === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
    });
    try {
      const inTime = await Promise.race([arrived.then(() => true), timeout]);
      const pending = this.pending.get(revocationId);
      const silent = pending?.alive.filter((instance) => !pending.acknowledged.has(instance)).length ?? 0;
      if (!inTime && pending !== undefined && (silent > 0 || pending.acknowledged.size < pending.expected)) {
        this.logger.warn(
          `a revocation on ${this.channel} answered after ${ACK_TIMEOUT_MS} ms without every acknowledgement: instances that did not acknowledge answer nothing from memory by now`,
          { acknowledged: pending.acknowledged.size, listeners: pending.expected, alive_not_acknowledged: silent },
        );
      } else if (!inTime && pending === undefined) {
        this.logger.warn(`a revocation on ${this.channel} answered after ${ACK_TIMEOUT_MS} ms: this instance does not listen, so it heard no acknowledgement`);
      }
    } finally {
      clearTimeout(timer);
      this.pending.delete(revocationId);
    }
  }

  private onNotification(payload: string | undefined): void {
    if (payload === undefined) return;
    if (payload.startsWith(ALIVE)) {
      this.alive.set(payload.slice(ALIVE.length), Date.now());
    } else if (payload.startsWith(REVOKED)) {
      const separator = payload.indexOf(':', REVOKED.length);
      if (separator < 0) return;
      const revocationId = payload.slice(REVOKED.length, separator);
      this.handlers.onRevoked(payload.slice(separator + 1));
      if (revocationId === '') return;
      this.listener.notify(`${ACK}${revocationId}:${this.instanceId}`).catch((error) => {
        this.logger.warn(`could not acknowledge a revocation on ${this.channel}: ${describeFailure(error)}`);
      });
    } else if (payload.startsWith(ACK)) {
      const [revocationId, instance] = payload.slice(ACK.length).split(':');
      const pending = this.pending.get(revocationId);
      if (pending === undefined || instance === undefined) return;
      pending.acknowledged.add(instance);
      pending.check();
    } else if (payload.startsWith(GONE)) {
      const instance = payload.slice(GONE.length);
      this.alive.delete(instance);
      // A clean stop: it serves nothing from memory any more. (Its connection may have been
      // counted: a revocation under way then may still wait its timeout, never less than it must.)
      for (const pending of this.pending.values()) {
        pending.alive = pending.alive.filter((other) => other !== instance);
        pending.check();
      }
    }
  }
}
