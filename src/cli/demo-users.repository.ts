import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

/**
 * The one write `npm run demo` makes without the API: a user whose email is already confirmed.
 * Registration through the API would need the mailed confirmation token, which the service keeps
 * only as a hash (and strips from the outbox once sent), so the demo writes the row a confirmed
 * sign-up ends in, with the columns every users row has.
 */
export class DemoUsersRepository {
  constructor(private readonly databaseUrl: string) {}

  async insertConfirmed(email: string, passwordHash: string): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      await client.query('INSERT INTO users (id, email, password_hash, email_confirmed_at) VALUES ($1, $2, $3, now())', [randomUUID(), email, passwordHash]);
    } finally {
      await client.end();
    }
  }
}
