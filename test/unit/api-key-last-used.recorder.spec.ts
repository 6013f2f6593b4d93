import { ApiKeyLastUsedRecorder } from '../../src/api-keys/api-key-last-used.recorder';
import { ApiKeysRepository } from '../../src/api-keys/api-key.repository';
import { AppConfig, loadConfig } from '../../src/config/app-config';

class FakeRepository {
  readonly batches: Array<Array<{ id: string; usedAt: Date }>> = [];
  failNext = false;

  async recordLastUsed(uses: Array<{ id: string; usedAt: Date }>): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('Connection terminated unexpectedly');
    }
    this.batches.push(uses);
  }
}

describe('ApiKeyLastUsedRecorder', () => {
  let config: AppConfig;
  let repository: FakeRepository;
  let recorder: ApiKeyLastUsedRecorder;

  beforeEach(() => {
    jest.useFakeTimers();
    config = loadConfig({ API_KEY_LAST_USED_INTERVAL_SECONDS: '60' });
    repository = new FakeRepository();
    recorder = new ApiKeyLastUsedRecorder(config, repository as unknown as ApiKeysRepository);
    recorder.onModuleInit();
  });

  afterEach(async () => {
    await recorder.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  it('writes nothing on the request path, then one batch per interval with the latest use of each key', async () => {
    recorder.record('a', 1000);
    recorder.record('b', 2000);
    recorder.record('a', 3000);
    expect(repository.batches).toEqual([]);

    await jest.advanceTimersByTimeAsync(59_999);
    expect(repository.batches).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(repository.batches).toEqual([
      [
        { id: 'a', usedAt: new Date(3000) },
        { id: 'b', usedAt: new Date(2000) },
      ],
    ]);
  });

  it('writes each key at most once per interval however often it is used', async () => {
    for (let second = 0; second < 180; second++) {
      recorder.record('a', second * 1000);
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(repository.batches).toHaveLength(3);
    expect(repository.batches.map((batch) => batch.length)).toEqual([1, 1, 1]);
  });

  it('skips the write when nothing was used', async () => {
    await jest.advanceTimersByTimeAsync(180_000);
    expect(repository.batches).toEqual([]);
  });

  it('keeps a failed batch for the next round, without overwriting a newer use', async () => {
    recorder.record('a', 1000);
    recorder.record('b', 1000);
    repository.failNext = true;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.batches).toEqual([]);
    recorder.record('a', 61_000);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.batches).toEqual([
      [
        { id: 'a', usedAt: new Date(61_000) },
        { id: 'b', usedAt: new Date(1000) },
      ],
    ]);
  });

  it('writes what is pending on a clean shutdown', async () => {
    recorder.record('a', 5000);
    await recorder.beforeApplicationShutdown();
    expect(repository.batches).toEqual([[{ id: 'a', usedAt: new Date(5000) }]]);
  });
});
