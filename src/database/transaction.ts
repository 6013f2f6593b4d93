import { EntityManager } from '@mikro-orm/postgresql';

/**
 * Runs `work` in one database transaction, on a fresh fork of `em` bound to it: commits when
 * `work` resolves, rolls back when it throws.
 *
 * Not `em.transactional()`, and never `em.flush()`: both enter an AsyncLocalStorage, and on
 * Node 20 the first entry turns async hooks on for the whole process, for good. From then on
 * every promise of every request pays for them, a fifth of an authenticated request's CPU on the
 * benchmark. So writes are explicit statements, which MikroORM runs without its unit of work:
 * `em.insert(entity)`, `em.nativeUpdate(...)`, or SQL. Reads may load entities as usual.
 *
 * An entity changed inside `work` and not written by a statement would be lost silently without
 * the flush; the transaction fails instead, before it commits, naming the entities.
 */
export async function inTransaction<T>(em: EntityManager, work: (em: EntityManager) => Promise<T>): Promise<T> {
  const fork = em.fork({ clear: true });
  // The connection's own transaction (BEGIN … COMMIT on one pooled connection) enters no context.
  // eslint-disable-next-line no-restricted-syntax
  return fork.getConnection('write').transactional(async (transaction) => {
    fork.setTransactionContext(transaction);
    try {
      const result = await work(fork);
      assertNothingUnwritten(fork);
      return result;
    } finally {
      fork.resetTransactionContext();
    }
  });
}

function assertNothingUnwritten(em: EntityManager): void {
  const unitOfWork = em.getUnitOfWork();
  unitOfWork.computeChangeSets();
  const unwritten = unitOfWork.getChangeSets();
  if (unwritten.length === 0) return;
  const names = unwritten.map((changeSet) => `${changeSet.type} ${changeSet.name}`).join(', ');
  throw new Error(`Entity changes that no statement wrote (${names}): write them with em.insert or em.nativeUpdate`);
}
