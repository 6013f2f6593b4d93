import { EntityManager, raw } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { inboxOf } from '../common/email-address';
import { MailFailure } from './mail-backoff';
import { MailTemplateName, RenderedMail } from './mail-message';
import { MailOutboxEntity } from './mail-outbox.entity';

/** Which failed mails an operator sends again. */
export type FailedMailSelection = { id: string } | { since: Date } | { allFailed: true };

export interface OutboxStats {
  pending: number;
  oldestPendingSeconds: number;
  failed: Record<MailFailure, number>;
}

/**
 * Every query on the outbox. All methods take the caller's `em`: enqueueing joins the transaction
 * of the change that causes the mail; the worker's statements are each their own transaction, so
 * what it records is committed the moment the statement answers.
 * Updates use clock_timestamp(), not now(): inside a transaction now() is when it began.
 */
@Injectable()
export class MailOutboxRepository {
  /**
   * `lane.awaited`: the lane the mail is claimed in (see `claimDueBatch`). Its place in the lane,
   * `queue_position`, and `created_at` take the database's now(), so that every instance's mails
   * are placed on the same clock; the place `lane.behindSeconds` after it.
   */
  async insert(em: EntityManager, recipient: string, template: MailTemplateName, payload: RenderedMail, lane: { awaited: boolean; behindSeconds: number }): Promise<void> {
    const place = lane.behindSeconds > 0 ? { queuePosition: raw(`now() + ? * interval '1 second'`, [lane.behindSeconds]) } : {};
    await em.insert(MailOutboxEntity, { recipient, inbox: inboxOf(recipient), template, payload, awaited: lane.awaited, ...place });
  }

  /**
   * How many mails of `templates` were queued in the last `windowSeconds` for the inbox `recipient`
   * delivers to, under any of its names (`inboxOf`: `ada+news@` is `ada@`), whatever became of
   * them, the caller's transaction's own included. A mail queued by a release that kept no inbox
   * counts by its address, without case, as that release counted it.
   */
  async countQueuedTo(em: EntityManager, recipient: string, templates: readonly MailTemplateName[], windowSeconds: number): Promise<number> {
    const [row] = await this.execute<{ queued: number }[]>(
      em,
      `SELECT count(*)::int AS queued FROM mail_outbox
       WHERE (inbox = ? OR (inbox IS NULL AND lower(recipient) = lower(?)))
         AND template IN (${templates.map(() => '?').join(', ')}) AND created_at > now() - ? * interval '1 second'`,
      [inboxOf(recipient), recipient, ...templates, windowSeconds],
    );
    return row.queued;
  }

