/**
 * `npm run bench`: the service and a bare Fastify baseline in child processes, a real
 * PostgreSQL, autocannon from this process, one table out. See docs/performance.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ARGON2_BESIDE_SAMPLES, argon2Samples, measureArgon2Ms, median } from './argon2';
import { Cleanups, progressSince, runCommand, UsageError, wholeNumber } from './cli';
import { loadServiceFastify } from './baseline-server';
import { startMailSink } from './mail-sink';
import type { ServiceSnapshot } from './ipc';
import { BackgroundLoad, LoadResult, LoadSpec, RequestVariant, runLoad, startBackgroundLoad } from './load';
import { ChildServer, ROOT, ServiceServer, startBaseline, startDatabase, startService } from './processes';
import { currentMajor, REFERENCE_NODE_MAJOR, runOnBenchNode } from './node-runtime';
import { renderScale, runScale, ScaleOptions } from './scale';
import { renderReport, RoundMeasure, RunReport, ScenarioReport, SqlPass } from './report';
import { Scenario, SCENARIOS } from './scenarios';
import { EndpointMissingError, Seeder } from './seed';
import { StatementCounts, subtractCounts } from './sql-statements';

const USAGE = `npm run bench [-- options]
  --quick              smoke run: 1 s warm-up and 1 s per measurement, 10 credentials
  --only a,b           run only these scenarios (${SCENARIOS.map((s) => s.name).join(', ')})
  --list               list the scenarios and exit
  --duration <s>       seconds per measurement (default 5)
  --slices <n>         the measurement cut into n slices, alternating with the baseline's (default 5)
  --warmup <s>         seconds of warm-up before each measurement (default 2)
  --rounds <n>         rounds over all scenarios; figures are medians (default 1)
  --connections <n>    autocannon connections (default 50)
  --credentials <n>    distinct credentials in the *-1000 scenarios (default 1000)
  --no-sql-counters    skip the short SQL counting pass after each timed run
  --keep-garbage       no full garbage collection in the service and the baseline before each scenario
  --no-scale           skip the scaling rows and the cold start (bench/scale.ts, docs/capacity.md)
  --scale-only         run only the scaling rows and the cold start
  --million            add the 1,000,000-key scaling row (seeding it takes minutes)
  --cold-seconds <s>   length of the cold start (default 12)
  --scale-warmup <s>   warm-up of each scaling row (default 10)
  --redis <url>        run the service with REDIS_URL=<url> (shared rate-limit counts), as a
                       multi-instance deployment does; REDIS_URL in the environment does the same
Runs on Node 24 from .node24/ (npm run node24:install) when the current Node is older;
BENCH_NODE=/path/to/node runs it on that Node instead.
DATABASE_URL set: a fresh database on that server; unset: an embedded PostgreSQL in .data/bench.
The service inherits this environment over the benchmark's defaults (production mode,
LOG_LEVEL=info with the access lines read by a separate process, rate limits out of reach),
e.g. LOG_LEVEL=warn npm run bench to compare with runs before decision 027.`;


/** Where each run's table and the service's log are written (ignored by git). */
const RESULTS = join(ROOT, '.data', 'bench-results');

/**
 * Seconds of each SQL counting pass. Statements per request hardly vary, so a short pass tells
 * them; counting needs the service to tag its requests, which is kept out of the timed runs.
 */
const COUNTING_SECONDS = 1;

/** Time for the requests a stopped load left in flight to finish before a snapshot. */
const SETTLE_MS = 200;

interface Options {
  quick: boolean;
  only?: string[];
  durationSeconds: number;
  slices: number;
  warmupSeconds: number;
  rounds: number;
  connections: number;
  credentials: number;
  countSql: boolean;
  collectBetween: boolean;
  /** The REDIS_URL the service runs with, if any. */
  redisUrl?: string;
  scale: boolean;
  scaleOnly: boolean;
  million: boolean;
  coldSeconds: number;
  scaleWarmupSeconds: number;
  invocation: string;
}

