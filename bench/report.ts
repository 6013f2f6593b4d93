import { cpus, hostname, release, totalmem, type } from 'node:os';
import { ARGON2_BESIDE_SAMPLES, median } from './argon2';
import { judgeGoals, p50AgainstHash, renderVerdicts, statementsInRequests } from './goals';
import type { LoadResult } from './load';
import type { Scenario } from './scenarios';
import type { StatementCounts } from './sql-statements';

export interface RoundMeasure {
  /** The scenario's slices, merged. */
  result: LoadResult;
  /** The baseline's slices, each run just before one of the scenario's, merged. */
  baseline: LoadResult;
  /** req/s against the baseline: the median over slices of each against the baseline slice before it. */
  ratio: number;
  /** Each slice's req/s against the baseline slice before it: their spread is the run's noise. */
  sliceRatios: number[];
  /** CPU time per request sent, in µs (medians over slices): the service's (background load included), the baseline's. */
  cpuMicrosPerRequest: { service: number; baseline: number };
  /** Baseline's CPU per request over the service's: the median over slices, paired as for `ratio`. */
  cpuRatio: number;
  /** The scenario's counting pass, once every timed run is done (on its last round); absent when SQL is not counted. */
  sql?: SqlPass;
  background?: LoadResult;
  /** For a scenario held against argon2: the median of the hashes timed right before and right after its run, in ms. */
  argon2Ms?: number;
}

/** A short run of the scenario with SQL counting on, apart from the timed run. */
export interface SqlPass {
  /** Statements issued while serving requests. */
  inRequests: StatementCounts;
  /** Statements issued outside any request (timers, the mail outbox). */
  outsideRequests: StatementCounts;
  /** Requests the service was sent during the pass, background load included. */
  requests: number;
}

export interface ScenarioReport {
  scenario: Scenario;
  /** Distinct requests (credentials) sent round-robin. */
  variants: number;
  rounds: RoundMeasure[];
}

export interface RunReport {
  startedAt: Date;
  elapsedSeconds: number;
  /** How the run was invoked, e.g. "--quick". */
  invocation: string;
  settings: {
    connections: number;
    durationSeconds: number;
    /** Slices each measurement is cut into, alternating with the baseline's. */
    slices: number;
    warmupSeconds: number;
    rounds: number;
    credentials: number;
    countSql: boolean;
    /** Length of each SQL counting pass. */
    countingSeconds: number;
    /** Whether both processes ran a full garbage collection before each scenario. */
    collectBetween: boolean;
    /** Whether the service ran with REDIS_URL (shared rate-limit counts). */
    redis: boolean;
    /** The service's log level, and the access lines it wrote (one per request at `info`). */
    logLevel: string;
    accessLines: number;
  };
  database: string;
  versions: { fastify: string; autocannon: string };
  argon2Ms: number;
  scenarios: ScenarioReport[];
  skipped: Array<{ name: string; reason: string }>;
  memory?: { rssBytes: number; peakRssBytes?: number };
}

const COLUMNS = [
  'scenario',
  'creds',
  'req/s',
  'p50 ms',
  'p99 ms',
  'errors',
  'unexpected',
  '× baseline',
  'baseline req/s',
  'CPU µs/req',
  'baseline CPU µs/req',
  'CPU × baseline',
  'SQL reads/req',
  'SQL writes/req',
  'SQL other/req',
];

export function machineLine(report: Pick<RunReport, 'database' | 'versions'>): string {
  const cores = cpus();
  return [
    `${cores.length} cores`,
    cores[0]?.model.trim() ?? 'unknown CPU',
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `${type()} ${release()}`,
    `node ${process.version}`,
    report.database,
    `fastify ${report.versions.fastify}`,
    `autocannon ${report.versions.autocannon}`,
    `host ${hostname()}`,
  ].join(', ');
}

