/**
 * `npm run bench:instructions`: the instructions one request costs, counted by callgrind, for the
 * service's scenarios and for bare Fastify under the same requests. On a shared machine a rate
 * moves by more than most changes to the hot path; an instruction count for the same build and
 * requests moves by a few per cent, so this is how two builds are compared (docs/performance.md,
 * "Measuring a change"). It judges no goal: the goals are rates, which instructions do not make
 * (the kernel is not counted, nor what a cache miss costs).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CallgrindControl, callgrindWrapper, valgrindVersion } from './callgrind';
import { Cleanups, progressSince, runCommand, UsageError, wholeNumber } from './cli';
import { startMailSink } from './mail-sink';
import { LoadResult, RequestVariant, sendRequests } from './load';
import { runOnBenchNode } from './node-runtime';
import { ChildServer, ROOT, startBaseline, startDatabase, startService } from './processes';
import { Scenario, SCENARIOS } from './scenarios';
import { Seeder } from './seed';

/** Scenarios a count says something of: one credential each, no hashing, nothing beside them. */
const COUNTABLE = SCENARIOS.filter((scenario) => !scenario.background && !scenario.againstArgon2 && !scenario.name.endsWith('-1000') && scenario.name !== 'health');
const DEFAULT_SCENARIOS = ['plain-nest', 'probe-open', 'probe-guarded', 'probe-guarded-key', 'me-jwt-1', 'me-bearer-key-1', 'me-x-api-key-1'];
const QUICK_SCENARIOS = ['probe-open', 'me-jwt-1'];

const USAGE = `npm run bench:instructions [-- options]
  --only a,b           these scenarios (default ${DEFAULT_SCENARIOS.join(', ')}; any of ${COUNTABLE.map((s) => s.name).join(', ')})
  --requests <n>       requests counted per measurement (default 1000)
  --warmup <n>         requests per scenario before counting, uninstrumented, in two passes over
                       them all (default 20000)
  --repeats <n>        measurements per scenario; the table gives the lowest (default 5)
  --connections <n>    autocannon connections (default 4)
  --redis <url>        the service with REDIS_URL=<url>, as production runs; REDIS_URL does the same
  --quick              smoke run: ${QUICK_SCENARIOS.join(', ')}, 200 requests after 1000, once
Needs valgrind (Debian: apt-get install valgrind). Runs on Node 24 as npm run bench does. The
servers run under callgrind, instrumented only once warm: a full run takes about 9 minutes.`;


/**
 * Requests sent, uncounted, right before each measurement: with instrumentation on, valgrind
 * translates the code anew, and after an idle spell (a baseline waits while the service is
 * measured) V8 tidies its heap and code up; either made the next count several times dearer.
 */
const SETTLING_REQUESTS = 500;
const WARMUP_PASSES = 2;
/**
 * Each server is left idle this many times, this long, to count what its timers cost; the
 * lowest count is kept, since right after a load V8 may still be compiling or collecting.
 */
const IDLE_WINDOWS = 3;
const IDLE_SECONDS = 2;

interface Options {
  scenarios: Scenario[];
  requests: number;
  warmup: number;
  repeats: number;
  connections: number;
  redisUrl?: string;
  quick: boolean;
  invocation: string;
}

/** Something to count: a route on one of the servers, with its requests. */
interface Case {
  name: string;
  server: 'bare' | 'plain-nest' | 'service';
  method: Scenario['method'];
  path: string;
  expectStatus: number;
  variants: RequestVariant[];
  against?: string;
  counts: number[];
}

