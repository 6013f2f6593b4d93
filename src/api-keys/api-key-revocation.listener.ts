import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PgListener } from '../database/pg-listener';
import { ApiKeyCache } from './api-key-cache';
import { API_KEY_REVOKED_CHANNEL } from './api-key.repository';

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
 * Listens for revocations (a dedicated PostgreSQL connection, `PgListener`) and drops the revoked
 * key from this instance's cache. While the connection is down, the cache serves no accepted key,
 * since a revocation could be missed; once it is back, the cache starts empty.
 */
@Injectable()
export class ApiKeyRevocationListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ApiKeyRevocationListener.name);
  private readonly listener: PgListener;
  private readonly echoWaiters = new Map<string, Set<() => void>>();

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly cache: ApiKeyCache,
  ) {
    this.listener = new PgListener(
      config.database.url,
      API_KEY_REVOKED_CHANNEL,
      {
        onNotification: (keyHash) => this.revoked(keyHash),
        onConnected: () => this.cache.resume(),
        onDisconnected: () => {
          this.cache.suspend();
          this.releaseWaiters();
        },
      },
      this.logger,
    );
  }

  get connected(): boolean {
    return this.listener.connected;
  }

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.stop();
  }

  /**
   * Call before committing a revocation; `wait()` then waits (briefly) until this instance
   * hears the notification. PostgreSQL signals every listening instance at the same commit, so
   * once ours is back the others' have been sent too, and the caller answers only after the
   * revocation is on its way everywhere. Answers at once when not listening (then no cache here
   * is serving the key).
   */
  expectRevocation(keyHash: string): RevocationEcho {
    if (!this.listener.connected) return { wait: () => Promise.resolve(), cancel: () => undefined };
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

  private revoked(keyHash: string | undefined): void {
    if (!keyHash) return;
    this.cache.forget(keyHash);
    for (const heard of this.echoWaiters.get(keyHash) ?? []) heard();
  }

  private releaseWaiters(): void {
    for (const waiters of this.echoWaiters.values()) for (const heard of waiters) heard();
    this.echoWaiters.clear();
  }
}
