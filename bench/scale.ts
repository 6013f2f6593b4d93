/**
 * How cost grows with the credentials in use, and how a cold instance warms up: the part of
 * `npm run bench` behind docs/capacity.md. Each row runs on an instance of the service of its own
 * (same database), started for it, so its memory is its own and its cache starts empty.
 *
 * - scaling rows: API keys drawn with a Zipf skew (a few hot, a long tail) from 1,000, 100,000
 *   and (with --million) 1,000,000 keys, at the default cache bound; and the miss path alone,
 *   keys and access tokens with the caches switched off (AUTH_CACHE_MAX_MB=0);
 * - the cold start: an instance meets the 100,000-key Zipf load the moment it is ready, and the
 *   throughput and reads are printed second by second.
 *
 * Keys are seeded straight into the database (a key and its own user per row), in the format
 * the authenticator looks up: `atiru_` + 32 base62 + checksum, stored as the SHA-256 of the key.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { generateApiKey } from '../src/api-keys/api-key-format';
import { median } from './argon2';
import type { ServiceSnapshot } from './ipc';
import { LoadResult, summarise } from './load';
import { ChildServer, ServiceServer, startService } from './processes';
import type { Seeder } from './seed';

/** The skew of the draws: the k-th most used key is used in proportion to 1 / k^s. */
export const ZIPF_EXPONENT = 1.0;
/** Keys seeded per statement. */
const SEED_BATCH = 20_000;

export interface ScaleOptions {
  connections: number;
  durationSeconds: number;
  slices: number;
  /** Warm-up of each scaling row: long enough for the hot keys to be in memory at the throughput of a loaded machine. */
  scaleWarmupSeconds: number;
  million: boolean;
  /** Seconds of the cold start. */
  coldSeconds: number;
}

export interface ScaleContext {
  databaseUrl: string;
  /** The issuer of the tokens the seeder got from the run's main instance, which every row's instance must accept. */
  issuer: string;
  smtpUrl: string;
  resultsDir: string;
  baseline: ChildServer;
  seeder: Seeder;
  redisUrl?: string;
  progress: (line: string) => void;
}

export interface ScaleRow {
  name: string;
  /** Distinct credentials the draws come from. */
  population: number;
  /** Distinct credentials actually sent in the timed slices. */
  distinctSent: number;
  requestsPerSecond: number;
  ratio: number;
  p99Ms: number;
  readsPerRequest: number;
  /** Responses other than 200: none, or the row measured something else. */
  unexpected: number;
  cpuMicrosPerRequest: number;
  /** Heap after a full collection, less the instance's heap after start (same): the caches' share. */
  heapGrowthBytes: number;
  rssBytes: number;
  cacheMb: string;
}

export interface ColdSecond {
  second: number;
  requestsPerSecond: number;
  readsPerSecond: number;
  cumulativeReads: number;
  /** Distinct credentials in the requests answered so far. */
  distinctAnswered: number;
}

export interface ScaleReport {
  rows: ScaleRow[];
  cold: ColdSecond[];
  coldPopulation: number;
  seedSeconds: number;
  million: boolean;
}

/** A PRNG with a seed (mulberry32), so that every run draws the same sequences. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws of credential indexes 0..n-1, index k with probability proportional to 1 / (k + 1)^s. */
export function zipfDraws(n: number, count: number, seed: number, exponent = ZIPF_EXPONENT): Uint32Array {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let index = 0; index < n; index++) cumulative[index] = total += 1 / Math.pow(index + 1, exponent);
  const random = seeded(seed);
  const draws = new Uint32Array(count);
  for (let draw = 0; draw < count; draw++) {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle] < target) low = middle + 1;
      else high = middle;
    }
    draws[draw] = low;
  }
  return draws;
}

/** `count` keys, each with a user of its own, straight into the database. */
export async function seedKeys(databaseUrl: string, count: number): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const run = randomBytes(3).toString('hex');
  const keys: string[] = [];
  try {
    for (let start = 0; start < count; start += SEED_BATCH) {
      const batch = Array.from({ length: Math.min(SEED_BATCH, count - start) }, () => generateApiKey().key);
      const owner = `bench-scale-${run}-${start}-`;
      await client.query(
        `WITH input AS (SELECT k, n FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n)),
              owners AS (
                INSERT INTO users (id, email, password_hash, email_confirmed_at)
                SELECT gen_random_uuid(), $2 || n || '@example.com', 'bench: no password', now() FROM input
                RETURNING id, email)
         INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash)
         SELECT gen_random_uuid(), owners.id, 'bench-scale', left(input.k, 10), sha256(convert_to(input.k, 'UTF8'))
           FROM input JOIN owners ON owners.email = $2 || input.n || '@example.com'`,
        [batch, owner],
      );
      keys.push(...batch);
    }
    await client.query('ANALYZE users');
    await client.query('ANALYZE api_keys');
  } finally {
    await client.end();
  }
  return keys;
}

