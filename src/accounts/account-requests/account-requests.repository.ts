import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

export type AccountRequestKind = 'resend_confirmation' | 'forgot_password';

/** Someone asked for a mail about an address; whether one goes out is decided later. */
export interface AccountRequest {
  kind: AccountRequestKind;
  email: string;
  redirectTo: string | null;
}

/** Every query on queued account requests. Methods take the caller's transaction. */
@Injectable()
export class AccountRequestsRepository {
  async add(em: EntityManager, request: AccountRequest): Promise<void> {
    await em
      .getConnection()
      .execute('INSERT INTO account_requests (kind, email, redirect_to) VALUES (?, ?, ?)', [request.kind, request.email, request.redirectTo], 'run', em.getTransactionContext());
  }

  /**
   * Takes up to `limit` requests off the queue, oldest first. They are deleted in the caller's
   * transaction, so a rollback puts them back; rows another instance holds are skipped.
   */
  async takeBatch(em: EntityManager, limit: number): Promise<AccountRequest[]> {
    const rows = await em.getConnection().execute<Array<{ kind: AccountRequestKind; email: string; redirect_to: string | null }>>(
      `DELETE FROM account_requests WHERE id IN (
         SELECT id FROM account_requests ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
       ) RETURNING kind, email, redirect_to`,
      [limit],
      'all',
      em.getTransactionContext(),
    );
    return rows.map((row) => ({ kind: row.kind, email: row.email, redirectTo: row.redirect_to }));
  }
}
