import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { PollingWorker } from '../../database/polling-worker';
import { inTransaction } from '../../database/transaction';
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
 * outbox in the same transaction. Polls as often as the outbox worker, and is woken by requests
 * recorded on this instance.
 */
@Injectable()
export class AccountRequestsWorker extends PollingWorker {
  protected readonly logger = new Logger(AccountRequestsWorker.name);

  constructor(
    private readonly em: EntityManager,
    private readonly registrations: RegistrationsRepository,
    private readonly requests: AccountRequestsRepository,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    @InjectConfig() config: AppConfig,
  ) {
    super('account requests', ACCOUNT_REQUESTS_BATCH_SIZE, config.mail.pollIntervalMs);
    accounts.whenRecorded(() => this.wake());
  }

  protected runBatch(): Promise<number> {
    return this.decideBatch();
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
