import { PasswordHasher } from '../../src/accounts/passwords/password.hasher';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, uniqueEmail } from '../support/accounts';
import { recordQueries } from '../support/query-recorder';
import { TestSmtpServer } from '../support/smtp';
import { mannWhitneyU, median, quantile, wilcoxonSignedRank } from '../support/statistics';
import { startTestApp, TestApp } from '../support/test-app';

/** |z| above this is a difference (two-sided p < 0.001): rare enough not to flake, strict enough to see 1 ms. */
const Z_LIMIT = 3.29;
/** The difference the test must be able to see. */
const DETECTABLE_MS = 1;
const ACCOUNTS = 8;
const ROUND_PAIRS = 25;
const MIN_PAIRS = 100;
/**
 * Per endpoint: sampling stops once a DETECTABLE_MS difference would be seen, or after this long.
 * A machine too busy to tell 1 ms apart in that time fails the power check; TIMING_BUDGET_MS gives
 * it longer.
 */
const BUDGET_MS = Number(process.env.TIMING_BUDGET_MS ?? 30_000);

interface Endpoint {
  name: string;
  path: string;
  body: (email: string) => Record<string, unknown>;
  /** Addresses whose account would make the endpoint do more, were the work decided in the request. */
  known: () => string[];
}

/**
 * Whether an account exists must not show in the time register, resend-confirmation and
 * forgot-password take.
 *
 * Each sample is a pair: a known and an unknown address requested at the same moment (which one is
 * sent first is random), and the pair's difference is what is tested (Wilcoxon signed-rank). Both
 * requests of a pair run on the same process and CPU at the same time, so the load of a shared
 * machine, which dwarfs a millisecond, falls on both and cancels out; requesting them one after
 * the other did not. The test also proves its own power: adding DETECTABLE_MS to the known side
 * must push |z| over the limit. It samples until it has that power, within a time budget.
 *
 * Register's argon2 hash is the same work for every address (one hash per request, counted in the
 * first test); for the timing test it is replaced by a fixed answer, so the tens of milliseconds of
 * hashing, and their noise, do not hide what else the request does.
 */
