import { Logger } from '@nestjs/common';
import { Client } from 'pg';

export interface PgListenerHandlers {
  onNotification(payload: string | undefined): void;
  /** Called after every (re)connection: notifications sent while disconnected are lost, so re-read. */
  onConnected?(): void;
  /** Called when a connection that was listening is lost: from now on notifications may be missed. */
  onDisconnected?(): void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
/**
 * A query on the listening connection every so often: TCP delivers in order, so a heartbeat that
 * comes back proves no notification before it was lost, and one that does not reveals a
 * connection that died silently (no FIN, no RST), which would otherwise look alive for long.
 */
const HEARTBEAT_MS = 10_000;
const QUERY_TIMEOUT_MS = 5_000;

/**
 * LISTENs on one PostgreSQL channel over a dedicated connection (pooled connections cannot hold
 * a LISTEN), and reconnects with backoff when the connection drops. Never throws to its owner:
 * a listener that cannot connect only delays what a periodic re-read catches anyway.
 */
export class PgListener {
  private client?: Client;
  private retryTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly handlers: PgListenerHandlers,
    private readonly logger = new Logger(PgListener.name),
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
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = undefined;
    if (client) this.handlers.onDisconnected?.();
    await client?.end().catch(() => undefined);
  }

  get connected(): boolean {
    return this.client !== undefined;
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
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      application_name: PgListener.applicationName(this.channel),
    });
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) {
        this.client = undefined;
        clearInterval(this.heartbeatTimer);
        this.handlers.onDisconnected?.();
      }
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(`lost the LISTEN connection for ${this.channel}${error ? `: ${error.message}` : ''}; reconnecting`);
      this.scheduleRetry();
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.handlers.onNotification(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (error) {
      drop(error as Error);
      return;
    }
    if (dropped) return;
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    this.heartbeatTimer = setInterval(() => client.query('SELECT 1').catch(drop), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
    this.handlers.onConnected?.();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.failures++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