interface Prepared {
  scenario: Scenario;
  variants: RequestVariant[];
  background?: { scenario: Scenario; variants: RequestVariant[]; connections: number };
  /** The service scenario that stands in for the bare baseline (Scenario.against). */
  against?: { scenario: Scenario; variants: RequestVariant[] };
}

function parseOptions(argv: string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        list: { type: 'boolean', default: false },
        duration: { type: 'string' },
        slices: { type: 'string' },
        warmup: { type: 'string' },
        rounds: { type: 'string' },
        connections: { type: 'string' },
        credentials: { type: 'string' },
        'no-sql-counters': { type: 'boolean', default: false },
        'keep-garbage': { type: 'boolean', default: false },
        redis: { type: 'string' },
        'no-scale': { type: 'boolean', default: false },
        'scale-only': { type: 'boolean', default: false },
        million: { type: 'boolean', default: false },
        'cold-seconds': { type: 'string' },
        'scale-warmup': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  if (values.list) {
    for (const scenario of SCENARIOS) console.log(`${scenario.name.padEnd(22)} ${scenario.summary}`);
    return undefined;
  }
  const only = values.only?.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = only?.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) throw new UsageError(`unknown scenario(s) ${unknown.join(', ')}; there are: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return {
    quick: values.quick,
    only,
    durationSeconds: wholeNumber('duration', values.duration, values.quick ? 1 : 5, 1),
    slices: wholeNumber('slices', values.slices, values.quick ? 1 : 5, 1),
    warmupSeconds: wholeNumber('warmup', values.warmup, values.quick ? 1 : 2, 0),
    rounds: wholeNumber('rounds', values.rounds, 1, 1),
    connections: wholeNumber('connections', values.connections, 50, 1),
    credentials: wholeNumber('credentials', values.credentials, values.quick ? 10 : 1000, 1),
    countSql: !values['no-sql-counters'],
    collectBetween: !values['keep-garbage'],
    redisUrl: values.redis ?? (process.env.REDIS_URL || undefined),
    scale: !values['no-scale'],
    scaleOnly: values['scale-only'],
    million: values.million,
    coldSeconds: wholeNumber('cold-seconds', values['cold-seconds'], values.quick ? 4 : 12, 2),
    scaleWarmupSeconds: wholeNumber('scale-warmup', values['scale-warmup'], values.quick ? 1 : 10, 0),
    invocation: argv.join(' '),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return 0;
  const handedOver = await runOnBenchNode(ROOT);
  if (handedOver !== undefined) return handedOver;
  console.log(`running on Node ${process.version} (${process.execPath})`);
  if (currentMajor() < REFERENCE_NODE_MAJOR) {
    console.log(`  not the reference runtime: the figures compare with docs/performance.md only on Node ${REFERENCE_NODE_MAJOR} (npm run node24:install)`);
  }
  const startedAt = new Date();
  const selected = options.scaleOnly ? [] : options.only ? SCENARIOS.filter((scenario) => options.only!.includes(scenario.name)) : SCENARIOS;

  const progress = progressSince(startedAt);
  progress('measuring one argon2id hash');
  const argon2Ms = await measureArgon2Ms();

  const cleanups = new Cleanups();

  try {
    progress('starting PostgreSQL, the mail sink, the service and the baseline');
    const database = await startDatabase();
    cleanups.push(() => database.close());
    // Mail goes over real SMTP to a sink here, as it would in production.
    const mailSink = await startMailSink();
    cleanups.push(() => mailSink.stop());
    const service = await startService({
      databaseUrl: database.url,
      smtpUrl: mailSink.url,
      logFile: join(RESULTS, 'service.log'),
      redisUrl: options.redisUrl,
    });
    cleanups.push(() => service.stop());
    const baseline = await startBaseline();
    cleanups.push(() => baseline.stop());
    const plainNest = selected.some((scenario) => scenario.onPlainNest) ? await startBaseline('plain-nest') : undefined;
    if (plainNest) cleanups.push(() => plainNest.stop());
    const seeder = new Seeder(service.baseUrl, database.url, options.credentials);
    cleanups.push(() => seeder.close());

    const prepared: Prepared[] = [];
    const skipped: RunReport['skipped'] = [];
    for (const scenario of selected) {
      try {
        prepared.push(await prepare(scenario, scenario.onPlainNest ? plainNest!.baseUrl : service.baseUrl, seeder));
        progress(`prepared ${scenario.name}`);
      } catch (error) {
        if (!(error instanceof EndpointMissingError)) throw error;
        skipped.push({ name: scenario.name, reason: `${error.message} (not built yet)` });
        progress(`skipping ${scenario.name}: ${error.message}`);
      }
    }
    await seeder.untilMailSent();
    await seeder.close();
    // The last sends' bookkeeping, and whatever the seeding's last requests left on the event loop.
    await sleep(1000);
    progress('seeded, and the service is idle again: measuring');

    const reports: ScenarioReport[] = prepared.map((entry) => ({ scenario: entry.scenario, variants: entry.variants.length, rounds: [] }));
    let baselineWarm = false;
    for (let round = 1; round <= options.rounds; round++) {
      for (const [index, entry] of prepared.entries()) {
        // The bare server is warm after its first run; its later runs need no warm-up of their own.
        const baselineWarmup = baselineWarm ? 0 : options.warmupSeconds;
        baselineWarm = true;
        const measure = await measureScenario(entry, { service, baseline, plainNest, options, baselineWarmup });
        reports[index].rounds.push(measure);
        const cpu = measure.cpuMicrosPerRequest;
        const hash = measure.argon2Ms === undefined ? '' : `; p50 ${measure.result.p50Ms.toFixed(1)} ms, ${(measure.result.p50Ms / measure.argon2Ms).toFixed(2)}× a hash beside it (${measure.argon2Ms.toFixed(1)} ms)`;
        progress(
          `round ${round} ${entry.scenario.name}: ${Math.round(measure.result.requestsPerSecond)} req/s, ` +
            `${measure.ratio.toFixed(2)}× baseline (${Math.round(measure.baseline.requestsPerSecond)} req/s); ` +
            `${Math.round(cpu.service)} µs CPU/req, ${measure.cpuRatio.toFixed(2)}× baseline (${Math.round(cpu.baseline)} µs)${hash}`,
        );
      }
    }
    // Only now, with every timed run done: see countingPass.
    if (options.countSql) {
      for (const [index, entry] of prepared.entries()) {
        if (entry.scenario.onPlainNest) continue;
        const sql = await countingPass(service, entry, options);
        reports[index].rounds[reports[index].rounds.length - 1].sql = sql;
        progress(`counted the SQL of ${entry.scenario.name}`);
      }
    }

    let scale: string | undefined;
    if (options.scale || options.scaleOnly) {
      const scaleOptions: ScaleOptions = { ...options };
      const context = { databaseUrl: database.url, issuer: service.baseUrl, smtpUrl: mailSink.url, resultsDir: RESULTS, baseline, seeder, redisUrl: options.redisUrl, progress };
      scale = renderScale(await runScale(context, scaleOptions), scaleOptions);
      await seeder.close();
    }

    const final = await service.snapshot();
    const report: RunReport = {
      startedAt,
      elapsedSeconds: (Date.now() - startedAt.getTime()) / 1000,
      invocation: options.invocation,
      settings: {
        connections: options.connections,
        durationSeconds: options.durationSeconds,
        slices: options.slices,
        warmupSeconds: options.warmupSeconds,
        rounds: options.rounds,
        credentials: options.credentials,
        countSql: options.countSql,
        countingSeconds: COUNTING_SECONDS,
        collectBetween: options.collectBetween,
        redis: options.redisUrl !== undefined,
        logLevel: service.logLevel,
        accessLines: await service.accessLines(),
      },
      database: database.description,
      versions: { fastify: loadServiceFastify().version, autocannon: packageVersion('autocannon') },
      argon2Ms,
      scenarios: reports,
      skipped,
      memory: { rssBytes: final.rssBytes, peakRssBytes: final.peakRssBytes },
    };
    const markdown = renderReport(report) + (scale ? `\n\n${scale}` : '');
    console.log(`\n${markdown}`);
    console.log(`written to ${writeResults(markdown, startedAt, options.quick)}`);

    // Slow figures are figures; answers that are all wrong mean the harness or its setup is broken.
    const broken = reports.filter((entry) => entry.rounds.some((round) => round.result.responses > 0 && round.result.responses === round.result.unexpected));
    if (broken.length > 0) {
      console.error(`no response had the expected status in: ${broken.map((entry) => entry.scenario.name).join(', ')}`);
      return 1;
    }
    return 0;
  } finally {
    await cleanups.run();
  }
}

/** Probes the scenario's route, then runs its setup (and its background's, and its reference's). */
async function prepare(scenario: Scenario, baseUrl: string, seeder: Seeder): Promise<Prepared> {
  const variants = await requestsOf(scenario, baseUrl, seeder);
  const prepared: Prepared = { scenario, variants };
  if (scenario.background) {
    const other = scenarioNamed(scenario.background.scenario, `${scenario.name}'s background`);
    prepared.background = { scenario: other, variants: await requestsOf(other, baseUrl, seeder), connections: scenario.background.connections };
  }
  if (scenario.against) {
    const other = scenarioNamed(scenario.against, `${scenario.name}'s baseline`);
    if (other.method !== scenario.method) throw new Error(`${scenario.name} (${scenario.method}) cannot be held against ${other.name} (${other.method})`);
    // The same requests, credentials included, so that the two differ only in their route.
    await probeRoute(other, baseUrl);
    prepared.against = { scenario: other, variants };
  }
  return prepared;
}

