import { EntityManager } from '@mikro-orm/postgresql';

/**
 * Runs `work` in one database transaction, on a fresh fork of `em` bound to it: commits when
 * `work` resolves, rolls back when it throws.
 *
 * Not `em.transactional()`, and never `em.flush()`: both enter an AsyncLocalStorage, and on
 * Node 20 the first entry turns async hooks on for the whole process, for good. From then on
 * every promise of every request pays for them, a large share of an authenticated request's CPU
 * (decision 002). So writes are explicit statements, which MikroORM runs without its unit of work:
 * `em.insert(entity)`, `em.nativeUpdate(...)`, or SQL. Reads may load entities as usual.
 *
 * An entity changed inside `work` and not written by a statement would be lost silently without
 * the flush; the transaction fails instead, before it commits, naming the entities.
 */
export async function inTransaction<T>(em: EntityManager, work: (em: EntityManager) => Promise<T>): Promise<T> {
  const fork = em.fork({ clear: true });
  const outcomes: TransactionOutcome[] = [];
  followers.set(fork, outcomes);
  let result: T;
  try {
    // The connection's own transaction (BEGIN … COMMIT on one pooled connection) enters no context.
    // eslint-disable-next-line no-restricted-syntax
    result = await fork.getConnection('write').transactional(async (transaction) => {
      fork.setTransactionContext(transaction);
      try {
        const value = await work(fork);
        assertNothingUnwritten(fork);
        return value;
      } finally {
        fork.resetTransactionContext();
      }
    });
  } catch (error) {
    followers.delete(fork);
    for (const outcome of outcomes) outcome.rolledBack?.();
    throw error;
  }
  followers.delete(fork);
  await Promise.all(outcomes.map((outcome) => outcome.committed()));
  return result;
}

/** What to do once the transaction of `afterTransaction` has ended, one way or the other. */
export interface TransactionOutcome {
  /** After the commit; `inTransaction` resolves once this has. */
  committed(): Promise<void> | void;
  rolledBack?(): void;
}

/** The outcomes registered on each open `inTransaction` fork. */
const followers = new WeakMap<EntityManager, TransactionOutcome[]>();

/**
 * Runs `outcome` when the transaction `em` belongs to ends: what must follow a commit (waiting
 * for other instances to hear a NOTIFY, which PostgreSQL delivers at commit) happens for every
 * caller of the code that wrote, without each of them having to remember it. `em` must be the
 * one `inTransaction` handed to its work.
 */
export function afterTransaction(em: EntityManager, outcome: TransactionOutcome): void {
  const outcomes = followers.get(em);
  if (outcomes === undefined) throw new Error('afterTransaction needs the EntityManager of an inTransaction');
  outcomes.push(outcome);
}

function assertNothingUnwritten(em: EntityManager): void {
  const unitOfWork = em.getUnitOfWork();
  unitOfWork.computeChangeSets();
  const unwritten = unitOfWork.getChangeSets();
  if (unwritten.length === 0) return;
  const names = unwritten.map((changeSet) => `${changeSet.type} ${changeSet.name}`).join(', ');
  throw new Error(`Entity changes that no statement wrote (${names}): write them with em.insert or em.nativeUpdate`);
}
