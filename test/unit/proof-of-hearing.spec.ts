import { ProofOfHearing } from '../../src/database/proof-of-hearing';

const NOW = 1_700_000_000_000;
/** How long a proof holds in these tests. */
const PROVEN_MS = 1500;

describe('ProofOfHearing', () => {
  afterEach(() => jest.useRealTimers());

  it('serves nothing and is not listening before any connection', () => {
    const hearing = new ProofOfHearing();
    expect(hearing.listening).toBe(false);
    expect(hearing.servingAt(NOW)).toBe(false);
    expect(hearing.servingAt(0)).toBe(false);
  });

  it('serves from a (re)connection until its proof runs out, and not at the moment it does', () => {
    const hearing = new ProofOfHearing();
    hearing.resume(NOW + PROVEN_MS);
    expect(hearing.listening).toBe(true);
    expect(hearing.servingAt(NOW + PROVEN_MS - 1)).toBe(true);
    expect(hearing.servingAt(NOW + PROVEN_MS)).toBe(false);
  });

  it('keeps listening once a proof has run out, and serves again when a heartbeat on the same connection renews it', () => {
    const hearing = new ProofOfHearing();
    hearing.resume(NOW + PROVEN_MS);
    expect(hearing.servingAt(NOW + PROVEN_MS)).toBe(false);
    expect(hearing.listening).toBe(true);

    hearing.heard(NOW + 2 * PROVEN_MS);
    expect(hearing.servingAt(NOW + PROVEN_MS)).toBe(true);
    expect(hearing.servingAt(NOW + 2 * PROVEN_MS)).toBe(false);
  });

  it('stops serving at once when the connection is lost, and a late answer from it proves nothing', () => {
    const hearing = new ProofOfHearing();
    hearing.resume(NOW + PROVEN_MS);
    hearing.suspend();
    expect(hearing.listening).toBe(false);
    expect(hearing.servingAt(NOW)).toBe(false);

    hearing.heard(NOW + 2 * PROVEN_MS);
    expect(hearing.listening).toBe(false);
    expect(hearing.servingAt(NOW)).toBe(false);

    // Only a new connection serves again.
    hearing.resume(NOW + 3 * PROVEN_MS);
    expect(hearing.servingAt(NOW)).toBe(true);
  });

  it('answers `serving` by the clock: true before the proof runs out, false from then', () => {
    jest.useFakeTimers({ now: NOW });
    const hearing = new ProofOfHearing();
    hearing.resume(NOW + PROVEN_MS);
    expect(hearing.serving).toBe(true);
    jest.setSystemTime(NOW + PROVEN_MS);
    expect(hearing.serving).toBe(false);
  });
});