function scenarioNamed(name: string, role: string): Scenario {
  const found = SCENARIOS.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no scenario named ${name} for ${role}`);
  return found;
}

async function requestsOf(scenario: Scenario, baseUrl: string, seeder: Seeder): Promise<RequestVariant[]> {
  await probeRoute(scenario, baseUrl);
  return scenario.setup ? await scenario.setup(seeder) : [{}];
}

/** Refuses a scenario whose route this build does not have. */
async function probeRoute(scenario: Scenario, baseUrl: string): Promise<void> {
  // Unknown routes answer 404 before any guard runs; a protected route answers 401 here.
  const probe = await fetch(baseUrl + scenario.path, { method: scenario.method });
  await probe.arrayBuffer();
  if (probe.status === 404) throw new EndpointMissingError(`${scenario.method} ${scenario.path} answers 404`);
}

/**
 * One round of a scenario: the timed measurement cut into slices that alternate with the
 * baseline's (baseline, scenario, baseline, scenario, ...) on the same connections, so that
 * whatever else the machine does hits both alike; then (unless switched off) the SQL counting
 * pass. The ratios are the medians of each slice's against the baseline slice just before it. A
 * scenario with a background load runs in one slice, the load starting after the baseline's, and
 * so does one marked `unsliced`.
 */
async function measureScenario(
  entry: Prepared,
  context: { service: ServiceServer; baseline: ChildServer; plainNest?: ChildServer; options: Options; baselineWarmup: number },
): Promise<RoundMeasure> {
  const { service, baseline, options } = context;
  // Where the scenario's own requests go: the service, or the minimal Nest application.
  const target = entry.scenario.onPlainNest ? context.plainNest! : service;
  const load = (baseUrl: string, scenario: LoadedScenario, variants: RequestVariant[], durationSeconds: number) =>
    loadSpec(baseUrl, scenario, variants, durationSeconds, options);
  const slices = entry.background || entry.scenario.unsliced ? 1 : options.slices;
  const sliceSeconds = options.durationSeconds / slices;

  // The baseline runs on the scenario's connections, so the ratio compares like with like.
  const hello = { method: 'GET', path: '/hello', expectStatus: 200, connections: entry.scenario.connections } as const;
  const baselineSpec = entry.against
    ? load(service.baseUrl, { ...entry.against.scenario, connections: entry.scenario.connections }, entry.against.variants, sliceSeconds)
    : load(baseline.baseUrl, hello, [{}], sliceSeconds);
  const baselineServer = entry.against ? service : baseline;
  // What the seeding and the scenarios before left in the old generation is collected here rather
  // than in this scenario's window: the first full mark-compact after the seeding fell in
  // whichever scenario came third and made its p99. What the scenario
  // itself leaves is still collected in its own window (see docs/performance.md).
  if (options.collectBetween) await Promise.all([target.collectGarbage(), baseline.collectGarbage()]);
  const baselineWarmup = entry.against ? options.warmupSeconds : context.baselineWarmup;
  if (baselineWarmup > 0) await runLoad({ ...baselineSpec, durationSeconds: baselineWarmup });
  const spec = load(target.baseUrl, entry.scenario, entry.variants, sliceSeconds);
  const warmUp = () => (options.warmupSeconds > 0 ? runLoad({ ...spec, durationSeconds: options.warmupSeconds }) : undefined);

  let background: BackgroundLoad | undefined;
  try {
    if (!entry.background) await warmUp();
    const pairs: Array<{ baseline: TimedRun; service: TimedRun }> = [];
    // The hash the scenario is held against, timed on the machine as it is now, before and after.
    const hashes = entry.scenario.againstArgon2 ? await argon2Samples(ARGON2_BESIDE_SAMPLES) : [];
    for (let slice = 0; slice < slices; slice++) {
      const baselineRun = await timedRun(baselineServer, baselineSpec);
      if (entry.background && slice === 0) {
        background = startBackgroundOf(service, entry.background, options);
        await warmUp();
      }
      pairs.push({ baseline: baselineRun, service: await timedRun(target, spec, background) });
    }
    if (entry.scenario.againstArgon2) hashes.push(...(await argon2Samples(ARGON2_BESIDE_SAMPLES)));
    const sliceRatios = pairs.map((pair) => pair.service.result.requestsPerSecond / pair.baseline.result.requestsPerSecond);
    return {
      result: mergeSlices(pairs.map((pair) => pair.service.result)),
      baseline: mergeSlices(pairs.map((pair) => pair.baseline.result)),
      ratio: median(sliceRatios),
      sliceRatios,
      cpuMicrosPerRequest: {
        service: median(pairs.map((pair) => pair.service.cpuMicrosPerRequest)),
        baseline: median(pairs.map((pair) => pair.baseline.cpuMicrosPerRequest)),
      },
      cpuRatio: median(pairs.map((pair) => pair.baseline.cpuMicrosPerRequest / pair.service.cpuMicrosPerRequest)),
      background: await background?.stop(),
      argon2Ms: hashes.length > 0 ? median(hashes) : undefined,
    };
  } finally {
    await background?.stop();
  }
}

/** What a load needs of a scenario. */
type LoadedScenario = Pick<Scenario, 'method' | 'path' | 'expectStatus' | 'connections'>;

/** The load of `scenario`'s requests on `baseUrl`, on its own connection count or the run's. */
function loadSpec(baseUrl: string, scenario: LoadedScenario, variants: RequestVariant[], durationSeconds: number, options: Options): LoadSpec {
  return {
    baseUrl,
    method: scenario.method,
    path: scenario.path,
    expectStatus: scenario.expectStatus,
    variants,
    connections: scenario.connections ?? options.connections,
    durationSeconds,
  };
}

/** A scenario's background load, flat out on the service on its own connections until stopped. */
function startBackgroundOf(service: ServiceServer, background: NonNullable<Prepared['background']>, options: Options): BackgroundLoad {
  return startBackgroundLoad({ ...loadSpec(service.baseUrl, background.scenario, background.variants, 0, options), connections: background.connections });
}

/**
 * The slices of one measurement as one result: counts added up, the mean rate (the slices are
 * equally long), and the percentiles of all the slices' responses together.
 */
function mergeSlices(slices: LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {};
  for (const slice of slices) for (const [status, count] of Object.entries(slice.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  const sum = (pick: (slice: LoadResult) => number) => slices.reduce((total, slice) => total + pick(slice), 0);
  const latencies = Float64Array.from(slices.flatMap((slice) => slice.latenciesMs ?? [])).sort();
  const percentile = (fraction: number) => (latencies.length > 0 ? latencies[Math.ceil(fraction * latencies.length) - 1] : NaN);
  return {
    requestsPerSecond: sum((slice) => slice.requestsPerSecond) / slices.length,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
    errors: sum((slice) => slice.errors),
    unexpected: sum((slice) => slice.unexpected),
    statuses,
    responses: sum((slice) => slice.responses),
    sent: sum((slice) => slice.sent),
  };
}

interface TimedRun {
  result: LoadResult;
  cpuMicrosPerRequest: number;
}

async function timedRun(server: ChildServer, spec: LoadSpec, background?: BackgroundLoad): Promise<TimedRun> {
  await sleep(SETTLE_MS);
  const before = await server.snapshot();
  const backgroundBefore = background?.responses() ?? 0;
  const result = await runLoad(spec);
  await sleep(SETTLE_MS);
  const after = await server.snapshot();
  const requests = result.sent + (background?.responses() ?? 0) - backgroundBefore;
  return { result, cpuMicrosPerRequest: requests > 0 ? (after.cpuMicros - before.cpuMicros) / requests : NaN };
}

/**
 * The scenario's statements, counted in a short run of its own with counting switched on, after a
 * warm-up of the same requests (so a credential is one seen before, as in the timed run), and
 * beside its background load if it has one. Counting tells a request's statements from the
 * others by an AsyncLocalStorage entered around each request, and on Node 20 a process that has
 * once had async hooks on pays for them on every promise from then on, even with them off again
 * (see docs/performance.md). So all the passes come after every timed run, and the service is started
 * with counting off.
 */
async function countingPass(service: ServiceServer, entry: Prepared, options: Options): Promise<SqlPass> {
  const spec = loadSpec(service.baseUrl, entry.scenario, entry.variants, COUNTING_SECONDS, options);
  const background = entry.background ? startBackgroundOf(service, entry.background, options) : undefined;
  try {
    await runLoad(spec);
    return await countedRun(service, spec, background);
  } finally {
    await background?.stop();
  }
}

async function countedRun(service: ServiceServer, spec: LoadSpec, background?: BackgroundLoad): Promise<SqlPass> {
  await service.countSql(true);
  try {
    const before = await quiesce(service, !background);
    const backgroundBefore = background?.responses() ?? 0;
    const result = await runLoad(spec);
    const backgroundDuring = (background?.responses() ?? 0) - backgroundBefore;
    const after = await quiesce(service, !background);
    return {
      inRequests: subtractCounts(after.inRequests, before.inRequests),
      outsideRequests: subtractCounts(after.outsideRequests, before.outsideRequests),
      requests: result.sent + backgroundDuring,
    };
  } finally {
    await service.countSql(false);
  }
}

/**
 * Waits until the requests a stopped load left in flight have run their statements, so a
 * snapshot splits cleanly between measurements. Under a background load nothing settles; a
 * short pause then has to do.
 */
async function quiesce(service: ServiceServer, canSettle: boolean): Promise<ServiceSnapshot> {
  if (!canSettle) {
    await sleep(SETTLE_MS);
    return service.snapshot();
  }
  let last = await service.snapshot();
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    await sleep(100);
    const now = await service.snapshot();
    if (total(now.inRequests) === total(last.inRequests)) return now;
    last = now;
  }
  return last;
}

function total(counts: StatementCounts): number {
  return counts.read + counts.write + counts.other;
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
}

/**
 * Each run's table goes to a file of its own in an ignored folder: the current baseline is in
 * docs/performance.md, and its history in git.
 */
function writeResults(markdown: string, startedAt: Date, quick: boolean): string {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}-${hostname()}${quick ? '-quick' : ''}.md`);
  writeFileSync(file, `${markdown}\n`);
  return file;
}

runCommand('bench', USAGE, main);
