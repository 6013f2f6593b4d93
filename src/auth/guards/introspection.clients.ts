import { Injectable } from '@nestjs/common';
import { hash, timingSafeEqual } from 'node:crypto';
import { BoundedCache } from '../../common/cache/bounded-cache';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

/** `Basic <base64>`, the scheme in any case (RFC 9110 §11.1). */
const BASIC = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;
/** Compared against when the id is unknown, so an unknown id costs what a wrong secret costs. */
const NO_SECRET = Buffer.alloc(32);
/** Headers remembered as verified: a handful of clients, each sending one header value. */
const VERIFIED_HEADERS = 64;

/**
 * The callers of token introspection: other services, each with an id and a secret from
 * INTROSPECTION_CLIENTS, sent as HTTP Basic (RFC 7662 §2.1, RFC 7617). Only the SHA-256 of each
 * secret is kept; a presented secret is hashed and compared in constant time. Secrets are long
 * and random (the configuration refuses short ones), so one unsalted hash is enough.
 *
 * A header that verified is remembered, as the API-key cache remembers a key it accepted (the
 * clients and their secrets never change while the process runs): each client sends the same
 * value on every call, so decoding and hashing it again on each would be work with no new answer.
 */
@Injectable()
export class IntrospectionClients {
  private readonly secrets: Map<string, Buffer>;
  private readonly verified = new BoundedCache<string, string>(VERIFIED_HEADERS);

  constructor(@InjectConfig() config: AppConfig) {
    this.secrets = new Map(config.introspectionClients.map((client) => [client.id, client.secretSha256]));
  }

  /** The id of the client whose credentials `authorization` carries, or undefined. */
  verify(authorization: string | undefined): string | undefined {
    const known = this.fromMemory(authorization);
    if (known !== undefined || authorization === undefined || this.secrets.size === 0) return known;
    const id = this.check(authorization);
    if (id !== undefined) this.verified.set(authorization, id);
    return id;
  }

  /** The id of the client whose header this instance has verified before, without checking anything again. */
  fromMemory(authorization: string | undefined): string | undefined {
    return authorization === undefined ? undefined : this.verified.get(authorization);
  }

  private check(authorization: string): string | undefined {
    const encoded = BASIC.exec(authorization)?.[1];
    if (encoded === undefined) return undefined;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    const id = decoded.slice(0, colon);
    const expected = this.secrets.get(id);
    const presented = hash('sha256', decoded.slice(colon + 1), 'buffer');
    const matches = timingSafeEqual(presented, expected ?? NO_SECRET);
    return matches && expected !== undefined ? id : undefined;
  }
}
