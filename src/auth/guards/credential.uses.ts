import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../common/auth/principal';

/** Told by the guard about every request that came with a verified credential. */
export interface CredentialUseListener {
  /** The request was let through to its handler. */
  admitted(principal: Principal, request: FastifyRequest): void;
  /** The credential was good, but the guard refused the request (over a rate limit, an API key on a JWT-only route). */
  refused(principal: Principal, request: FastifyRequest): void;
}

/**
 * Where the guard reports the uses of verified credentials, for whoever keeps statistics of them
 * (the API-key usage recorder adds itself in its constructor, as the strategies add themselves to
 * AppPassport), so the guard needs none of the modules that listen. Called on every authenticated
 * request: listeners note the use in memory and return.
 */
@Injectable()
export class CredentialUses {
  private readonly listeners: CredentialUseListener[] = [];

  listen(listener: CredentialUseListener): void {
    this.listeners.push(listener);
  }

  admitted(principal: Principal, request: FastifyRequest): void {
    for (const listener of this.listeners) listener.admitted(principal, request);
  }

  refused(principal: Principal, request: FastifyRequest): void {
    for (const listener of this.listeners) listener.refused(principal, request);
  }
}
