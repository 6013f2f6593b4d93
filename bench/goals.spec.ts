import { judgeGoals, MAX_RSS_BYTES, renderVerdicts } from './goals';
import type { LoadResult } from './load';
import type { RoundMeasure, ScenarioReport } from './report';
import type { Scenario } from './scenarios';

const result = (fields: Partial<LoadResult>): LoadResult => ({
  requestsPerSecond: 1000,
  p50Ms: 1,
  p99Ms: 5,
  errors: 0,
  unexpected: 0,
  statuses: { 200: 1000 },
  responses: 1000,
  sent: 1000,
  ...fields,
});

const round = (fields: Partial<RoundMeasure> & { p99Ms?: number; p50Ms?: number }): RoundMeasure => ({
  result: result({ p99Ms: fields.p99Ms, p50Ms: fields.p50Ms }),
  baseline: result({}),
  ratio: 1,
  sliceRatios: [1],
  cpuMicrosPerRequest: { service: 40, baseline: 20 },
  cpuRatio: 0.5,
  ...fields,
});

const scenario = (name: string, goal: Scenario['goal'], extra: Partial<Scenario> = {}): Scenario => ({
  name,
  summary: name,
  method: 'GET',
  path: '/users/me',
  expectStatus: 200,
  goal,
  ...extra,
});

const report = (scenarios: ScenarioReport[], rssBytes = 100e6) => ({ scenarios, memory: { rssBytes } });

describe('the benchmark judges each goal of docs/performance.md on the run', () => {
  it('judges a ratio on the median over rounds and names the slices it came from', () => {
    const entry: ScenarioReport = {
      scenario: scenario('me-jwt-1', { minRatio: 0.5 }),
      variants: 1,
      rounds: [round({ ratio: 0.48, sliceRatios: [0.41, 0.48, 0.55] }), round({ ratio: 0.46, sliceRatios: [0.44, 0.46, 0.47] })],
    };
    const [verdict] = judgeGoals(report([entry]));
    expect(verdict).toEqual({ met: false, scenario: 'me-jwt-1', asked: '≥ 0.5× bare Fastify', measured: '0.47× (slices 0.41–0.55×)' });
  });

  it('meets a ratio goal at exactly the goal, and names the scenario a probe is held against', () => {
    const entry: ScenarioReport = { scenario: scenario('probe-guarded', { minRatio: 0.85 }, { against: 'probe-open' }), variants: 1, rounds: [round({ ratio: 0.85 })] };
    expect(judgeGoals(report([entry]))[0]).toMatchObject({ met: true, asked: '≥ 0.85× probe-open' });
  });

  it('judges p99 and the login p50 against the hash timed beside it', () => {
    const me: ScenarioReport = { scenario: scenario('me-jwt-during-logins', { maxP99Ms: 25 }), variants: 1, rounds: [round({ p99Ms: 25.4 })] };
    const login: ScenarioReport = { scenario: scenario('login', { maxHashes: 1.5 }), variants: 1, rounds: [round({ p50Ms: 14, argon2Ms: 10 })] };
    expect(judgeGoals(report([me, login])).slice(0, 2)).toEqual([
      { met: false, scenario: 'me-jwt-during-logins', asked: 'p99 ≤ 25 ms', measured: '25.4 ms' },
      { met: true, scenario: 'login', asked: 'p50 ≤ 1.5× one argon2id hash', measured: '1.40×' },
    ]);
  });

  it('counts a statement in any request against "no statement", and cannot judge a run that counted none', () => {
    const counted = (read: number, requests: number) => ({ inRequests: { read, write: 0, other: 0 }, outsideRequests: { read: 9, write: 9, other: 9 }, requests });
    const clean: ScenarioReport = { scenario: scenario('a', { noStatements: true }), variants: 1, rounds: [round({ sql: counted(0, 20_000) })] };
    const reads: ScenarioReport = { scenario: scenario('b', { noStatements: true }), variants: 1, rounds: [round({ sql: counted(200, 20_000) })] };
    const uncounted: ScenarioReport = { scenario: scenario('c', { noStatements: true }), variants: 1, rounds: [round({})] };
    expect(judgeGoals(report([clean, reads, uncounted])).slice(0, 3).map((verdict) => [verdict.met, verdict.measured])).toEqual([
      [true, '0.00 a request'],
      [false, '0.01 a request'],
      [undefined, 'not counted'],
    ]);
  });

  it('judges resident memory for the whole run, and lists misses first with a count', () => {
    const entry: ScenarioReport = { scenario: scenario('me-jwt-1', { minRatio: 0.5 }), variants: 1, rounds: [round({ ratio: 0.6, sliceRatios: [0.6] })] };
    const verdicts = judgeGoals(report([entry], MAX_RSS_BYTES + 1e6));
    expect(verdicts[1]).toEqual({ met: false, asked: 'resident memory after the run ≤ 300 MB', measured: '301 MB' });
    expect(renderVerdicts(verdicts)).toEqual([
      'Goals (docs/performance.md): 1 met, 1 missed.',
      '',
      '- missed: resident memory after the run ≤ 300 MB, measured 301 MB',
      '- met: me-jwt-1 — ≥ 0.5× bare Fastify, measured 0.60×',
    ]);
  });

  it('leaves out scenarios without goals and scenarios not measured', () => {
    const plain: ScenarioReport = { scenario: scenario('probe-open', undefined), variants: 1, rounds: [round({})] };
    const skipped: ScenarioReport = { scenario: scenario('me-jwt-1', { minRatio: 0.5 }), variants: 1, rounds: [] };
    expect(judgeGoals({ scenarios: [plain, skipped] })).toEqual([]);
  });
});
