import { Algorithm, hash, verify } from '@node-rs/argon2';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Semaphore } from '../../common/concurrency/semaphore';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

/** OWASP's argon2id minimum: 19 MiB, two passes, one lane. */
export const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * What `users.password_hash` (NOT NULL) holds for an account that has no password yet: one whose
 * address was registered more than once, so that no registration's password could be trusted
 * (decision 017). It is not a PHC string, so `hash` never produces it and nothing typed matches it.
 */
export const NO_PASSWORD_HASH = '!no-password';

export const PASSWORD_MIN_LENGTH = 6;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Password hashing with argon2id. `@node-rs/argon2`'s async functions run on libuv's thread
 * pool, off the event loop; at most `PASSWORD_HASH_CONCURRENCY` run at once (by default one core
 * fewer than the machine has), so a flood of logins queues for the hashing cores instead of
 * taking the CPU from every other request.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private dummyHash?: Promise<string>;
  private readonly slots: Semaphore;

  constructor(@InjectConfig() config: AppConfig) {
    this.slots = new Semaphore(config.passwordHashConcurrency);
  }

  onModuleInit(): void {
    this.dummyHash = this.hash(randomBytes(18).toString('base64url'));
  }

  hash(password: string): Promise<string> {
    return this.slots.run(() => hash(password, ARGON2_OPTIONS));
  }

  /** False for an account without a password, after the same work as a wrong password costs. */
  verify(passwordHash: string, password: string): Promise<boolean> {
    if (passwordHash === NO_PASSWORD_HASH) return this.verifyNothing(password);
    return this.slots.run(() => verify(passwordHash, password));
  }

  /**
   * Spends the same work as `verify` against a fixed hash made once at start, and answers false:
   * a login with an unknown email then costs what a login with a wrong password costs.
   */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= this.hash(randomBytes(18).toString('base64url'));
    const dummyHash = await this.dummyHash;
    await this.slots.run(() => verify(dummyHash, password));
    return false;
  }
}
