import { median } from './argon2';
import type { RoundMeasure, RunReport, ScenarioReport } from './report';
import type { StatementCounts } from './sql-statements';

/**
 * What docs/performance.md asks of a scenario, as data beside it in scenarios.ts, so that a run
 * says of each goal whether it was met rather than leaving the reader to compare a table with a
 * list.
 */
export interface Goal {
  /** × its baseline (bare Fastify, or the scenario it is held against) at least this. */
  minRatio?: number;
  /** p99 at most this, in ms. */
  maxP99Ms?: number;
  /** p50 at most this many times one argon2id hash timed beside it. */
  maxHashes?: number;
  /** No SQL statement while serving a request, in the scenario's counting pass. */
  noStatements?: boolean;
}

/** Resident memory of the service after the full run, at most (docs/performance.md). */
export const MAX_RSS_BYTES = 300e6;

export interface Verdict {
  /** Undefined when the run measured nothing to judge by (SQL not counted, say). */
  met: boolean | undefined;
  /** The scenario it was asked of, or undefined for a goal of the whole run. */
  scenario?: string;
  asked: string;
  measured: string;
}

/**
 * Each goal of each measured scenario, judged on the figures the table prints (medians over
 * rounds). A ratio's verdict names the lowest and highest of its slices too: one whose range
 * straddles the goal was met or missed by less than the machine's noise.
 */
export function judgeGoals(report: Pick<RunReport, 'scenarios' | 'memory'>): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const entry of report.scenarios) {
    const goal = entry.scenario.goal;
    if (!goal || entry.rounds.length === 0) continue;
    const scenario = entry.scenario.name;
    const { minRatio, maxP99Ms, maxHashes } = goal;
    if (minRatio !== undefined) {
      const ratio = median(entry.rounds.map((round) => round.ratio));
      const slices = entry.rounds.flatMap((round) => round.sliceRatios);
      const range = slices.length > 1 ? ` (slices ${Math.min(...slices).toFixed(2)}–${Math.max(...slices).toFixed(2)}×)` : '';
      const against = entry.scenario.against ?? 'bare Fastify';
      verdicts.push({ met: judged(ratio, (value) => value >= minRatio), scenario, asked: `≥ ${minRatio}× ${against}`, measured: `${ratio.toFixed(2)}×${range}` });
    }
    if (maxP99Ms !== undefined) {
      const p99 = median(entry.rounds.map((round) => round.result.p99Ms));
      verdicts.push({ met: judged(p99, (value) => value <= maxP99Ms), scenario, asked: `p99 ≤ ${maxP99Ms} ms`, measured: `${p99.toFixed(1)} ms` });
    }
    if (maxHashes !== undefined) {
      const hashes = p50AgainstHash(entry.rounds);
      verdicts.push({ met: judged(hashes, (value) => value <= maxHashes), scenario, asked: `p50 ≤ ${maxHashes}× one argon2id hash`, measured: `${hashes.toFixed(2)}×` });
    }
    if (goal.noStatements) verdicts.push({ scenario, asked: 'no SQL statement per request', ...statementsVerdict(entry) });
  }
  if (report.memory) {
    const rss = report.memory.rssBytes;
    verdicts.push({ met: rss <= MAX_RSS_BYTES, asked: `resident memory after the run ≤ ${MAX_RSS_BYTES / 1e6} MB`, measured: `${Math.round(rss / 1e6)} MB` });
  }
  return verdicts;
}

/**
 * The statements sent while serving requests in a scenario's counting passes, by kind, and the
 * requests they served: what the table's SQL columns and the "no statement" goal are read from.
 */
export function statementsInRequests(rounds: RoundMeasure[]): { statements: StatementCounts; requests: number } {
  const statements = { read: 0, write: 0, other: 0 };
  let requests = 0;
  for (const { sql } of rounds) {
    if (!sql) continue;
    requests += sql.requests;
    for (const kind of ['read', 'write', 'other'] as const) statements[kind] += sql.inRequests[kind];
  }
  return { statements, requests };
}

/** A hash-bound scenario's p50 over the argon2id hash timed beside it, the median over rounds. */
export function p50AgainstHash(rounds: RoundMeasure[]): number {
  return median(rounds.map((round) => round.result.p50Ms / (round.argon2Ms ?? NaN)));
}

/**
 * Statements per request, as the table rounds them: a pass that counted a statement in one of
 * 20,000 requests still reads 0.00, and that is what the goal means by none.
 */
function statementsVerdict(entry: ScenarioReport): Pick<Verdict, 'met' | 'measured'> {
  const { statements, requests } = statementsInRequests(entry.rounds);
  if (requests === 0) return { met: undefined, measured: 'not counted' };
  const perRequest = ((statements.read + statements.write + statements.other) / requests).toFixed(2);
  return { met: Number(perRequest) === 0, measured: `${perRequest} a request` };
}

function judged(value: number, test: (value: number) => boolean): boolean | undefined {
  return Number.isFinite(value) ? test(value) : undefined;
}

/** The verdicts as the report's list: misses first, then what was met, then what could not be judged. */
export function renderVerdicts(verdicts: Verdict[]): string[] {
  const order = (verdict: Verdict) => (verdict.met === false ? 0 : verdict.met ? 1 : 2);
  const label = (verdict: Verdict) => (verdict.met === false ? 'missed' : verdict.met ? 'met' : 'not judged');
  const lines = [...verdicts]
    .sort((a, b) => order(a) - order(b))
    .map((verdict) => `- ${label(verdict)}: ${verdict.scenario ? `${verdict.scenario} — ` : ''}${verdict.asked}, measured ${verdict.measured}`);
  const count = (met: boolean | undefined) => verdicts.filter((verdict) => verdict.met === met).length;
  return [`Goals (docs/performance.md): ${count(true)} met, ${count(false)} missed${count(undefined) ? `, ${count(undefined)} not judged` : ''}.`, '', ...lines];
}
