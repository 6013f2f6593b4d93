import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

/** One key's uses since the last flush, as written. */
export interface ApiKeyUsageWrite {
  id: string;
  lastUsedAt: Date;
  ip: string | null;
  userAgent: string | null;
  /** `day`: a UTC date, `2026-12-05`. */
  days: Array<{ day: string; succeeded: number; refused: number }>;
}

/** A key's usage as read back for its owner. */
export interface ApiKeyUsage {
  id: string;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  lastUsedUserAgent: string | null;
  days: Array<{ day: string; succeeded: number; refused: number }>;
}

/** The queries of API-key usage: batched writes from the recorder, and the owner's read. */
@Injectable()
export class ApiKeyUsageRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Two statements for a whole batch, outside a transaction on purpose: the last use only ever
   * moves forward, so writing it again after a failure is harmless, and the counts are added
   * after it, so a batch that failed anywhere can be retried whole without counting twice
   * (except when the connection drops after the counts committed, unseen).
   */
  async recordUsage(uses: ApiKeyUsageWrite[]): Promise<void> {
    if (uses.length === 0) return;
    const connection = this.em.getConnection();
    const lastUses = JSON.stringify(uses.map((use) => ({ id: use.id, used_at: use.lastUsedAt.toISOString(), ip: use.ip, user_agent: use.userAgent })));
    await connection.execute(
      `UPDATE api_keys AS k SET last_used_at = u.used_at, last_used_ip = u.ip, last_used_user_agent = u.user_agent
         FROM json_to_recordset(?::json) AS u(id uuid, used_at timestamptz, ip text, user_agent text)
        WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at <= u.used_at)`,
      [lastUses],
    );
    // In key and day order, so two instances adding to the same rows take their locks alike.
    const days = uses
      .flatMap((use) => use.days.map((day) => ({ id: use.id, ...day })))
      .sort((a, b) => (a.id === b.id ? a.day.localeCompare(b.day) : a.id.localeCompare(b.id)));
    // A key that no longer exists is skipped rather than failing the batch on its foreign key.
    await connection.execute(
      `INSERT INTO api_key_usage_days AS d (api_key_id, day, succeeded, refused)
       SELECT u.id, u.day, u.succeeded, u.refused
         FROM json_to_recordset(?::json) AS u(id uuid, day date, succeeded bigint, refused bigint)
         JOIN api_keys k ON k.id = u.id
       ON CONFLICT (api_key_id, day) DO UPDATE SET succeeded = d.succeeded + excluded.succeeded, refused = d.refused + excluded.refused`,
      [JSON.stringify(days)],
    );
  }

  /** Deletes the counts of days before `firstKeptDay`. */
  async pruneBefore(firstKeptDay: string): Promise<void> {
    await this.em.getConnection().execute('DELETE FROM api_key_usage_days WHERE day < ?::date', [firstKeptDay]);
  }

  /** The usage of the user's key since `sinceDay`, or null when the key is unknown or someone else's. */
  async findForUser(userId: string, id: string, sinceDay: string): Promise<ApiKeyUsage | null> {
    const connection = this.em.getConnection();
    const keys = await connection.execute<Array<{ id: string; last_used_at: Date | null; last_used_ip: string | null; last_used_user_agent: string | null }>>(
      'SELECT id, last_used_at, last_used_ip, last_used_user_agent FROM api_keys WHERE id = ? AND user_id = ?',
      [id, userId],
    );
    if (keys.length === 0) return null;
    const [key] = keys;
    const days = await connection.execute<Array<{ day: string; succeeded: string; refused: string }>>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, succeeded, refused FROM api_key_usage_days WHERE api_key_id = ? AND day >= ?::date ORDER BY day`,
      [id, sinceDay],
    );
    return {
      id: key.id,
      lastUsedAt: key.last_used_at === null ? null : new Date(key.last_used_at),
      lastUsedIp: key.last_used_ip,
      lastUsedUserAgent: key.last_used_user_agent,
      days: days.map((row) => ({ day: row.day, succeeded: Number(row.succeeded), refused: Number(row.refused) })),
    };
  }
}
