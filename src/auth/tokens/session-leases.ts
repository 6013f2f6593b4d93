import { ProofOfHearing } from '../../database/proof-of-hearing';

/**
 * This instance's trust in the sessions of one user, as checked in the database: it holds while
 * `live` is true. Memory that rests on the check (a verified access token) keeps the lease it
 * was given before the check began, and is served only while that lease is live.
 */
export interface SessionLease {
  readonly live: boolean;
}

/** Live until its user's sessions are revoked, and only while revocations are proven heard. */
class Lease implements SessionLease {
  ended = false;

  /** `hearing` is shared by every lease: one heartbeat renews them all. */
  constructor(private readonly hearing: ProofOfHearing) {}

  get live(): boolean {
    return !this.ended && this.hearing.serving;
  }
}

/** Given while revocations cannot be heard: nothing that rests on it is ever served. */
const NEVER_LIVE: SessionLease = Object.freeze({ live: false });

/**
 * One lease per user, bounded: a lease that has to leave the bound ends, which costs its tokens
 * one read each, never a revocation missed. Checking a lease is a flag and a clock read, so the
 * hot path of a token seen before stays where it was.
 */
export class SessionLeases {
  /** The live lease of each user, oldest first. */
  private readonly leases = new Map<string, Lease>();
  private readonly hearing = new ProofOfHearing();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.leases.size;
  }

  /** The user's current lease; one that is never live while revocations cannot be heard. */
  lease(userId: string): SessionLease {
    if (!this.hearing.listening || this.maxEntries <= 0) return NEVER_LIVE;
    const current = this.leases.get(userId);
    if (current !== undefined) return current;
    if (this.leases.size >= this.maxEntries) {
      const [oldest] = this.leases.keys();
      this.end(oldest);
    }
    const lease = new Lease(this.hearing);
    this.leases.set(userId, lease);
    return lease;
  }

  /** Sessions of the user were revoked: everything resting on their lease stops being served. */
  end(userId: string): void {
    const lease = this.leases.get(userId);
    if (lease === undefined) return;
    lease.ended = true;
    this.leases.delete(userId);
  }

  /**
   * Revocations are heard (again): grant leases, from nothing, since some may have been missed;
   * they are live until `servingUntil` (epoch ms), then as `heard` extends it.
   */
  resume(servingUntil: number): void {
    this.endAll();
    this.hearing.resume(servingUntil);
  }

  /** The listener proved again that it has heard every revocation sent before a heartbeat (decision 011). */
  heard(servingUntil: number): void {
    this.hearing.heard(servingUntil);
  }

  /** Revocations may be missed from now on: end every lease, and grant none that is live. */
  suspend(): void {
    this.hearing.suspend();
    this.endAll();
  }

  /** Every user's sessions are in question (decision 028): nothing resting on any lease is served until it is checked again. */
  endAll(): void {
    for (const lease of this.leases.values()) lease.ended = true;
    this.leases.clear();
  }
}
