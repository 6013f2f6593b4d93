import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { inTransaction } from '../../database/transaction';
import { describeDeliveryError } from '../../mail/mail-backoff';
import { AccountsService } from '../accounts.service';
import { AccountRequestsRepository } from './account-requests.repository';
import { RegistrationsRepository } from './registrations.repository';

/** Registrations and requests decided per transaction. */
export const ACCOUNT_REQUESTS_BATCH_SIZE = 20;

/**
 * Decides, after the fact, what the account requests that were only recorded (registrations,
 * resend-confirmation, forgot-password) send: whether the address has an account shows only in
 * which mail reaches it, never in the answer to the request, nor in its time. Each tick takes a
 * batch (`FOR UPDATE SKIP LOCKED`, so instances share the queue) and writes the mails to the
 * outbox in the same transaction. Polls as often as the outbox worker.
 */
@Injectable()
export class AccountRequestsWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AccountRequestsWorker.name);
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private running = false;
  private failedTicks = 0;

  constructor(
    private readonly em: EntityManager,
    private readonly registrations: RegistrationsRepository,
    private readonly requests: AccountRequestsRepository,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.schedule(0);
  }

  /** Stops polling and waits for the batch in flight, before the ORM closes. */
  async onModuleDestroy(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tick;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick = this.runTick();
    }, delayMs);
  }

  private async runTick(): Promise<void> {
    let full = false;
    try {
      full = (await this.decideBatch()) === ACCOUNT_REQUESTS_BATCH_SIZE;
      if (this.failedTicks > 0) this.logger.log(`account requests worker recovered after ${this.failedTicks} failed tick(s)`);
      this.failedTicks = 0;
    } catch (error) {
      this.failedTicks++;
      if (this.failedTicks === 1) this.logger.error(`account requests tick failed, retrying every ${this.config.mail.pollIntervalMs} ms`, error as Error);
      else this.logger.debug(`account requests tick failed again (${this.failedTicks}): ${describeDeliveryError(error)}`);
    } finally {
      this.schedule(full ? 0 : this.config.mail.pollIntervalMs);
    }
  }

  /** One transaction: decide a batch of registrations and one of requests. Answers the larger batch's size. */
  async decideBatch(): Promise<number> {
    const now = this.clock.now();
    return inTransaction(this.em, async (em) => {
      const registrations = await this.registrations.lockUndecidedBatch(em, ACCOUNT_REQUESTS_BATCH_SIZE);
      for (const registration of registrations) await this.accounts.decideRegistration(em, registration, now);
      const requests = await this.requests.takeBatch(em, ACCOUNT_REQUESTS_BATCH_SIZE);
      for (const request of requests) await this.accounts.decideRequest(em, request, now);
      await this.registrations.purgeExpired(em, now);
      return Math.max(registrations.length, requests.length);
    });
  }
}