type Header = Record<string, string>;

/** Each connection's requests: the draws dealt out like cards (connection c sends draws c, c + n, ...). */
function shares(draws: ArrayLike<number>, credentials: Header[], connections: number): autocannon.Request[][] {
  const out: autocannon.Request[][] = Array.from({ length: connections }, () => []);
  for (let index = 0; index < draws.length; index++) {
    out[index % connections].push({ method: 'GET', path: '/users/me', headers: credentials[draws[index]] });
  }
  return out;
}

/**
 * Runs the shares on `baseUrl` for `seconds`; `onResponse(connection, ordinal)` hears which of
 * its share's requests each connection has just had answered (they go round in order).
 */
function runShares(baseUrl: string, perConnection: autocannon.Request[][], seconds: number, onResponse?: (connection: number, ordinal: number) => void) {
  return new Promise<LoadResult>((resolve, reject) => {
    const latenciesMs: number[] = [];
    let next = 0;
    const answered = new Array<number>(perConnection.length).fill(0);
    const instance = autocannon(
      {
        url: baseUrl,
        connections: perConnection.length,
        duration: seconds,
        timeout: 10,
        requests: perConnection[0].slice(0, 1),
        setupClient: (client) => {
          const own = next++ % perConnection.length;
          (client as unknown as { benchConnection: number }).benchConnection = own;
          client.setRequests(perConnection[own]);
        },
      },
      (error, result) => (error ? reject(error) : resolve({ ...summarise(result, 200), latenciesMs })),
    );
    instance.on('response', (client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latenciesMs.push(responseTime);
      if (onResponse) {
        const connection = (client as { benchConnection: number }).benchConnection;
        onResponse(connection, answered[connection]++);
      }
    });
  });
}

function percentile(values: number[], fraction: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length > 0 ? sorted[Math.ceil(fraction * sorted.length) - 1] : NaN;
}

