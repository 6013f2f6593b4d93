import { Algorithm, hash, verify } from '@node-rs/argon2';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/** OWASP's argon2id minimum: 19 MiB, two passes, one lane. */
export const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 6;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Password hashing with argon2id. `@node-rs/argon2`'s async functions run on libuv's thread
 * pool, so a hash never blocks the event loop.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private dummyHash?: Promise<string>;

  onModuleInit(): void {
    this.dummyHash = hash(randomBytes(18).toString('base64url'), ARGON2_OPTIONS);
  }

  hash(password: string): Promise<string> {
    return hash(password, ARGON2_OPTIONS);
  }

  verify(passwordHash: string, password: string): Promise<boolean> {
    return verify(passwordHash, password);
  }

  /**
   * Spends the same work as `verify` against a fixed hash made once at start, and answers false:
   * a login with an unknown email then costs what a login with a wrong password costs.
   */
  async verifyNothing(password: string): Promise<false> {
    this.dummyHash ??= hash(randomBytes(18).toString('base64url'), ARGON2_OPTIONS);
    await verify(await this.dummyHash, password);
    return false;
  }
}
