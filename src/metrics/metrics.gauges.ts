import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ApiKeyCache } from '../api-keys/api-key.cache';
import { ApiKeyRevocationListener } from '../api-keys/api-key-revocation.listener';
import { SigningKeyRing } from '../auth/keys/signing-key.ring';
import { SessionRevocations } from '../auth/tokens/session.revocations';
import { MemoryBudget } from '../common/cache/memory.budget';
import { droppedLogLines } from '../common/logging/app.logger';
import { MailOutboxRepository, OutboxStats } from '../mail/mail-outbox.repository';
import { OutboxWorker } from '../mail/outbox.worker';
import { DatabaseOutage } from '../database/database.outage';
import { RateLimiterService } from '../rate-limit/rate-limiter.service';
import { UsersService } from '../users/users.service';
import { MetricsService } from './metrics.service';

/** A tarn pool, as knex keeps it; read for the pool gauges only. */
interface PoolCounts {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** The gauges read from the service's parts when Prometheus scrapes. */
@Injectable()
export class MetricsGauges implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly em: EntityManager,
    private readonly outbox: MailOutboxRepository,
    private readonly outboxWorker: OutboxWorker,
    private readonly apiKeyCache: ApiKeyCache,
    private readonly apiKeyRevocations: ApiKeyRevocationListener,
    private readonly sessionRevocations: SessionRevocations,
    private readonly users: UsersService,
    private readonly signingKeys: SigningKeyRing,
    private readonly rateLimiter: RateLimiterService,
    private readonly outage: DatabaseOutage,
    private readonly cacheBudget: MemoryBudget,
  ) {}

  onModuleInit(): void {
    const gauge = this.metrics.gauge.bind(this.metrics);
    gauge('atiru_api_key_cache_accepted_entries', 'API keys this instance answers from memory', () => this.apiKeyCache.size.accepted);
    gauge('atiru_api_key_cache_rejected_entries', 'Unknown API keys this instance refuses from memory', () => this.apiKeyCache.size.rejected);
    gauge('atiru_auth_cache_bytes', 'Bytes the credential caches hold, as charged against AUTH_CACHE_MAX_MB (docs/capacity.md)', () => this.cacheBudget.bytes);
    this.metrics.labelledCounter(
      'atiru_log_lines_dropped_total',
      'Log lines dropped because their destination was not read fast enough and LOG_BUFFER_MAX_MB waited unread',
      'destination',
      () => ({ stdout: droppedLogLines() }),
    );
    gauge('atiru_auth_cache_max_bytes', 'The bound on atiru_auth_cache_bytes: AUTH_CACHE_MAX_MB, or half the heap when that is less', () => this.cacheBudget.maxBytes);
    gauge(
      'atiru_revocation_listener_connected',
      '1 while this instance hears revocations of API keys and of sessions (its caches answer only then), else 0',
      () => (this.apiKeyRevocations.connected && this.sessionRevocations.listening ? 1 : 0),
    );

    gauge('atiru_api_key_cache_serving', '1 while accepted API keys are answered from memory: the listener proved lately that it hears revocations (decision 011), else 0', () =>
      this.apiKeyCache.serving ? 1 : 0,
    );
    gauge(
      'atiru_user_cache_serving',
      '1 while the user a credential acts as is answered from memory: the users listener proved lately that it hears every change to a user (decision 011), else 0 (every authenticated request reads its user)',
      () => (this.users.serving ? 1 : 0),
    );
    // Only when the keys come from the database: with SIGNING_KEY_PEM there is nothing to hear.
    if (this.signingKeys.hearingRotations !== undefined) {
      gauge('atiru_signing_key_listener_connected', '1 while this instance hears signing-key rotations as they happen, else 0 (it reads them at its next periodic reload)', () =>
        this.signingKeys.hearingRotations ? 1 : 0,
      );
    }
    gauge('atiru_database_outage', '1 while this instance answers 503 for want of the database (from the first refused request until a probe succeeds), else 0', () =>
      this.outage.ongoing ? 1 : 0,
    );
    // Only with a shared store: an unset gauge would still read 0, which means "open" here.
    if (this.rateLimiter.sharedStoreAvailable !== undefined) {
      gauge('atiru_rate_limit_store_available', '1 while the shared rate-limit store (Redis) is asked, 0 while its circuit breaker is open (counts fail open)', () =>
        this.rateLimiter.sharedStoreAvailable ? 1 : 0,
      );
    }

    // One query per scrape for the three outbox gauges.
    let stats: Promise<OutboxStats | undefined> | undefined;
    const outbox = () => (stats ??= this.outbox.stats(this.em.fork()).catch(() => undefined).finally(() => setTimeout(() => (stats = undefined), 1_000)));
    gauge('atiru_mail_outbox_pending', 'Mails waiting to be sent', async () => (await outbox())?.pending);
    gauge('atiru_mail_outbox_oldest_pending_seconds', 'Age of the oldest mail waiting to be sent', async () => (await outbox())?.oldestPendingSeconds);
    this.metrics.labelledGauge(
      'atiru_mail_outbox_failed',
      'Mails given up, by reason: rejected (refused for good by the mail server) or retries_exhausted (every attempt failed)',
      'reason',
      async () => (await outbox())?.failed,
    );
    this.metrics.labelledCounter(
      'atiru_mail_delivery_attempts_total',
      'Mails handed to the mail server by this instance, by outcome: sent, temporary_failure (retried), permanent_failure (rejected)',
      'outcome',
      () => ({ ...this.outboxWorker.deliveries }),
    );

    const pool = () => (this.em.getConnection().getKnex().client as { pool?: PoolCounts }).pool;
    gauge('atiru_db_pool_connections_used', 'Database connections in use', () => pool()?.numUsed());
    gauge('atiru_db_pool_connections_free', 'Database connections idle in the pool', () => pool()?.numFree());
    gauge('atiru_db_pool_acquires_pending', 'Queries waiting for a database connection', () => pool()?.numPendingAcquires());
  }
}
