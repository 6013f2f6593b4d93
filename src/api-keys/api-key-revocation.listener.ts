import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PgListener } from '../database/pg-listener';
import { ApiKeyCache } from './api-key-cache';
import { API_KEY_ACK_PREFIX, API_KEY_REVOKED_CHANNEL, API_KEY_REVOKED_PREFIX } from './api-key.repository';

/** How long a revocation waits for every instance to acknowledge it before answering anyway. */
const ACK_TIMEOUT_MS = 2_000;

/** A revocation's acknowledgements, on their way back to the instance that revoked. */
export interface RevocationAcknowledgements {
  /** Resolves once every instance acknowledged (or after a short timeout, or when not listening). */
  wait(): Promise<void>;
  /** The revocation did not commit: stop expecting it. */
  cancel(): void;
}

interface Pending {
  expected: number;
  acknowledged: Set<string>;
  done(): void;
}

/**
 * Listens for revocations on a dedicated PostgreSQL connection (`PgListener`) and drops the
 * revoked key from this instance's cache. While the connection is down the cache serves no
 * accepted key, since a revocation could be missed; once it is back the cache starts empty.
 *
 * NOTIFY alone reaches the other instances a moment after the commit, and under load that moment
 * can be longer than a client takes to send its next request elsewhere. So each instance, once
 * it has forgotten the key, acknowledges on the same channel, and the revoking request waits for
 * as many acknowledgements as there are listening connections: when it answers 204, no instance
 * that can serve the key from memory still does.
 */
@Injectable()
export class ApiKeyRevocationListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ApiKeyRevocationListener.name);
  private readonly listener: PgListener;
  private readonly instanceId = randomUUID();
  /** Revocations made here that wait for acknowledgements, by key hash. */
  private readonly pending = new Map<string, Pending>();

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly cache: ApiKeyCache,
  ) {
    this.listener = new PgListener(
      config.database.url,
      API_KEY_REVOKED_CHANNEL,
      {
        onNotification: (payload) => this.onNotification(payload),
        onConnected: () => this.cache.resume(),
        onDisconnected: () => {
          this.cache.suspend();
          // No acknowledgement can arrive now; the revocations waiting for them answer.
          for (const waiting of this.pending.values()) waiting.done();
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
   * Call inside the revoking transaction, with the number of listening connections; `wait()`
   * after the commit. Answers at once when not listening (then no cache here serves the key).
   */
  expectAcknowledgements(keyHash: string, listeners: number): RevocationAcknowledgements {
    if (listeners <= 0 || !this.listener.connected) return { wait: () => Promise.resolve(), cancel: () => undefined };
    let done!: () => void;
    const arrived = new Promise<void>((resolve) => (done = resolve));
    const pending: Pending = { expected: listeners, acknowledged: new Set(), done };
    this.pending.set(keyHash, pending);
    const cancel = () => {
      if (this.pending.get(keyHash) === pending) this.pending.delete(keyHash);
    };
    const wait = async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
      });
      try {
        const inTime = await Promise.race([arrived.then(() => true), timeout]);
        if (!inTime) {
          this.logger.warn(`only ${pending.acknowledged.size} of ${listeners} instances acknowledged a revocation within ${ACK_TIMEOUT_MS} ms`);
        }
      } finally {
        clearTimeout(timer);
        cancel();
      }
    };
    return { wait, cancel };
  }

  private onNotification(payload: string | undefined): void {
    if (payload?.startsWith(API_KEY_REVOKED_PREFIX)) {
      const keyHash = payload.slice(API_KEY_REVOKED_PREFIX.length);
      this.cache.forget(keyHash);
      this.listener.notify(`${API_KEY_ACK_PREFIX}${keyHash}:${this.instanceId}`).catch((error) => {
        this.logger.warn(`could not acknowledge a revocation: ${error?.message ?? error}`);
      });
    } else if (payload?.startsWith(API_KEY_ACK_PREFIX)) {
      const [keyHash, instance] = payload.slice(API_KEY_ACK_PREFIX.length).split(':');
      const pending = this.pending.get(keyHash);
      if (!pending || instance === undefined) return;
      pending.acknowledged.add(instance);
      if (pending.acknowledged.size >= pending.expected) pending.done();
    }
  }
}
