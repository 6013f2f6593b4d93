import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { RevocationChannel } from '../database/revocation-channel';
import { ApiKeyCache } from './api-key.cache';

/** The PostgreSQL channel that carries API-key revocations (by key hash) to every instance. */
export const API_KEY_REVOKED_CHANNEL = 'api_key_revoked';

/**
 * API-key revocations on a `RevocationChannel`: each instance drops the revoked key from its
 * cache, and the revoking request answers once they all have. While the channel cannot prove it
 * hears (not listening, or no heartbeat answered lately) the cache serves no accepted key, since
 * a revocation could be missed; once it listens again the cache starts empty. A key revoked,
 * deleted or changed in SQL is heard the same way, from a trigger (migration
 * `Migration20261206000100RevocationNotify`).
 */
@Injectable()
export class ApiKeyRevocationListener implements OnModuleInit, OnApplicationShutdown {
  private readonly channel: RevocationChannel;

  constructor(@InjectConfig() config: AppConfig, cache: ApiKeyCache) {
    this.channel = new RevocationChannel(
      config.database.url,
      API_KEY_REVOKED_CHANNEL,
      {
        onRevoked: (keyHash) => cache.forget(keyHash),
        onListening: (servingUntil) => cache.resume(servingUntil),
        onHeard: (servingUntil) => cache.heard(servingUntil),
        onDeaf: () => cache.suspend(),
      },
      new Logger(ApiKeyRevocationListener.name),
    );
  }

  get connected(): boolean {
    return this.channel.connected;
  }

  async onModuleInit(): Promise<void> {
    await this.channel.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.channel.stop();
  }

  /** Inside the revoking transaction: every instance forgets the key once it commits, before the transaction resolves. */
  announce(em: EntityManager, keyHash: string): Promise<void> {
    return this.channel.announce(em, keyHash);
  }
}
