import type { FastifyRequest } from 'fastify';
import { CredentialUses } from '../../src/auth/guards/credential.uses';
import { ApiKeyUsageRecorder, firstRetainedDay, utcDay } from '../../src/api-keys/usage/api-key-usage.recorder';
import { ApiKeyUsageRepository, ApiKeyUsageWrite } from '../../src/api-keys/usage/api-key-usage.repository';
import { AuthenticatedUser, Principal } from '../../src/common/auth/principal';
import { loadConfig } from '../../src/config/app-config';

class FakeRepository {
  readonly batches: ApiKeyUsageWrite[][] = [];
  readonly prunes: string[] = [];
  failNext = false;

  async recordUsage(uses: ApiKeyUsageWrite[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('Connection terminated unexpectedly');
    }
    this.batches.push(uses);
  }

  async pruneBefore(day: string): Promise<void> {
    this.prunes.push(day);
  }
}

const START = Date.parse('2026-12-05T23:59:00.000Z');
const user: AuthenticatedUser = { id: 'u1', email: 'ada@example.com', emailConfirmedAt: null, createdAt: new Date(0), updatedAt: new Date(0) };
const keyPrincipal = (id: string): Principal => ({ user, method: 'api_key', api_key_id: id });
const request = (ip: string, userAgent?: string) => ({ ip, headers: userAgent === undefined ? {} : { 'user-agent': userAgent } }) as unknown as FastifyRequest;
const client = { ip: '192.0.2.1', userAgent: 'curl/8' };

describe('ApiKeyUsageRecorder', () => {
  let repository: FakeRepository;
  let uses: CredentialUses;
  let recorder: ApiKeyUsageRecorder;

  beforeEach(() => {
    jest.useFakeTimers({ now: START });
    repository = new FakeRepository();
    uses = new CredentialUses();
    recorder = new ApiKeyUsageRecorder(loadConfig({ API_KEY_LAST_USED_INTERVAL_SECONDS: '60' }), repository as unknown as ApiKeyUsageRepository, uses);
    recorder.onModuleInit();
  });

  afterEach(async () => {
    await recorder.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  it('hears the guard: counts admitted and refused uses of keys per UTC day, keeps the last one, ignores JWTs', async () => {
    uses.admitted(keyPrincipal('a'), request('203.0.113.7', 'deploy-bot/2.1'));
    uses.admitted(keyPrincipal('a'), request('203.0.113.7', 'deploy-bot/2.1'));
    uses.refused(keyPrincipal('a'), request('203.0.113.7', 'deploy-bot/2.1'));
    uses.admitted({ user, method: 'jwt', session_id: 's1' }, request('198.51.100.1', 'browser'));
    // Past midnight: the next use counts on the next day, and is the last use.
    jest.setSystemTime(Date.parse('2026-12-06T00:00:30.000Z'));
    uses.admitted(keyPrincipal('a'), request('198.51.100.9'));
    expect(repository.batches).toEqual([]);

    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.batches).toEqual([
      [
        {
          id: 'a',
          lastUsedAt: new Date('2026-12-06T00:00:30.000Z'),
          ip: '198.51.100.9',
          userAgent: null,
          days: [
            { day: '2026-12-05', succeeded: 2, refused: 1 },
            { day: '2026-12-06', succeeded: 1, refused: 0 },
          ],
        },
      ],
    ]);
  });

  it('writes each key once per interval however often it is used, and nothing when unused', async () => {
    for (let second = 0; second < 180; second++) {
      recorder.record('a', 'succeeded', client, Date.now());
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(repository.batches.map((batch) => batch.map((use) => [use.id, use.days.reduce((sum, day) => sum + day.succeeded, 0)]))).toEqual([
      [['a', 60]],
      [['a', 60]],
      [['a', 60]],
    ]);
    await jest.advanceTimersByTimeAsync(180_000);
    expect(repository.batches).toHaveLength(3);
  });

  it('keeps a failed batch for the next round: counts add up, the later last use wins', async () => {
    recorder.record('a', 'succeeded', { ip: '192.0.2.1', userAgent: 'old' }, START);
    recorder.record('a', 'refused', { ip: '192.0.2.1', userAgent: 'old' }, START);
    repository.failNext = true;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.batches).toEqual([]);
    recorder.record('a', 'succeeded', { ip: '192.0.2.2', userAgent: 'new' }, START + 61_000);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.batches).toEqual([
      [
        {
          id: 'a',
          lastUsedAt: new Date(START + 61_000),
          ip: '192.0.2.2',
          userAgent: 'new',
          days: [
            { day: '2026-12-05', succeeded: 1, refused: 1 },
            { day: '2026-12-06', succeeded: 1, refused: 0 },
          ],
        },
      ],
    ]);
  });

  it('writes what is pending on a clean shutdown', async () => {
    recorder.record('a', 'refused', client, START + 5000);
    await recorder.beforeApplicationShutdown();
    expect(repository.batches).toEqual([[{ id: 'a', lastUsedAt: new Date(START + 5000), ip: '192.0.2.1', userAgent: 'curl/8', days: [{ day: '2026-12-05', succeeded: 0, refused: 1 }] }]]);
  });

  it('writes nothing, not even a prune, at the shutdown of an app that never started', async () => {
    const neverStarted = new ApiKeyUsageRecorder(loadConfig({}), repository as unknown as ApiKeyUsageRepository, new CredentialUses());
    await neverStarted.beforeApplicationShutdown();
    expect(repository.batches).toEqual([]);
    expect(repository.prunes).toEqual([]);
  });

  it('prunes the days before the last 90 at the first flush, then at most hourly', async () => {
    // The first flush runs at midnight: 2026-12-06 and the 89 days before it are kept.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.prunes).toEqual(['2026-09-08']);
    await jest.advanceTimersByTimeAsync(3_540_000);
    expect(repository.prunes).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.prunes).toEqual(['2026-09-08', '2026-09-08']);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.prunes).toHaveLength(2);
  });

  it('names UTC days as PostgreSQL dates, 90 of them today included', () => {
    expect(utcDay(Date.parse('2026-12-05T23:59:59.999Z'))).toBe('2026-12-05');
    expect(utcDay(Date.parse('2026-12-06T00:00:00.000Z'))).toBe('2026-12-06');
    const today = Date.parse('2026-12-05T12:00:00.000Z');
    expect((Date.parse(utcDay(today)) - Date.parse(firstRetainedDay(today))) / 86_400_000).toBe(89);
  });
});
