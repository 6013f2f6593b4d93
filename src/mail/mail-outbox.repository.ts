import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { MailTemplateName, RenderedMail } from './mail-message';
import { MailOutboxEntity } from './mail-outbox.entity';

const STRIP_BODIES = `payload = jsonb_build_object('subject', payload->'subject')`;

/**
 * Every query on the outbox. All methods take the caller's `em`: enqueueing joins the transaction
 * of the change that causes the mail, delivery runs inside the worker's locking transaction.
 * Updates use clock_timestamp(), not now(): a batch's transaction may have started a while ago.
 */
@Injectable()
export class MailOutboxRepository {
  async insert(em: EntityManager, recipient: string, template: MailTemplateName, payload: RenderedMail): Promise<void> {
    await em.insert(MailOutboxEntity, { recipient, template, payload });
  }

  /**
   * Locks up to `limit` due mails, oldest first. Rows another worker holds are skipped, not waited
   * for, so instances share the queue and never pick the same mail while it is being sent.
   */
  async lockDueBatch(em: EntityManager, limit: number): Promise<MailOutboxEntity[]> {
    const rows = await this.execute<Record<string, unknown>[]>(
      em,
      `SELECT * FROM mail_outbox
       WHERE status = 'pending' AND next_attempt_at <= now()
       ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map((row) => em.map(MailOutboxEntity, row));
  }

  /**
   * Delivered or given up, a row keeps its subject for the record but loses its bodies: they hold
   * one-time links, and the token tables store only hashes for a reason.
   */
  async markSent(em: EntityManager, id: string): Promise<void> {
    await this.execute(
      em,
      `UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = clock_timestamp(), ${STRIP_BODIES} WHERE id = ?`,
      [id],
    );
  }

  async markRetry(em: EntityManager, id: string, delayMs: number, error: string): Promise<void> {
    await this.execute(
      em,
      `UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?,
         next_attempt_at = clock_timestamp() + ? * interval '1 millisecond'
       WHERE id = ?`,
      [error, delayMs, id],
    );
  }

  async markFailed(em: EntityManager, id: string, error: string): Promise<void> {
    await this.execute(em, `UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, ${STRIP_BODIES} WHERE id = ?`, [error, id]);
  }

  /** For the metrics: mails waiting (and the oldest one's age in seconds), and mails given up. */
  async stats(em: EntityManager): Promise<{ pending: number; oldestPendingSeconds: number; failed: number }> {
    const [row] = await this.execute<{ pending: string; oldest: number | null; failed: string }[]>(
      em,
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8 AS oldest,
              count(*) FILTER (WHERE status = 'failed') AS failed
       FROM mail_outbox`,
      [],
    );
    return { pending: Number(row.pending), oldestPendingSeconds: row.oldest ?? 0, failed: Number(row.failed) };
  }

  private execute<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T> {
    return em.getConnection().execute<T & object>(sql, params, 'all', em.getTransactionContext()) as Promise<T>;
  }
}