async function instance(context: ScaleContext, name: string, env: Record<string, string>): Promise<ServiceServer> {
  const saved = { ...process.env };
  env = { JWT_ISSUER: context.issuer, ...env };
  Object.assign(process.env, env);
  try {
    return await startService({
      databaseUrl: context.databaseUrl,
      smtpUrl: context.smtpUrl,
      logFile: join(context.resultsDir, `service-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.log`),
      redisUrl: context.redisUrl,
    });
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

/**
 * One scaling row on an instance of its own: warm-up, then slices alternating with the bare
 * baseline's, each slice with draws of its own (so the tail keeps bringing credentials not seen).
 */
async function scalingRow(
  context: ScaleContext,
  options: ScaleOptions,
  row: { name: string; credentials: Header[]; zipf: boolean; env: Record<string, string>; cacheMb: string },
): Promise<ScaleRow> {
  const service = await instance(context, row.name, row.env);
  try {
    const sliceSeconds = options.durationSeconds / options.slices;
    const n = row.credentials.length;
    // Enough draws that no connection comes round to its first request again within a slice.
    const drawsPerSlice = Math.max(20_000, options.connections * 400);
    const draw = (seed: number, count: number) => (row.zipf ? zipfDraws(n, count, seed) : Uint32Array.from({ length: count }, (_, index) => index % n));
    await service.collectGarbage();
    const heapAtStart = (await service.snapshot()).heapUsedBytes;
    if (options.scaleWarmupSeconds > 0) {
      await runShares(service.baseUrl, shares(draw(1, drawsPerSlice * options.scaleWarmupSeconds), row.credentials, options.connections), options.scaleWarmupSeconds);
    }

    const hello = Array.from({ length: options.connections }, () => [{ method: 'GET', path: '/hello' }]);
    const ratios: number[] = [];
    const cpu: number[] = [];
    const latencies: number[] = [];
    const rates: number[] = [];
    const sent = new Set<number>();
    let reads = 0;
    let requests = 0;
    let unexpected = 0;
    for (let slice = 0; slice < options.slices; slice++) {
      const baseline = await runShares(context.baseline.baseUrl, hello, sliceSeconds);
      const draws = draw(100 + slice, drawsPerSlice);
      const before: ServiceSnapshot = await service.snapshot();
      const answered = new Array<number>(options.connections).fill(0);
      const result = await runShares(service.baseUrl, shares(draws, row.credentials, options.connections), sliceSeconds, (connection) => answered[connection]++);
      await sleep(200);
      const after: ServiceSnapshot = await service.snapshot();
      for (let connection = 0; connection < options.connections; connection++) {
        for (let ordinal = 0; ordinal < answered[connection]; ordinal++) {
          const index = connection + ordinal * options.connections;
          if (index < draws.length) sent.add(draws[index]);
        }
      }
      reads += after.credentialReads - before.credentialReads;
      requests += result.sent;
      ratios.push(result.requestsPerSecond / baseline.requestsPerSecond);
      cpu.push((after.cpuMicros - before.cpuMicros) / result.sent);
      rates.push(result.requestsPerSecond);
      latencies.push(...(result.latenciesMs ?? []));
      unexpected += result.unexpected + result.errors;
      if (result.unexpected > 0) context.progress(`  ${row.name}: ${result.unexpected} unexpected statuses ${JSON.stringify(result.statuses)}`);
    }
    await service.collectGarbage();
    const end = await service.snapshot();
    return {
      name: row.name,
      population: n,
      distinctSent: sent.size,
      requestsPerSecond: rates.reduce((a, b) => a + b, 0) / rates.length,
      ratio: median(ratios),
      p99Ms: percentile(latencies, 0.99),
      readsPerRequest: reads / requests,
      unexpected,
      cpuMicrosPerRequest: median(cpu),
      heapGrowthBytes: end.heapUsedBytes - heapAtStart,
      rssBytes: end.rssBytes,
      cacheMb: row.cacheMb,
    };
  } finally {
    await service.stop();
  }
}

/**
 * An instance started and, the moment it answers its health check, met with the whole Zipf load
 * of `credentials`; per second: throughput, credential reads, and the distinct credentials in
 * the requests answered so far (the most reads there should be).
 */
async function coldStart(context: ScaleContext, options: ScaleOptions, credentials: Header[]): Promise<ColdSecond[]> {
  const draws = zipfDraws(credentials.length, Math.max(200_000, options.connections * 4000), 7);
  const perConnection = shares(draws, credentials, options.connections);
  const service = await instance(context, 'cold-start', {});
  try {
    const seen = new Set<number>();
    const seconds: ColdSecond[] = [];
    let responses = 0;
    let lastResponses = 0;
    const first = await service.snapshot();
    let lastReads = first.credentialReads;
    const run = runShares(service.baseUrl, perConnection, options.coldSeconds, (connection, ordinal) => {
      responses++;
      const share = perConnection[connection];
      const index = connection + (ordinal % share.length) * options.connections;
      seen.add(draws[index]);
    });
    const started = Date.now();
    for (let second = 1; second <= options.coldSeconds; second++) {
      await sleep(started + second * 1000 - Date.now());
      const now = await service.snapshot();
      seconds.push({
        second,
        requestsPerSecond: responses - lastResponses,
        readsPerSecond: now.credentialReads - lastReads,
        cumulativeReads: now.credentialReads - first.credentialReads,
        distinctAnswered: seen.size,
      });
      lastResponses = responses;
      lastReads = now.credentialReads;
    }
    await run;
    return seconds;
  } finally {
    await service.stop();
  }
}

export async function runScale(context: ScaleContext, options: ScaleOptions): Promise<ScaleReport> {
  const population = options.million ? 1_000_000 : 100_000;
  const seedStarted = Date.now();
  context.progress(`seeding ${population.toLocaleString('en')} API keys, each with its own user, straight into the database`);
  const keys = await seedKeys(context.databaseUrl, population);
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  context.progress(`seeded in ${seedSeconds.toFixed(0)} s`);
  const keyHeaders = keys.map((key) => ({ 'x-api-key': key }));
  // BENCH_SCALE_ROWS (a regular expression) runs only the rows it matches, and the cold start only if it matches "cold".
  const wanted = new RegExp(process.env.BENCH_SCALE_ROWS ?? '.', 'i');
  const tokens = async () => (await context.seeder.accessTokens(context.seeder.many)).map((token) => ({ authorization: `Bearer ${token}` }));
  const many = context.seeder.many;

  const off = { AUTH_CACHE_MAX_MB: '0' };
  const rows: Array<{ name: string; credentials: () => Promise<Header[]> | Header[]; zipf: boolean; env: Record<string, string>; cacheMb: string }> = [
    { name: `tokens, cache on (${many.toLocaleString('en')} round-robin)`, credentials: tokens, zipf: false, env: {}, cacheMb: 'default' },
    { name: 'tokens, cache off: every request a miss', credentials: tokens, zipf: false, env: off, cacheMb: '0' },
    { name: 'keys, cache off: every request a miss', credentials: () => keyHeaders.slice(0, many), zipf: false, env: off, cacheMb: '0' },
    { name: 'keys, Zipf over 1,000', credentials: () => keyHeaders.slice(0, 1000), zipf: true, env: {}, cacheMb: 'default' },
    { name: 'keys, Zipf over 100,000', credentials: () => keyHeaders.slice(0, 100_000), zipf: true, env: {}, cacheMb: 'default' },
  ];
  if (options.million) rows.push({ name: 'keys, Zipf over 1,000,000', credentials: () => keyHeaders, zipf: true, env: {}, cacheMb: 'default' });

  const measured: ScaleRow[] = [];
  for (const row of rows.filter((candidate) => wanted.test(candidate.name))) {
    measured.push(await scalingRow(context, options, { ...row, credentials: await row.credentials() }));
    const last = measured[measured.length - 1];
    context.progress(`scale ${row.name}: ${Math.round(last.requestsPerSecond)} req/s, ${last.ratio.toFixed(2)}× bare, p99 ${last.p99Ms.toFixed(1)} ms, ${last.readsPerRequest.toFixed(3)} reads/req`);
  }
  let cold: ColdSecond[] = [];
  if (wanted.test('cold start')) {
    context.progress('cold start: an instance meets the 100,000-key Zipf load as soon as it is ready');
    cold = await coldStart(context, options, keyHeaders.slice(0, 100_000));
  }
  return { rows: measured, cold, coldPopulation: 100_000, seedSeconds, million: options.million };
}

const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);

export function renderScale(report: ScaleReport, options: ScaleOptions): string {
  const lines: string[] = [];
  lines.push(`### How cost grows (API keys with X-Api-Key on GET /users/me; each row on a fresh instance; Zipf exponent ${ZIPF_EXPONENT})`);
  lines.push('');
  lines.push('| row | credentials | distinct sent | req/s | × bare | p99 ms | reads/req | not 200 | CPU µs/req | heap growth MiB | RSS MiB | cache bound |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const row of report.rows) {
    lines.push(
      `| ${row.name} | ${row.population.toLocaleString('en')} | ${row.distinctSent.toLocaleString('en')} | ${Math.round(row.requestsPerSecond)} | ${row.ratio.toFixed(2)} | ${row.p99Ms.toFixed(1)} | ` +
        `${row.readsPerRequest.toFixed(3)} | ${row.unexpected} | ${Math.round(row.cpuMicrosPerRequest)} | ${mib(row.heapGrowthBytes)} | ${mib(row.rssBytes)} | ${row.cacheMb} |`,
    );
  }
  lines.push('');
  lines.push(
    `- ${options.connections} connections; ${options.scaleWarmupSeconds} s warm-up, then ${options.slices} slices of ${(options.durationSeconds / options.slices).toFixed(1)} s, each after a slice of bare Fastify; ` +
      `each slice draws afresh, so the long tail keeps bringing keys not seen. reads/req: the miss path's reads (the key with its user, or the session with its user) per request sent. ` +
      `Heap growth: heap after a full collection at the end less the same at start. Seeding ${report.rows.some((row) => row.population >= 1_000_000) ? '1,000,000' : '100,000'} keys took ${report.seedSeconds.toFixed(0)} s` +
      (report.million ? '.' : '; the 1,000,000 row runs with --million.'),
  );
  lines.push('');
  lines.push(`### Cold start: a fresh instance meets the Zipf load over ${report.coldPopulation.toLocaleString('en')} keys the moment it is ready`);
  lines.push('');
  lines.push('| second | req/s | reads/s | reads so far | distinct keys answered so far |');
  // Reads so far may pass the keys answered so far by the reads still in flight at the snapshot.
  lines.push('|---:|---:|---:|---:|---:|');
  for (const second of report.cold) {
    lines.push(`| ${second.second} | ${second.requestsPerSecond} | ${second.readsPerSecond} | ${second.cumulativeReads} | ${second.distinctAnswered} |`);
  }
  return lines.join('\n');
}