  /**
   * Claims up to `limit` due mails for `leaseMs` from two lanes, mail someone waits for and notices
   * (`awaited`, set at enqueue), each first in its queue first (`queue_position`, then id). Half
   * the batch, rounded up, is awaited mail's and the rest the notices'; a lane with fewer due mails
   * leaves its share to the other. So neither kind waits behind the other's backlog, however large:
   * a flood of sign-ups cannot hold back a password-changed notice, nor a burst of notices a
   * confirmation link. The batch is answered in turns, a mail of each lane, awaited mail first in
   * each (a person is on a page waiting): when the mail server is so slow that the worker hands the
   * end of a batch back untried, both lanes lose their share of it, where answering awaited mail
   * first handed back the same notices batch after batch while awaited mail was due.
   * The claimed mails' next attempt moves to the end of the lease, so no worker (this instance's or
   * another's) takes them meanwhile, and a worker that dies with them only delays them.
   * `SKIP LOCKED`: two claims never wait on each other nor take the same row.
   *
   * Each lane is read as far as the shares need, and a row is locked as it is read, so a claim
   * locks only the rows it takes and a claim beside it takes the next ones: awaited mail up to its
   * share first, then notices up to what that leaves, then awaited mail again up to what the
   * notices leave. (Were PostgreSQL to read a lane further, it would lock rows it does not take
   * until the statement ends, and a claim beside it would pass over them, to the next tick.)
   *
   * The end of the lease also names the claim: each claimed mail's `nextAttemptAt` is the value the
   * outcome writes below must still find, so a worker whose lease ran out while it held an outcome
   * cannot undo the claim of the worker that took the mail since. It is cut to the millisecond so a
   * JavaScript Date carries it back exactly; a later claim of the same row starts once the lease
   * has ended, so its end is always later.
   */
  async claimDueBatch(em: EntityManager, limit: number, leaseMs: number): Promise<MailOutboxEntity[]> {
    const awaitedShare = Math.ceil(limit / 2);
    const rows = await this.execute<Record<string, unknown>[]>(
      em,
      `WITH awaited AS (
         SELECT id FROM mail_outbox WHERE status = 'pending' AND awaited AND next_attempt_at <= clock_timestamp()
         ORDER BY queue_position, id LIMIT ? FOR UPDATE SKIP LOCKED
       ), notices AS (
         SELECT id FROM mail_outbox WHERE status = 'pending' AND NOT awaited AND next_attempt_at <= clock_timestamp()
         ORDER BY queue_position, id LIMIT ? FOR UPDATE SKIP LOCKED
       ), notices_taken AS (
         SELECT id FROM notices LIMIT ? - (SELECT count(*) FROM (SELECT id FROM awaited LIMIT ?) AS awaited_share)
       ), awaited_taken AS (
         SELECT id FROM awaited LIMIT ? - (SELECT count(*) FROM notices_taken)
       ), claimed AS (
         UPDATE mail_outbox SET next_attempt_at = date_trunc('milliseconds', clock_timestamp() + ? * interval '1 millisecond')
         WHERE id IN (SELECT id FROM awaited_taken UNION ALL SELECT id FROM notices_taken)
         RETURNING *)
       SELECT * FROM claimed ORDER BY row_number() OVER (PARTITION BY awaited ORDER BY queue_position, id), awaited DESC`,
      [limit, limit, limit, awaitedShare, limit, leaseMs],
    );
    return rows.map((row) => em.map(MailOutboxEntity, row));
  }

  /**
   * Hands a claimed mail that was not tried back to the queue, due at once. This and the other
   * outcome writes change the row only while `claimed`'s claim holds (see `claimDueBatch`), and
   * answer whether it did.
   */
  async release(em: EntityManager, claimed: MailOutboxEntity): Promise<boolean> {
    return this.updateClaimed(em, claimed, `next_attempt_at = clock_timestamp()`, []);
  }

  /**
   * Delivered, a row keeps its subject for the record but loses its bodies: they hold one-time
   * links, and the token tables store only hashes for a reason. Written whoever holds the claim
   * now: a delivery is a fact, and once it is recorded the outcome of any later claim changes
   * nothing, where leaving the row to that claim's release or retry would send it once more.
   * Except on a mail that failed and was sent again since (`failed_at` is kept through
   * `requeueFailed`): that copy was asked for after the delivery, so only its own claim may mark it.
   * Answers whether the row was still pending.
   */
  async markSent(em: EntityManager, claimed: MailOutboxEntity): Promise<boolean> {
    const rows = await this.execute<unknown[]>(
      em,
      `UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = clock_timestamp(), failed_at = NULL,
         payload = jsonb_build_object('subject', payload->'subject')
       WHERE id = ? AND status = 'pending' AND (failed_at IS NULL OR next_attempt_at = ?::timestamptz) RETURNING id`,
      [claimed.id, claimed.nextAttemptAt.toISOString()],
    );
    return rows.length > 0;
  }

  /**
   * Mails waiting on a retry further off than `leaseMs` are due now; answers how many. Claimed
   * rows are due at most a lease ahead, so none of them is handed to a second worker.
   */
  async retryBackedOffNow(em: EntityManager, leaseMs: number): Promise<number> {
    const rows = await this.execute<unknown[]>(
      em,
      `UPDATE mail_outbox SET next_attempt_at = clock_timestamp()
       WHERE status = 'pending' AND next_attempt_at > clock_timestamp() + ? * interval '1 millisecond'
       RETURNING id`,
      [leaseMs],
    );
    return rows.length;
  }

