import type { Goal } from './goals';
import type { RequestVariant } from './load';
import { INTROSPECTION_CLIENT } from './processes';
import type { Seeder } from './seed';

/**
 * A benchmark scenario, as data: what to send, what answer counts as served, and what must exist
 * first. Adding one is adding an entry to `SCENARIOS`.
 */
export interface Scenario {
  name: string;
  summary: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  expectStatus: number;
  /**
   * Seeds what the scenario needs (users, tokens, keys) and returns its requests, which the
   * connections send round-robin (one per credential). Without it, one bare request.
   */
  setup?: (seed: Seeder) => Promise<RequestVariant[]> | RequestVariant[];
  /** Connections for this scenario when the run's (50) would measure something else. */
  connections?: number;
  /**
   * Measured in one piece after the baseline rather than in slices alternating with it: for a
   * scenario whose goal is not its ratio, where the pauses between slices would only add cold starts.
   */
  unsliced?: boolean;
  /**
   * Held against one argon2id hash rather than the baseline: the bench hashes right before and
   * right after each timed run of it, so that the reference sees the same machine the run did.
   */
  againstArgon2?: boolean;
  /** Another scenario run flat out, concurrently, while this one is measured. */
  background?: { scenario: string; connections: number };
  /**
   * Another scenario on the service that stands in for bare Fastify as this one's baseline: the
   * slices alternate with its, and the ratios are against it. The baseline is sent this
   * scenario's own requests (headers and body), so that the two differ only in their route: for
   * `probe-guarded`, the guard's work, not what reading a longer request costs.
   */
  against?: string;
  /**
   * Sent to the minimal Nest application (plain-nest-server.ts) rather than the service: the
   * floor any Nest route stands on, against bare Fastify. It has no database, so no SQL pass.
   */
  onPlainNest?: boolean;
  /** What docs/performance.md asks of it; the report says whether the run met it. */
  goal?: Goal;
}

