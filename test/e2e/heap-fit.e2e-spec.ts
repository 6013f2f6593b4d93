import { CompiledService, startCompiledService } from '../support/compiled-service';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const MIB = 1024 * 1024;

/**
 * The compiled service, started with a heap smaller than its caches' default bound: an instance
 * whose caches could outgrow its heap would end out of memory once enough credentials came,
 * losing every cache at once.
 */
describe('the credential caches at start, against the heap', () => {
  let database: TestDatabase;
  const services: CompiledService[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await database?.drop();
  });

  const start = async (env: Record<string, string> = {}) => {
    const service = await startCompiledService(database.url, { nodeOptions: ['--max-old-space-size=160'], env });
    services.push(service);
    return service;
  };

  it('holds the caches to half a heap too small for AUTH_CACHE_MAX_MB, says so once at start, and reports the bound it keeps', async () => {
    const service = await start();
    const said = service.lines().filter((line) => line.msg.includes('AUTH_CACHE_MAX_MB'));
    expect(said).toEqual([expect.objectContaining({ level: 40 })]);
    const [, heapMib, heldMib] = /^AUTH_CACHE_MAX_MB=768 does not fit this process's heap of (\d+) MiB: the credential caches are held to (\d+) MiB, half of it\./.exec(said[0].msg) ?? [];
    expect(Number(heldMib)).toBeGreaterThan(0);
    expect(Number(heldMib)).toBeLessThanOrEqual(Number(heapMib) / 2);
    expect(await service.metric('atiru_auth_cache_max_bytes')).toBe(Number(heldMib) * MIB);
  }, 90_000);

  it('keeps an AUTH_CACHE_MAX_MB that fits, and says nothing of the heap', async () => {
    const service = await start({ AUTH_CACHE_MAX_MB: '16' });
    expect(service.lines().filter((line) => /AUTH_CACHE_MAX_MB|young generation/.test(line.msg))).toEqual([]);
    expect(await service.metric('atiru_auth_cache_max_bytes')).toBe(16 * MIB);
  }, 90_000);
});
