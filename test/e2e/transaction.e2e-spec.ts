import { EntityManager } from '@mikro-orm/postgresql';
import { afterTransaction, inTransaction } from '../../src/database/transaction';
import { sql } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';

/** What follows a transaction (a revocation's wait for acknowledgements) runs after the commit, and only then. */
describe('inTransaction and afterTransaction (real PostgreSQL)', () => {
  let service: TestApp;
  let em: EntityManager;

  beforeAll(async () => {
    service = await startTestApp();
    em = service.app.get(EntityManager);
    await em.getConnection().execute('CREATE TABLE after_commit_probe (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await service?.close();
  });

  /** Read on a connection of its own: it sees only what was committed. */
  const committedIds = async () => (await sql<{ id: number }>(service, 'SELECT id FROM after_commit_probe ORDER BY id')).map((row) => row.id);

  it('runs `committed` once the commit is visible to other connections, and resolves after it', async () => {
    const events: string[] = [];
    const result = await inTransaction(em, async (tx) => {
      await tx.getConnection().execute('INSERT INTO after_commit_probe (id) VALUES (1)', [], 'run', tx.getTransactionContext());
      afterTransaction(tx, {
        committed: async () => {
          events.push(`committed, seen: ${(await committedIds()).join(',')}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
          events.push('committed done');
        },
        rolledBack: () => events.push('rolled back'),
      });
      events.push('work done');
      return 'result';
    });
    events.push(`resolved ${result}`);
    expect(events).toEqual(['work done', 'committed, seen: 1', 'committed done', 'resolved result']);
  });

  it('runs `rolledBack`, never `committed`, when the work throws, and rethrows', async () => {
    const events: string[] = [];
    await expect(
      inTransaction(em, async (tx) => {
        await tx.getConnection().execute('INSERT INTO after_commit_probe (id) VALUES (2)', [], 'run', tx.getTransactionContext());
        afterTransaction(tx, { committed: () => void events.push('committed'), rolledBack: () => events.push('rolled back') });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(events).toEqual(['rolled back']);
    expect(await committedIds()).toEqual([1]);
  });

  it('refuses an EntityManager that is not the one inTransaction handed out', () => {
    expect(() => afterTransaction(em.fork(), { committed: () => undefined })).toThrow(/inTransaction/);
  });
});
