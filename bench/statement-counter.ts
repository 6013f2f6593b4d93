import { AsyncLocalStorage } from 'node:async_hooks';
import { Server } from 'node:http';
import { classifyStatement, emptyCounts } from './sql-statements';

/** What the counter wraps: pg's `Client.prototype` in the service, anything with a `query` in tests. */
export interface Queryable {
  query(this: unknown, ...args: unknown[]): unknown;
}

type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Counts SQL statements by kind, split by whether an HTTP request was being served when each was
 * sent, but only while switched on. Counting is a regex on the statement's first word, one
 * AsyncLocalStorage look-up and an increment.
 *
 * Telling a request's statements from background ones (the mail outbox, key reloads) takes an
 * AsyncLocalStorage entered around each request, and on Node 20 one entered AsyncLocalStorage
 * turns async hooks on for the whole process: every promise of every request then pays for them.
 * So the storage is entered only while counting is on, and switching off disables it, which turns
 * the hooks off again once no other storage is left. The product keeps none of its own.
 */
export class StatementCounter {
  readonly inRequests = emptyCounts();
  readonly outsideRequests = emptyCounts();
  private readonly requests = new AsyncLocalStorage<true>();
  private counting = false;
  /** `http.Server.prototype`'s own `emit` before tagging, if it had one (it inherits it on Node 20). */
  private ownEmit?: PropertyDescriptor;

  /**
   * Wraps `target.query` (pg's `Client.prototype.query`: MikroORM's knex pool and any raw client
   * alike) once and for good, so that no copy a library takes of it escapes counting. Off, the
   * wrapper costs one test per statement.
   */
  constructor(target: Queryable) {
    const query = target.query;
    const countIfOn = (config: unknown) => {
      if (this.counting) this.count(config);
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

  /**
   * Runs every HTTP server's 'request' listeners inside the storage, so that all the async work a
   * request starts carries it; the servers that exist already and those created later alike.
   */
  private tagRequests(): void {
    const prototype = Server.prototype as unknown as { emit: Emit };
    this.ownEmit = Object.getOwnPropertyDescriptor(prototype, 'emit');
    const emit = prototype.emit;
    const requests = this.requests;
    prototype.emit = function emitTagged(this: Server, event: string | symbol, ...args: unknown[]) {
      return event === 'request' ? requests.run(true, () => emit.call(this, event, ...args)) : emit.call(this, event, ...args);
    };
  }

  /** Puts `emit` back as it was and disables the storage, which turns Node's async hooks off. */
  private untagRequests(): void {
    if (this.ownEmit) Object.defineProperty(Server.prototype, 'emit', this.ownEmit);
    else delete (Server.prototype as { emit?: unknown }).emit;
    this.ownEmit = undefined;
    this.requests.disable();
  }
}