function parseOptions(argv: string[]): Options | undefined {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        requests: { type: 'string' },
        warmup: { type: 'string' },
        repeats: { type: 'string' },
        connections: { type: 'string' },
        redis: { type: 'string' },
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const names = values.only?.split(',').map((name) => name.trim()).filter(Boolean) ?? (values.quick ? QUICK_SCENARIOS : DEFAULT_SCENARIOS);
  const unknown = names.filter((name) => !COUNTABLE.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new UsageError(`not countable here: ${unknown.join(', ')}; these are: ${COUNTABLE.map((s) => s.name).join(', ')}`);
  return {
    scenarios: COUNTABLE.filter((scenario) => names.includes(scenario.name)),
    requests: wholeNumber('requests', values.requests, values.quick ? 200 : 1000, 1),
    warmup: wholeNumber('warmup', values.warmup, values.quick ? 1000 : 20000, 1),
    repeats: wholeNumber('repeats', values.repeats, values.quick ? 1 : 5, 1),
    connections: wholeNumber('connections', values.connections, 4, 1),
    redisUrl: values.redis ?? (process.env.REDIS_URL || undefined),
    quick: values.quick,
    invocation: argv.join(' '),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return 0;
  const handedOver = await runOnBenchNode(ROOT);
  if (handedOver !== undefined) return handedOver;
  const valgrind = await valgrindVersion();
  if (!valgrind) throw new UsageError('valgrind is not installed (Debian: apt-get install valgrind)');
  const startedAt = new Date();
  const progress = progressSince(startedAt);
  progress(`running on Node ${process.version} under ${valgrind}`);

  const dumps = mkdtempSync(join(tmpdir(), 'atiru-callgrind-'));
  const wrapper = callgrindWrapper(dumps);
  const cleanups = new Cleanups();
  cleanups.push(async () => rmSync(dumps, { recursive: true, force: true }));

  try {
    progress('starting PostgreSQL, the mail sink, and the servers under callgrind (uninstrumented)');
    const database = await startDatabase();
    cleanups.push(() => database.close());
    const mailSink = await startMailSink();
    cleanups.push(() => mailSink.stop());
    const servers = new Map<Case['server'], ChildServer>();
    const service = await startService({
      databaseUrl: database.url,
      smtpUrl: mailSink.url,
      logFile: join(ROOT, '.data', 'bench-results', 'service-instructions.log'),
      redisUrl: options.redisUrl,
      wrapper,
    });
    cleanups.push(() => service.stop());
    servers.set('service', service);
    const bare = await startBaseline('bare-fastify', wrapper);
    cleanups.push(() => bare.stop());
    servers.set('bare', bare);
    if (options.scenarios.some((scenario) => scenario.onPlainNest)) {
      const plainNest = await startBaseline('plain-nest', wrapper);
      cleanups.push(() => plainNest.stop());
      servers.set('plain-nest', plainNest);
    }

    progress('seeding');
    const seeder = new Seeder(service.baseUrl, database.url, 1);
    cleanups.push(() => seeder.close());
    const caseOf = (name: string, route: Pick<Scenario, 'method' | 'path' | 'expectStatus'>, server: Case['server'], variants: RequestVariant[], against?: string): Case => ({
      name,
      server,
      method: route.method,
      path: route.path,
      expectStatus: route.expectStatus,
      variants,
      against,
      counts: [],
    });
    const cases = [caseOf('bare Fastify', { method: 'GET', path: '/hello', expectStatus: 200 }, 'bare', [{}])];
    for (const scenario of options.scenarios) {
      const variants = scenario.setup ? await scenario.setup(seeder) : [{}];
      const server = scenario.onPlainNest ? 'plain-nest' : 'service';
      const other = COUNTABLE.find((candidate) => candidate.name === scenario.against);
      if (other) {
        // As in npm run bench: its baseline is sent the same requests, so the two differ only in their route.
        const name = `${other.name} (${scenario.name}'s requests)`;
        cases.push(caseOf(name, other, server, variants), caseOf(scenario.name, scenario, server, variants, name));
      } else {
        cases.push(caseOf(scenario.name, scenario, server, variants));
      }
    }
    const send = (entry: Case, amount: number): Promise<LoadResult> => {
      const spec = { baseUrl: servers.get(entry.server)!.baseUrl, ...entry, connections: options.connections };
      return sendRequests(spec, amount);
    };

    // V8 optimises a function after enough calls, and again when a later request takes a path
    // its code did not expect: until the code of every scenario has settled, a measurement counts
    // the optimising compiler more than the request. So each scenario is sent its share twice.
    progress(`warming up: ${options.warmup} requests a scenario, uninstrumented`);
    for (let pass = 0; pass < WARMUP_PASSES; pass++) {
      for (const entry of cases) {
        const warm = await send(entry, Math.ceil(options.warmup / WARMUP_PASSES));
        if (warm.unexpected > 0 || warm.errors > 0) throw new Error(`${entry.name}: ${warm.unexpected} unexpected answers (${JSON.stringify(warm.statuses)}), ${warm.errors} errors`);
      }
    }
    const controls = new Map<Case['server'], CallgrindControl>();
    for (const [kind, server] of servers) {
      // The service is told its address in HOST; the baselines keep this process's environment.
      controls.set(kind, new CallgrindControl(server.process.pid!, dumps, kind === 'service' ? '127.0.0.1' : process.env.HOST));
      await controls.get(kind)!.instrument();
    }
    // A server's timers run by the clock, and under callgrind a request takes far longer than it
    // would: what they cost while idle is taken out of each measurement, for as long as it took.
    progress(`counting each server idle, ${IDLE_WINDOWS} times ${IDLE_SECONDS} s`);
    const idlePerMs = new Map<Case['server'], number>();
    for (const [kind, control] of controls) {
      const rates: number[] = [];
      for (let window = 0; window < IDLE_WINDOWS; window++) {
        await control.zero();
        const idleStarted = performance.now();
        await sleep(IDLE_SECONDS * 1000);
        rates.push((await control.instructionsSinceZero()) / (performance.now() - idleStarted));
      }
      idlePerMs.set(kind, Math.min(...rates));
    }

    progress(`counting: ${options.requests} requests a measurement, ${options.repeats} measurement(s) a scenario`);
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      for (const entry of cases) {
        const control = controls.get(entry.server)!;
        await send(entry, SETTLING_REQUESTS);
        await control.zero();
        const started = performance.now();
        const result = await send(entry, options.requests);
        const instructions = (await control.instructionsSinceZero()) - idlePerMs.get(entry.server)! * (performance.now() - started);
        if (result.unexpected > 0 || result.errors > 0) throw new Error(`${entry.name}: ${result.unexpected} unexpected answers, ${result.errors} errors`);
        entry.counts.push(instructions / result.responses);
        progress(`${entry.name}: ${Math.round(instructions / result.responses).toLocaleString('en-US')} instructions a request`);
      }
    }
    const markdown = render(cases, options, { startedAt, valgrind, idlePerSecond: idlePerMs.get('service')! * 1000 });
    console.log(`\n${markdown}`);
    mkdirSync(join(ROOT, '.data', 'bench-results'), { recursive: true });
    const file = join(ROOT, '.data', 'bench-results', `${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}-${hostname()}-instructions${options.quick ? '-quick' : ''}.md`);
    writeFileSync(file, `${markdown}\n`);
    console.log(`\nwritten to ${file}`);
    return 0;
  } finally {
    await cleanups.run();
  }
}

function render(cases: Case[], options: Options, run: { startedAt: Date; valgrind: string; idlePerSecond: number }): string {
  // What disturbs a count only ever adds to it: a late compilation, or a full collection of what
  // the scenarios before left. (Forcing a collection before each measurement, as npm run bench
  // does before each scenario's warm-up, made the count right after it two to three times dearer.)
  const perRequest = new Map(cases.map((entry) => [entry.name, Math.min(...entry.counts)]));
  const bare = perRequest.get('bare Fastify')!;
  const thousands = (value: number) => Math.round(value).toLocaleString('en-US');
  const lines = [
    `## ${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: \`npm run bench:instructions${options.invocation ? ` -- ${options.invocation}` : ''}\``,
    '',
    `Node ${process.version}, ${run.valgrind}; ${options.requests} requests a measurement on ${options.connections} connections, after ${options.warmup} uninstrumented ` +
      `and ${SETTLING_REQUESTS} uncounted ones right before each; the lowest of ${options.repeats} measurement(s), since what disturbs a count (a late compilation, a full collection) only adds to it. Instructions of the whole process (every thread; not the kernel's), ` +
      `per request answered; the service ${options.redisUrl ? 'with' : 'without'} REDIS_URL. × bare Fastify is bare Fastify's count over the row's, as the rates' ratios read (higher is cheaper); ` +
      `× its own baseline likewise against the scenario it is held against in npm run bench, sent the same requests.`,
    '',
    '| scenario | instructions a request | highest measured | × bare Fastify | × its own baseline |',
    '|:--|--:|--:|--:|--:|',
  ];
  for (const entry of cases) {
    const own = perRequest.get(entry.name)!;
    const against = entry.against ? `${(perRequest.get(entry.against)! / own).toFixed(2)}×` : '–';
    lines.push(`| ${entry.name} | ${thousands(own)} | ${thousands(Math.max(...entry.counts))} | ${(bare / own).toFixed(2)}× | ${against} |`);
  }
  lines.push(
    '',
    `Taken out of each measurement: what the server counted idle, for as long as the measurement lasted (the service's timers, such as the use merges and the mail outbox: ` +
      `${thousands(run.idlePerSecond)} instructions a second).`,
  );
  return lines.join('\n');
}

runCommand('bench:instructions', USAGE, main);