/** The run as markdown: one table, then what it needs to be read right. */
export function renderReport(report: RunReport): string {
  const { settings } = report;
  const lines: string[] = [];
  lines.push(`## ${report.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: \`npm run bench${report.invocation ? ` -- ${report.invocation}` : ''}\``);
  lines.push('');
  lines.push(`machine: ${machineLine(report)}`);
  lines.push(
    `settings: ${settings.connections} connections on loopback, ${settings.durationSeconds} s per measurement after a ${settings.warmupSeconds} s warm-up (the baseline's once), ` +
      `in ${settings.slices} slice(s) each right after a slice of the baseline (bare Fastify GET /hello on the same connections), ratios the medians of the slices'; ` +
      `${settings.rounds} round(s); ` +
      `${settings.credentials} distinct credentials in the *-1000 scenarios; ` +
      `${settings.collectBetween ? 'a full garbage collection in both processes before each scenario' : 'no garbage collection forced between scenarios'}; ` +
      `the service ${settings.redis ? 'with REDIS_URL (rate-limit counts shared in Redis)' : 'without REDIS_URL (rate-limit counts in memory)'}, ` +
      `logging at ${settings.logLevel} (${settings.accessLines.toLocaleString('en-US')} access lines written, read by a separate process); ` +
      `SQL ${settings.countSql ? `counted in a separate ${settings.countingSeconds} s pass after each timed run` : 'not counted'}; ` +
      `figures are medians over rounds; run took ${Math.round(report.elapsedSeconds)} s`,
  );
  lines.push('');

  const rows: string[][] = [];
  for (const entry of report.scenarios) rows.push(...scenarioRows(entry));
  lines.push(...table(COLUMNS, rows));
  lines.push('');
  lines.push(...renderVerdicts(judgeGoals(report)));
  if (settings.durationSeconds / settings.slices < 1 || settings.slices === 1) {
    lines.push('- A run of one slice, or of slices under a second, says little of its goals: judge them on a full run.');
  }
  lines.push('');

  lines.push(
    `- CPU µs/req: the service's CPU time (user + system, all threads) per request of the timed run (for plain-nest, the minimal Nest application's); baseline CPU µs/req: bare Fastify's in the same round; ` +
      `CPU × baseline = baseline's / service's, the counterpart of × baseline that the machine's other load sways less.`,
  );
  if (settings.countSql) {
    lines.push(
      `- SQL per request: counted once every timed run is done, in a ${settings.countingSeconds} s pass per scenario after a ${settings.countingSeconds} s warm-up (same requests and connections), ` +
        `the only time the benchmark tags requests with an AsyncLocalStorage of its own (on Node before 24 it leaves every later promise dearer), so the timed figures never pay for counting.`,
    );
  }
  const argon2 = `one argon2id hash (m=19456 KiB, t=2, p=1) on this machine: ${report.argon2Ms.toFixed(1)} ms (median of 20 in a new process, at the start of the run)`;
  const againstArgon2 = report.scenarios.filter((entry) => entry.scenario.againstArgon2 && entry.rounds.length > 0);
  for (const entry of againstArgon2) {
    const p50 = median(entry.rounds.map((round) => round.result.p50Ms));
    const beside = median(entry.rounds.map((round) => round.argon2Ms ?? NaN));
    const ratio = p50AgainstHash(entry.rounds);
    const goal = entry.scenario.goal?.maxHashes;
    lines.push(
      `- ${entry.scenario.name} p50 ${p50.toFixed(1)} ms = ${ratio.toFixed(2)}× one argon2id hash timed beside it (${beside.toFixed(1)} ms: ` +
        `median of ${ARGON2_BESIDE_SAMPLES} right before and ${ARGON2_BESIDE_SAMPLES} right after each run, each set in a new process; ratios the median over rounds)${goal === undefined ? '' : `; the goal is ≤ ${goal}×`}. ` +
        `Against the hash at the start: ${(p50 / report.argon2Ms).toFixed(2)}×.`,
    );
  }
  lines.push(`- ${argon2}.`);
  if (report.memory) {
    const peak = report.memory.peakRssBytes ? ` (peak ${mib(report.memory.peakRssBytes)})` : '';
    lines.push(`- service resident memory after the run: ${mib(report.memory.rssBytes)}${peak}.`);
  }
  for (const entry of report.scenarios) {
    const statuses = unexpectedStatuses(entry);
    if (statuses) lines.push(`- ${entry.scenario.name}: unexpected statuses ${statuses} (expected ${entry.scenario.expectStatus}).`);
    if (entry.rounds.some((round) => round.result.responses === 0)) {
      lines.push(`- ${entry.scenario.name}: no response arrived within a measurement; every request took longer than it.`);
    }
    if (entry.scenario.against) {
      const goal = entry.scenario.goal?.minRatio;
      lines.push(
        `- ${entry.scenario.name}: × baseline, baseline req/s and CPU are against ${entry.scenario.against} on the service, not bare Fastify${goal === undefined ? '' : ` (the goal is ≥ ${goal}×)`}.`,
      );
    }
    if (entry.scenario.background) {
      lines.push(`- ${entry.scenario.name}: its CPU and SQL figures include the background ${entry.scenario.background.scenario} requests', per request of both.`);
    }
  }
  const outside = report.scenarios
    .map((entry) => [entry.scenario.name, entry.rounds.reduce((sum, round) => sum + (round.sql ? total(round.sql.outsideRequests) : 0), 0)] as const)
    .filter(([, count]) => count > 0);
  if (outside.length > 0) {
    lines.push(`- statements outside any request during the counting passes (timers such as the mail outbox; not in the table): ${outside.map(([name, count]) => `${name} ${count}`).join(', ')}.`);
  }
  for (const { name, reason } of report.skipped) lines.push(`- skipped ${name}: ${reason}.`);
  return lines.join('\n') + '\n';
}