describe('account requests take as long for a known as for an unknown email (real app, real PostgreSQL, real SMTP)', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;
  let hasher: PasswordHasher;
  const confirmed: string[] = [];
  const pending: string[] = [];
  const unknown = Array.from({ length: ACCOUNTS }, () => uniqueEmail('timing-unknown'));

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url } });
    hasher = service.app.get(PasswordHasher);
    for (let i = 0; i < ACCOUNTS; i++) {
      const email = uniqueEmail('timing-confirmed');
      await createConfirmedUser(service, email, 'timing password');
      confirmed.push(email);
      const unconfirmed = uniqueEmail('timing-pending');
      await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: 'timing password' } });
      pending.push(unconfirmed);
    }
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  const endpoints: Endpoint[] = [
    { name: 'forgot-password', path: '/auth/forgot-password', body: (email) => ({ email }), known: () => confirmed },
    { name: 'resend-confirmation', path: '/auth/resend-confirmation', body: (email) => ({ email }), known: () => pending },
    { name: 'register', path: '/auth/register', body: (email) => ({ email, password: 'another password' }), known: () => confirmed },
  ];

  /** One request, timed from send to the last byte of the answer. */
  async function timed(path: string, body: Record<string, unknown>): Promise<number> {
    const started = process.hrtime.bigint();
    const response = await fetch(service.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.arrayBuffer();
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (response.status >= 300) throw new Error(`${path} answered ${response.status}`);
    return elapsed;
  }

  it.each(endpoints.map((endpoint) => [endpoint.name, endpoint] as const))('%s: the same SQL statements and password hashes for a known and an unknown email', async (_name, endpoint) => {
    const hashes = jest.spyOn(hasher, 'hash');
    const recorder = recordQueries(service.app);
    // The statements' values differ (the address, ids, times); their text must not.
    const shapes = (statements: string[]) => statements.map((statement) => statement.replace(/'(?:[^']|'')*'/g, "'…'"));
    try {
      await timed(endpoint.path, endpoint.body(endpoint.known()[0]));
      const forKnown = shapes(recorder.sql);
      const hashesForKnown = hashes.mock.calls.length;
      await timed(endpoint.path, endpoint.body(unknown[0]));
      const forUnknown = shapes(recorder.sql).slice(forKnown.length);
      expect(forKnown.length).toBeGreaterThan(0);
      expect(forUnknown).toEqual(forKnown);
      expect(hashes.mock.calls.length - hashesForKnown).toBe(hashesForKnown);
      expect(hashesForKnown).toBe(endpoint.name === 'register' ? 1 : 0);
    } finally {
      recorder.stop();
      hashes.mockRestore();
    }
  });

  it.each(endpoints.map((endpoint) => [endpoint.name, endpoint] as const))('%s: latency distributions of known and unknown emails agree', async (_name, endpoint) => {
    const fixedHash = await hasher.hash('timing password');
    const hash = jest.spyOn(hasher, 'hash').mockResolvedValue(fixedHash);
    const known: number[] = [];
    const other: number[] = [];
    const differences: number[] = [];
    const knownEmails = endpoint.known();
    // Known first, then unknown first: the head start of whichever request is sent first cancels out.
    const pair = async (i: number) => {
      const [k1, u1] = await Promise.all([timed(endpoint.path, endpoint.body(knownEmails[i % ACCOUNTS])), timed(endpoint.path, endpoint.body(unknown[i % ACCOUNTS]))]);
      const [u2, k2] = await Promise.all([timed(endpoint.path, endpoint.body(unknown[(i + 1) % ACCOUNTS])), timed(endpoint.path, endpoint.body(knownEmails[(i + 1) % ACCOUNTS]))]);
      return { k: (k1 + k2) / 2, u: (u1 + u2) / 2 };
    };
    try {
      for (let i = 0; i < 20; i++) await pair(i);
      const started = Date.now();
      let power = 0;
      while (Date.now() - started < BUDGET_MS && (differences.length < MIN_PAIRS || power <= Z_LIMIT)) {
        for (let i = 0; i < ROUND_PAIRS; i++) {
          const { k, u } = await pair(i);
          known.push(k);
          other.push(u);
          differences.push(k - u);
        }
        power = wilcoxonSignedRank(differences.map((d) => d + DETECTABLE_MS)).z;
      }
    } finally {
      hash.mockRestore();
    }

    const paired = wilcoxonSignedRank(differences);
    const shifted = wilcoxonSignedRank(differences.map((d) => d + DETECTABLE_MS));
    const unpaired = mannWhitneyU(known, other);
    const summary = {
      endpoint: endpoint.name,
      pairs: differences.length,
      known_ms: { median: round(median(known)), p90: round(quantile(known, 0.9)) },
      unknown_ms: { median: round(median(other)), p90: round(quantile(other, 0.9)) },
      difference_ms: { median: round(median(differences)), p25: round(quantile(differences, 0.25)), p75: round(quantile(differences, 0.75)) },
      signed_rank_z: round(paired.z),
      signed_rank_z_if_known_1ms_slower: round(shifted.z),
      mann_whitney_u: unpaired.u,
      mann_whitney_z: round(unpaired.z),
    };
    process.stdout.write(`timing ${JSON.stringify(summary)}\n`);

    // Enough pairs that a 1 ms difference would fail this test...
    if (shifted.z <= Z_LIMIT) {
      throw new Error(
        `${endpoint.name}: ${differences.length} pairs in ${BUDGET_MS} ms cannot tell ${DETECTABLE_MS} ms apart on this machine now ` +
          `(z ${round(shifted.z)} for a ${DETECTABLE_MS} ms difference, ${Z_LIMIT} needed; pairs differ by ${round(quantile(differences, 0.25))} to ` +
          `${round(quantile(differences, 0.75))} ms between the quartiles): run it on a quieter machine or with a larger TIMING_BUDGET_MS`,
      );
    }
    // ...and there is none, paired or as whole distributions.
    expect(Math.abs(paired.z)).toBeLessThan(Z_LIMIT);
    expect(Math.abs(unpaired.z)).toBeLessThan(Z_LIMIT);
  }, BUDGET_MS + 60_000);
});

const round = (value: number) => Math.round(value * 1000) / 1000;
