import { SessionLeases } from '../../src/auth/tokens/session-leases';

/** Revocations proven heard for the whole test. */
const proven = () => Date.now() + 3_600_000;

function granting(maxEntries = 10): SessionLeases {
  const leases = new SessionLeases(maxEntries);
  leases.resume(proven());
  return leases;
}

describe('SessionLeases', () => {
  it('grants nothing live before revocations can be heard', () => {
    expect(new SessionLeases(10).lease('ada').live).toBe(false);
  });

  it('gives the same live lease to every check of one user until their sessions are revoked', () => {
    const leases = granting();
    const lease = leases.lease('ada');
    expect(lease.live).toBe(true);
    expect(leases.lease('ada')).toBe(lease);
    const bob = leases.lease('bob');

    leases.end('ada');
    expect(lease.live).toBe(false);
    expect(bob.live).toBe(true);
    // A check after the revocation starts a new lease.
    const next = leases.lease('ada');
    expect(next).not.toBe(lease);
    expect(next.live).toBe(true);
  });

  it('ends a lease taken before a check when the revocation lands while the check is in flight', () => {
    const leases = granting();
    const taken = leases.lease('ada');
    leases.end('ada'); // heard while the database read is on its way
    expect(taken.live).toBe(false);
  });

  it('ends the oldest lease rather than forget it, once the bound is reached', () => {
    const leases = granting(2);
    const ada = leases.lease('ada');
    const bob = leases.lease('bob');
    const cy = leases.lease('cy');
    expect([ada.live, bob.live, cy.live]).toEqual([false, true, true]);
    expect(leases.size).toBe(2);
  });

  it('ends every lease when revocations may be missed, grants none live meanwhile, and starts afresh on resume', () => {
    const leases = granting();
    const ada = leases.lease('ada');
    leases.suspend();
    expect(ada.live).toBe(false);
    expect(leases.lease('bob').live).toBe(false);
    expect(leases.size).toBe(0);

    leases.resume(proven());
    expect(leases.lease('ada').live).toBe(true);
  });

  it('ends every lease on resume too: what was missed while deaf is unknown', () => {
    const leases = granting();
    const ada = leases.lease('ada');
    leases.resume(proven());
    expect(ada.live).toBe(false);
  });

  it('holds no lease live once the proof of hearing runs out, and every one again when a heartbeat renews it', () => {
    const leases = new SessionLeases(10);
    leases.resume(Date.now() - 1);
    const ada = leases.lease('ada');
    expect(ada.live).toBe(false);
    leases.heard(proven());
    expect(ada.live).toBe(true);
    leases.end('ada');
    leases.heard(proven());
    expect(ada.live).toBe(false);
    // A proof heard while deaf grants nothing.
    leases.suspend();
    leases.heard(proven());
    expect(leases.lease('bob').live).toBe(false);
  });

  it('grants nothing live with a bound of zero (caching switched off)', () => {
    expect(granting(0).lease('ada').live).toBe(false);
  });
});