function scenarioRows(entry: ScenarioReport): string[][] {
  const { rounds } = entry;
  const { statements, requests } = statementsInRequests(rounds);
  const perRequest = (kind: keyof StatementCounts) => (requests > 0 ? (statements[kind] / requests).toFixed(2) : '–');
  const rows = [
    [
      entry.scenario.connections ? `${entry.scenario.name} (${plural(entry.scenario.connections, 'connection')})` : entry.scenario.name,
      entry.scenario.setup ? String(entry.variants) : '–',
      whole(median(rounds.map((round) => round.result.requestsPerSecond))),
      ms(median(rounds.map((round) => round.result.p50Ms))),
      ms(median(rounds.map((round) => round.result.p99Ms))),
      String(rounds.reduce((sum, round) => sum + round.result.errors, 0)),
      String(rounds.reduce((sum, round) => sum + round.result.unexpected, 0)),
      ratio(median(rounds.map((round) => round.ratio))),
      whole(median(rounds.map((round) => round.baseline.requestsPerSecond))),
      whole(median(rounds.map((round) => round.cpuMicrosPerRequest.service))),
      whole(median(rounds.map((round) => round.cpuMicrosPerRequest.baseline))),
      ratio(median(rounds.map((round) => round.cpuRatio))),
      perRequest('read'),
      perRequest('write'),
      perRequest('other'),
    ],
  ];
  const background = rounds.map((round) => round.background).filter((result): result is LoadResult => result !== undefined);
  if (background.length > 0) {
    rows.push([
      `↳ ${entry.scenario.background!.scenario} (background, ${plural(entry.scenario.background!.connections, 'connection')})`,
      '',
      whole(median(background.map((result) => result.requestsPerSecond))),
      ms(median(background.map((result) => result.p50Ms))),
      ms(median(background.map((result) => result.p99Ms))),
      String(background.reduce((sum, result) => sum + result.errors, 0)),
      String(background.reduce((sum, result) => sum + result.unexpected, 0)),
      ...Array<string>(8).fill(''),
    ]);
  }
  return rows;
}

function unexpectedStatuses(entry: ScenarioReport): string {
  const counts = new Map<string, number>();
  for (const round of entry.rounds) {
    for (const [status, count] of Object.entries(round.result.statuses)) {
      if (status !== String(entry.scenario.expectStatus)) counts.set(status, (counts.get(status) ?? 0) + count);
    }
  }
  return [...counts].map(([status, count]) => `${status}×${count}`).join(', ');
}

/** A markdown table padded to line up in a terminal as well. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const numeric = header.map((_, column) => column > 0);
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (numeric[column] ? `${'-'.repeat(width + 1)}:` : `:${'-'.repeat(width + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}

function total(counts: StatementCounts): number {
  return counts.read + counts.write + counts.other;
}

const whole = (value: number) => (Number.isFinite(value) ? String(Math.round(value)) : '–');
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const ms = (value: number) => (Number.isFinite(value) ? (Math.round(value * 100) / 100).toString() : '–');
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