const bearer = (credential: string): RequestVariant => ({ headers: { authorization: `Bearer ${credential}` } });
const xApiKey = (key: string): RequestVariant => ({ headers: { 'x-api-key': key } });
/** RFC 7662's request: the token in a form, the caller's client credentials in HTTP Basic. */
const introspect = (token: string): RequestVariant => ({
  headers: { authorization: `Basic ${Buffer.from(`${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`).toString('base64')}` },
  form: { token },
});

/** `GET /users/me` with a credential seen before, whichever kind and however many. */
const USERS_ME_GOAL: Goal = { minRatio: 0.5, maxP99Ms: 15, noStatements: true };

export const SCENARIOS: Scenario[] = [
  {
    name: 'health',
    summary: 'GET /health: the framework, the global guard on a public route and one SELECT 1',
    method: 'GET',
    path: '/health',
    expectStatus: 200,
  },
  {
    name: 'plain-nest',
    summary: 'GET /hello on a minimal Nest application on the same adapter, nothing else: the framework\'s floor under every route',
    method: 'GET',
    path: '/hello',
    expectStatus: 200,
    onPlainNest: true,
  },
  {
    name: 'probe-open',
    summary: 'GET /bench-probe/open: a public probe route (the benchmark mounts it), no guard work',
    method: 'GET',
    path: '/bench-probe/open',
    expectStatus: 200,
  },
  {
    name: 'probe-guarded',
    summary: 'GET /bench-probe/guarded with an access token seen before, against probe-open: what the guard costs a route',
    method: 'GET',
    path: '/bench-probe/guarded',
    expectStatus: 200,
    setup: async (seed) => (await seed.accessTokens(1)).map(bearer),
    against: 'probe-open',
    goal: { minRatio: 0.85, noStatements: true },
  },
  {
    name: 'probe-guarded-key',
    summary: 'GET /bench-probe/guarded with an API key (X-Api-Key) seen before, against probe-open',
    method: 'GET',
    path: '/bench-probe/guarded',
    expectStatus: 200,
    setup: async (seed) => (await seed.apiKeys(1)).map(xApiKey),
    against: 'probe-open',
    goal: { minRatio: 0.85, noStatements: true },
  },
  {
    name: 'me-jwt-1',
    summary: 'GET /users/me, Authorization: Bearer <access token>, one token',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.accessTokens(1)).map(bearer),
    goal: USERS_ME_GOAL,
  },
  {
    name: 'me-jwt-1000',
    summary: 'GET /users/me, Authorization: Bearer <access token>, distinct users round-robin',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.accessTokens(seed.many)).map(bearer),
    goal: USERS_ME_GOAL,
  },
  {
    name: 'me-bearer-key-1',
    summary: 'GET /users/me, Authorization: Bearer <api key>, one key',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.apiKeys(1)).map(bearer),
    goal: USERS_ME_GOAL,
  },
  {
    name: 'me-bearer-key-1000',
    summary: 'GET /users/me, Authorization: Bearer <api key>, distinct keys of distinct users round-robin',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.apiKeys(seed.many)).map(bearer),
    goal: USERS_ME_GOAL,
  },
  {
    name: 'me-x-api-key-1',
    summary: 'GET /users/me, X-Api-Key, one key',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.apiKeys(1)).map(xApiKey),
    goal: USERS_ME_GOAL,
  },
  {
    name: 'me-x-api-key-1000',
    summary: 'GET /users/me, X-Api-Key, distinct keys of distinct users round-robin',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.apiKeys(seed.many)).map(xApiKey),
    goal: USERS_ME_GOAL,
  },
  {
    name: 'me-revoked-key',
    summary: 'GET /users/me with a revoked API key: the rejection path, 401',
    method: 'GET',
    path: '/users/me',
    expectStatus: 401,
    setup: async (seed) => [bearer(await seed.revokedApiKey())],
  },
  {
    name: 'me-bad-checksum-key',
    summary: 'GET /users/me with well-formed keys whose checksum is wrong, 401 (goal: no database read)',
    method: 'GET',
    path: '/users/me',
    expectStatus: 401,
    setup: (seed) => seed.badChecksumKeys(seed.many).map(bearer),
    goal: { noStatements: true },
  },
  {
    name: 'probe-form',
    summary: "POST /bench-probe/form: introspection's request (form, HTTP Basic) on a public probe route that reads the form and does nothing else",
    method: 'POST',
    path: '/bench-probe/form',
    expectStatus: 200,
    setup: () => [introspect('atiru_0000000000000000000000000000000000000000')],
  },
  {
    name: 'introspect-key',
    summary: 'POST /auth/introspect (form, HTTP Basic) of an API key seen before: what another service pays to verify a key',
    method: 'POST',
    path: '/auth/introspect',
    expectStatus: 200,
    setup: async (seed) => (await seed.apiKeys(1)).map(introspect),
    goal: { minRatio: 0.5, noStatements: true },
  },
  {
    name: 'introspect-jwt',
    summary: 'POST /auth/introspect (form, HTTP Basic) of an access token seen before',
    method: 'POST',
    path: '/auth/introspect',
    expectStatus: 200,
    setup: async (seed) => (await seed.accessTokens(1)).map(introspect),
    goal: { minRatio: 0.5, noStatements: true },
  },
  {
    name: 'login',
    summary: 'POST /auth/login, distinct users round-robin, one connection: the hash-bound path, next to one argon2 hash',
    method: 'POST',
    path: '/auth/login',
    expectStatus: 200,
    // Its p50 is held against one argon2 hash; behind 50 connections it would be the queue for
    // the hashing threads instead (about 50 / 4 hashes). Throughput under a flood shows in the
    // background row of me-jwt-during-logins.
    connections: 1,
    // Held against the hash, not the baseline; one connection idles between slices, and each slice
    // began with a cold hashing thread and connection (19–20.6 ms sliced against 17.7–18.6 ms whole).
    unsliced: true,
    againstArgon2: true,
    setup: async (seed) => (await seed.confirmedAccounts(seed.many)).map((account) => ({ body: account })),
    goal: { maxHashes: 1.5 },
  },
  {
    name: 'me-jwt-during-logins',
    summary: 'GET /users/me with access tokens of distinct users while logins run flat out beside it',
    method: 'GET',
    path: '/users/me',
    expectStatus: 200,
    setup: async (seed) => (await seed.accessTokens(seed.many)).map(bearer),
    background: { scenario: 'login', connections: 8 },
    goal: { maxP99Ms: 25 },
  },
];
