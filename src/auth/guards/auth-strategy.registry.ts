import { Injectable } from '@nestjs/common';
import type { Strategy } from 'passport';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../../common/auth/principal';

/**
 * The credential the strategy would verify, taken from its header in its form (the token of
 * `Bearer <jwt>`, the key in `X-Api-Key`), or undefined when the request carries none it reads.
 */
export type ReadCredential = (headers: IncomingHttpHeaders) => string | undefined;

/**
 * The strategy's verdict from memory alone on a credential it read: the principal of one it has
 * seen before and still holds good, or undefined when only running the strategy can tell.
 */
export type FromMemory = (credential: string) => Principal | undefined;

/** How a run of strategies ended; exactly one of these is called, once. */
export interface ChainVerdict {
  success(user: unknown): void;
  /** Every strategy failed (or passed): their challenges, in order. */
  fail(challenges: unknown[]): void;
  error(error: unknown): void;
}

/** What passport strategies call on the per-request copy they run on. */
interface StrategyActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  error(error: unknown): void;
  pass(): void;
  redirect(url: string, status?: number): void;
}

/**
 * This application's passport strategies, which the combined guard runs. Passport's default
 * registry is one per process, so two instances of the app in one process (the multi-instance
 * tests) would silently share the strategies of whichever started last. A strategy registers
 * itself in its constructor, after `super(...)`, saying how it reads its credential and, if it
 * can, how it decides from memory:
 * `constructor(registry: AuthStrategyRegistry) { super({...}); registry.register('api-key-header', this, readKey, (key) => this.fromMemory(key)); }`
 */
@Injectable()
export class AuthStrategyRegistry {
  private readonly strategies = new Map<string, { strategy: Strategy; read: ReadCredential; fromMemory?: FromMemory }>();

  register(name: string, strategy: Strategy, read: ReadCredential, fromMemory?: FromMemory): void {
    this.strategies.set(name, { strategy, read, fromMemory });
  }

  has(name: string): boolean {
    return this.strategies.has(name);
  }

  /**
   * The credential the strategy would verify, if the request carries one it reads. A strategy
   * that reads none would only fail, and passport strategies fail with an `Error`, whose stack
   * trace alone cost more than verifying a cached credential: the guard skips them instead.
   */
  read(name: string, headers: IncomingHttpHeaders): string | undefined {
    return this.strategies.get(name)?.read(headers);
  }

  /**
   * The strategy's verdict from memory, if it has one (see FromMemory). No per-request copy of the
   * strategy, no callbacks: making those cost a fifth of an authenticated request's CPU, far more
   * than the look-up itself.
   */
  fromMemory(name: string, credential: string): Principal | undefined {
    return this.strategies.get(name)?.fromMemory?.(credential);
  }

  /**
   * Runs the named strategies in order until one succeeds, by passport's strategy protocol: each
   * runs on a per-request copy (`Object.create`) that carries `success`, `fail`, `error`, `pass`
   * and `redirect`. That is what passport's `authenticate()` middleware does, without what it adds
   * for sessions and browsers: it installed `req.login`, `req.logout` and two more functions on
   * every request, which also changed the request object's shape for the rest of its way, and
   * cost a tenth of an authenticated request's CPU. A strategy that decides synchronously reaches
   * the verdict before this returns.
   */
  run(names: readonly string[], request: unknown, verdict: ChainVerdict): void {
    const challenges: unknown[] = [];
    const attempt = (index: number): void => {
      const entry = index < names.length ? this.strategies.get(names[index]) : undefined;
      if (entry === undefined) return verdict.fail(challenges);
      const actions: StrategyActions = Object.create(entry.strategy);
      actions.success = (user) => verdict.success(user);
      actions.fail = (challenge) => {
        challenges.push(challenge);
        attempt(index + 1);
      };
      actions.error = (error) => verdict.error(error);
      // Neither fits a credential check; both end the run as a failure, as an unanswered request would.
      actions.pass = () => verdict.fail(challenges);
      actions.redirect = () => verdict.fail(challenges);
      (actions as unknown as { authenticate(request: unknown, options: object): void }).authenticate(request, { session: false });
    };
    attempt(0);
  }
}
