import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { patience } from './patience';

export interface PgListenerHandlers {
  onNotification(payload: string | undefined): void;
  /**
   * Called after every (re)connection: notifications sent while disconnected are lost, so re-read.
   * The listener's `since` says from when (epoch ms) notifications are heard.
   */
  onConnected?(): void;
  /** Called when a connection that was listening is lost: from now on notifications may be missed. */
  onDisconnected?(): void;
  /**
   * Called each time the connection proves it has delivered every notification sent before
   * `sentAt` (epoch ms): the LISTEN or a heartbeat sent then has been answered.
   */
  onHeard?(sentAt: number): void;
}

export interface PgListenerOptions {
  /** Sent as a notification on the channel with every heartbeat (other listeners hear who is alive); none: `SELECT 1`. */
  heartbeatPayload?: string;
  /** How long from a heartbeat's answer to the next heartbeat; HEARTBEAT_MS by default. */
  heartbeatMs?: number;
}

/** Reconnection backoff: doubling from the first, never above the cap, so a returning server is heard within a second. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 1000;
/**
 * A query on the listening connection every so often. TCP delivers in order, so a heartbeat that
 * comes back proves no notification sent before it was lost (`onHeard`); one that does not
 * reveals a connection that died silently (no FIN, no RST), which would otherwise look alive.
 * Owners that serve memory on that proof ask for a shorter interval (PROOF_HEARTBEAT_MS).
 */
export const HEARTBEAT_MS = 10_000;
/** A LISTEN or heartbeat unanswered this long ends the connection, and a new one is opened. */
const HEARTBEAT_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 3000;

/**
 * LISTENs on one PostgreSQL channel over a dedicated connection (pooled connections cannot hold
 * a LISTEN), and reconnects with a short backoff when the connection drops. Never throws to its
 * owner: a listener that cannot connect only means its owner serves nothing from memory.
 *
 * Logs one line when it stops listening and one when it listens again, however many attempts
 * it takes in between.
 */
export class PgListener {
  private client?: Client;
  /** The latest connection, connecting or listening: only its failure leads to another attempt. */
  private attempt?: Client;
  private retryTimer?: NodeJS.Timeout;
  /** The heartbeat of the connection in use, and only of it. */
  private heartbeatTimer?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;
  /** When the listening connection was lost, while it is being re-opened. */
  private lostAt?: number;
  private listeningSince = 0;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly handlers: PgListenerHandlers,
    private readonly logger = new Logger(PgListener.name),
    private readonly options: PgListenerOptions = {},
  ) {}

  /** Resolves after the first attempt, connected or not. */
  start(): Promise<void> {
    this.stopped = false;
    return this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.heartbeatTimer);
    const client = this.client;
    this.client = undefined;
    if (client) this.handlers.onDisconnected?.();
    await client?.end().catch(() => undefined);
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /**
   * Since when (epoch ms) the current connection is proven to hear every notification: the
   * sending of its first heartbeat, after the LISTEN; 0 when there is no connection.
   */
  get since(): number {
    return this.client === undefined ? 0 : this.listeningSince;
  }

  /**
   * The `application_name` of every listening connection on `channel`, so a sender can count the
   * listeners in `pg_stat_activity` (e.g. to wait until each has acknowledged a notification).
   */
  static applicationName(channel: string): string {
    return `atiru:${channel}`.slice(0, 63);
  }

  /** Sends a notification on this listener's channel over its own connection; false when not connected. */
  async notify(payload: string): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    await client.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
    return true;
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      application_name: PgListener.applicationName(this.channel),
    });
    this.attempt = client;
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      const wasListening = this.client === client;
      if (wasListening) {
        clearTimeout(this.heartbeatTimer);
        this.client = undefined;
        this.handlers.onDisconnected?.();
      }
      // Ended, not destroyed: a connection that is still open gets its Terminate.
      client.end().catch(() => undefined);
      // A connection superseded by a newer attempt leads to nothing more: one attempt at a time.
      if (this.stopped || this.attempt !== client) return;
      if (wasListening) {
        this.lostAt = Date.now();
        this.logger.warn(`stopped listening on ${this.channel} (${error?.message ?? 'connection ended'}); reconnecting`);
      } else {
        this.logger.debug(`could not listen on ${this.channel}: ${error?.message ?? 'connection ended'}`);
      }
      this.scheduleRetry();
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.handlers.onNotification(message.payload);
    });
    let sentAt: number;
    try {
      await client.connect();
      await answeredWithin(client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`), HEARTBEAT_TIMEOUT_MS);
      // A first heartbeat before anything is served: its answer proves hearing from when it was
      // sent, and with a payload, the other listeners have heard of this one before it serves.
      sentAt = Date.now();
      await this.beat(client);
    } catch (error) {
      drop(error as Error);
      return;
    }
    if (dropped) return;
    if (this.stopped || this.attempt !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.listeningSince = sentAt;
    if (this.lostAt !== undefined) {
      const seconds = ((Date.now() - this.lostAt) / 1000).toFixed(1);
      this.logger.log(`listening on ${this.channel} again after ${seconds} s (${this.failures} attempt(s))`);
      this.lostAt = undefined;
    }
    this.failures = 0;
    this.handlers.onConnected?.();
    this.scheduleHeartbeat(client, drop);
  }

  /** One heartbeat at a time, the next HEARTBEAT_MS after the last one's answer. */
  private scheduleHeartbeat(client: Client, drop: (error?: Error) => void): void {
    this.heartbeatTimer = setTimeout(() => {
      if (this.client !== client) return;
      const sentAt = Date.now();
      const beat = this.beat(client);
      beat.then(
        () => {
          if (this.client !== client) return;
          this.handlers.onHeard?.(sentAt);
          this.scheduleHeartbeat(client, drop);
        },
        (error: Error) => drop(error),
      );
    }, this.options.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  private beat(client: Client): Promise<unknown> {
    const payload = this.options.heartbeatPayload;
    const query = payload === undefined ? client.query('SELECT 1') : client.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
    return answeredWithin(query, HEARTBEAT_TIMEOUT_MS);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.failures++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}

/** `query`'s outcome, or a rejection when it has not settled `ms` after it was sent (patience.ts). */
function answeredWithin<T>(query: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const verdict = patience(ms, () => reject(new Error(`no answer within ${ms} ms`)));
    query.then(
      (value) => {
        verdict.cancel();
        resolve(value);
      },
      (error: unknown) => {
        verdict.cancel();
        reject(error);
      },
    );
  });
}
