import { TestSmtpServer } from './smtp';
import { startTestApp, TestApp } from './test-app';
import { createTestDatabase, TestDatabase } from './test-database';

/** Two instances of the service on one fresh database, mailing to one real SMTP server. */
export interface TwoInstances {
  database: TestDatabase;
  smtp: TestSmtpServer;
  first: TestApp;
  second: TestApp;
  /** Stops both instances and the SMTP server, and drops the database. */
  close(): Promise<void>;
}

/** For what must hold on every instance: `env` is given to both, with `SMTP_URL` set to the test server. */
export async function startTwoInstances(env: Record<string, string> = {}): Promise<TwoInstances> {
  const database = await createTestDatabase();
  const smtp = await new TestSmtpServer().start();
  const withMail = { ...env, SMTP_URL: smtp.url };
  const first = await startTestApp({ database, env: withMail });
  const second = await startTestApp({ database, env: withMail });
  return {
    database,
    smtp,
    first,
    second,
    async close() {
      await second.close();
      await first.close();
      await smtp.stop();
      await database.drop();
    },
  };
}
