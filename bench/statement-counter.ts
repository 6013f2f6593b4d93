import { AsyncLocalStorage } from 'node:async_hooks';
import { Server } from 'node:http';
import { tagRequests } from './request-tagging';
import { classifyStatement, emptyCounts } from './sql-statements';

/** The statements of a credential cache miss: ApiKeysRepository's and UsersRepository's joined reads. */
const CREDENTIAL_READ = /FROM (api_keys k|sessions s) JOIN users u/;

/** What the counter wraps: pg's `Client.prototype` in the service, anything with a `query` in tests. */
export interface Queryable {
  query(this: unknown, ...args: unknown[]): unknown;
}

/**
 * Counts SQL statements by kind, split by whether an HTTP request was being served when each was
 * sent, but only while switched on. Counting is a regex on the statement's first word, one
 * AsyncLocalStorage look-up and an increment.
 *
 * Telling a request's statements from background ones (the mail outbox, key reloads) takes an
 * AsyncLocalStorage entered around each request, which on Node before 24 runs on async hooks:
 * every promise of every request then pays for them, and a process that has once had them on
 * keeps paying some of it (docs/decisions/002-explicit-writes.md). So the storage is entered only
 * while counting is on, switching off disables it, and the benchmark counts only after its timed
 * runs. (The service's own request context, decision 003, is a storage too; this one stays the
 * benchmark's, so that counting does not depend on the product's internals.)
 */
export class StatementCounter {
  /**
   * The miss path's reads (an API key by its hash, a session, each with its user), counted
   * whether counting is on or not: a test of the text of each statement, no request tagging, so
   * the timed runs can report reads per request.
   */
  credentialReads = 0;
  readonly inRequests = emptyCounts();
  readonly outsideRequests = emptyCounts();
  private readonly requests = new AsyncLocalStorage<true>();
  private counting = false;
  /** Undoes the tagging of every server's requests, while counting is on. */
  private untag?: () => void;

  /**
   * Wraps `target.query` (pg's `Client.prototype.query`: MikroORM's knex pool and any raw client
   * alike) once and for good, so that no copy a library takes of it escapes counting. Off, the
   * wrapper costs one test per statement.
   */
  constructor(target: Queryable) {
    const query = target.query;
    const countIfOn = (config: unknown) => {
      if (this.counting) this.count(config);
      const text = typeof config === 'string' ? config : (config as { text?: unknown } | undefined)?.text;
      if (typeof text === 'string' && CREDENTIAL_READ.test(text)) this.credentialReads++;
    };
    target.query = function countedQuery(this: unknown, ...args: unknown[]) {
      countIfOn(args[0]);
      return query.apply(this, args);
    };
  }

  get on(): boolean {
    return this.counting;
  }

  /** Switches counting on or off, and returns whether it counts now. */
  switch(on: boolean): boolean {
    if (on !== this.counting) {
      if (on) this.tagRequests();
      else this.untagRequests();
      this.counting = on;
    }
    return this.counting;
  }

  private count(config: unknown): void {
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') return;
    (this.requests.getStore() ? this.inRequests : this.outsideRequests)[classifyStatement(text)]++;
  }

  /** Every HTTP server's requests, those that exist already and those created later, run inside the storage. */
  private tagRequests(): void {
    this.untag = tagRequests(Server.prototype, this.requests, () => true);
  }

  /** Puts `emit` back as it was and disables the storage, which turns Node's async hooks off. */
  private untagRequests(): void {
    this.untag?.();
    this.untag = undefined;
    this.requests.disable();
  }
}