  async markRetry(em: EntityManager, claimed: MailOutboxEntity, delayMs: number, error: string): Promise<boolean> {
    return this.updateClaimed(em, claimed, `attempts = attempts + 1, last_error = ?, next_attempt_at = clock_timestamp() + ? * interval '1 millisecond'`, [error, delayMs]);
  }

  /** Given up, a mail keeps its bodies: an operator can send it again as it was (`npm run mail:resend`). */
  async markFailed(em: EntityManager, claimed: MailOutboxEntity, failure: MailFailure, error: string): Promise<boolean> {
    return this.updateClaimed(em, claimed, `status = 'failed', failure = ?, failed_at = clock_timestamp(), attempts = attempts + 1, last_error = ?`, [failure, error]);
  }

  /**
   * Puts the selected failed mails back in the queue, due now, with a fresh round of attempts;
   * `last_error` stays until the next attempt, and `failed_at` until it is sent (see `markSent`). Mails that failed before failed mails kept their
   * bodies have nothing to send: they are left as they are and answered apart.
   */
  async requeueFailed(em: EntityManager, selection: FailedMailSelection): Promise<{ requeued: string[]; withoutBody: string[] }> {
    const [condition, params] =
      'id' in selection ? ['id = ?', [selection.id]] : 'since' in selection ? ['failed_at >= ?', [selection.since]] : ['true', []];
    const rows = await this.execute<{ id: string; requeued: boolean }[]>(
      em,
      `WITH selected AS (
         SELECT id, payload->>'text' IS NOT NULL AS has_body FROM mail_outbox WHERE status = 'failed' AND ${condition} FOR UPDATE
       ), requeued AS (
         UPDATE mail_outbox m SET status = 'pending', failure = NULL, attempts = 0, next_attempt_at = clock_timestamp()
         FROM selected s WHERE m.id = s.id AND s.has_body
         RETURNING m.id
       )
       SELECT s.id::text AS id, s.has_body AS requeued FROM selected s ORDER BY s.id`,
      params,
    );
    return { requeued: rows.filter((row) => row.requeued).map((row) => row.id), withoutBody: rows.filter((row) => !row.requeued).map((row) => row.id) };
  }

  /** For the metrics: mails waiting (and the oldest one's age in seconds), and mails given up, by why. */
  async stats(em: EntityManager): Promise<OutboxStats> {
    const [row] = await this.execute<{ pending: string; oldest: number | null; rejected: string; exhausted: string }[]>(
      em,
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8 AS oldest,
              count(*) FILTER (WHERE failure = 'rejected') AS rejected,
              count(*) FILTER (WHERE failure = 'retries_exhausted') AS exhausted
       FROM mail_outbox`,
      [],
    );
    return {
      pending: Number(row.pending),
      oldestPendingSeconds: row.oldest ?? 0,
      failed: { rejected: Number(row.rejected), retries_exhausted: Number(row.exhausted) },
    };
  }

  /** Applies `assignments` to `claimed`'s row if it is still pending under that claim; answers whether it was. */
  private async updateClaimed(em: EntityManager, claimed: MailOutboxEntity, assignments: string, params: unknown[]): Promise<boolean> {
    const rows = await this.execute<unknown[]>(
      em,
      `UPDATE mail_outbox SET ${assignments}
       WHERE id = ? AND status = 'pending' AND next_attempt_at = ?::timestamptz
       RETURNING id`,
      [...params, claimed.id, claimed.nextAttemptAt.toISOString()],
    );
    return rows.length > 0;
  }

  private execute<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T> {
    return em.getConnection().execute<T & object>(sql, params, 'all', em.getTransactionContext()) as Promise<T>;
  }
}
