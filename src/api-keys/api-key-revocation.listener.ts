import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Client, Notification } from 'pg';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { ApiKeyCache } from './api-key-cache';
import { API_KEY_REVOKED_CHANNEL } from './api-key.repository';

const HEARTBEAT_MS = 10_000;
const QUERY_TIMEOUT_MS = 5_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** How long a revocation waits to hear its own notification come back before answering anyway. */
const ECHO_TIMEOUT_MS = 2_000;

/** A revocation's notification on its way back to this instance. */
export interface RevocationEcho {
  /** Resolves when the notification arrived (or after a short timeout, or when not listening). */
  wait(): Promise<void>;
  /** The revocation did not commit: stop expecting it. */
  cancel(): void;
}

/**
 * Keeps a dedicated PostgreSQL connection that LISTENs for revocations and drops the revoked
 * key from this instance's cache. While the connection is down, the cache serves no accepted
 * key (revocations could be missed); it reconnects with backoff and starts from an empty cache.
 * A heartbeat on the same connection notices a silent network failure: TCP delivers in order,
 * so a heartbeat that comes back means no notification before it was lost.
 */
@Injectable()
export class ApiKeyRevocationListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ApiKeyRevocationListener.name);
  private client?: Client;
  private stopped = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly echoWaiters = new Map<string, Set<() => void>>();

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly cache: ApiKeyCache,
  ) {}

  get connected(): boolean {
    return this.cache.serving;
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = undefined;
    this.cache.suspend();
    this.releaseWaiters();
    await client?.end().catch(() => undefined);
  }

  /**
   * Call before committing a revocation; `wait()` then waits (briefly) until this instance
   * hears the notification. PostgreSQL signals every listening instance at the same commit, so
   * once ours is back the others' have been sent too, and the caller answers only after the
   * revocation is on its way everywhere. Answers at once when not listening (then no cache here
   * is serving the key).
   */
  expectRevocation(keyHash: string): RevocationEcho {
    if (!this.client || !this.cache.serving) return { wait: () => Promise.resolve(), cancel: () => undefined };
    let heard!: () => void;
    const arrived = new Promise<void>((resolve) => (heard = resolve));
    const waiters = this.echoWaiters.get(keyHash) ?? new Set();
    waiters.add(heard);
    this.echoWaiters.set(keyHash, waiters);
    const cancel = () => {
      waiters.delete(heard);
      if (waiters.size === 0 && this.echoWaiters.get(keyHash) === waiters) this.echoWaiters.delete(keyHash);
    };
    const wait = async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ECHO_TIMEOUT_MS);
      });
      try {
        const inTime = await Promise.race([arrived.then(() => true), timeout]);
        if (!inTime) this.logger.warn(`a revocation notification did not come back within ${ECHO_TIMEOUT_MS} ms`);
      } finally {
        clearTimeout(timer);
        cancel();
      }
    };
    return { wait, cancel };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.config.database.url,
      keepAlive: true,
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      application_name: 'atiru-api-key-revocations',
    });
    this.client = client;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => this.onNotification(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return;
    if (this.failures > 0) this.logger.log('revocation listener reconnected; the API-key cache starts empty');
    this.failures = 0;
    this.cache.resume();
    this.heartbeatTimer = setInterval(() => {
      client.query('SELECT 1').catch((error) => this.lost(client, error));
    }, HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  private lost(client: Client, error?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.cache.suspend();
    clearInterval(this.heartbeatTimer);
    this.releaseWaiters();
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.stopped) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.failures++);
    const reason = error instanceof Error ? error.message : 'connection ended';
    this.logger.warn(`revocation listener disconnected (${reason}); API keys are read from the database until it reconnects (retry in ${delay} ms)`);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  private onNotification(message: Notification): void {
    if (message.channel !== API_KEY_REVOKED_CHANNEL || !message.payload) return;
    this.cache.forget(message.payload);
    for (const heard of this.echoWaiters.get(message.payload) ?? []) heard();
  }

  private releaseWaiters(): void {
    for (const waiters of this.echoWaiters.values()) for (const heard of waiters) heard();
    this.echoWaiters.clear();
  }
}
