import { CompiledService, startCompiledService } from '../support/compiled-service';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { waitUntil } from '../support/wait';

const DROPPED = 'atiru_log_lines_dropped_total{destination="stdout"}';

/**
 * The compiled service at `info` (an access line per request) whose standard output nobody reads,
 * as when a log collector stops or falls behind: what waits for it is bounded by
 * LOG_BUFFER_MAX_MB, past which lines are dropped and counted, and the service keeps answering.
 * Without a bound the backlog grows by the whole log's rate until the process runs out of memory.
 */
describe('log lines while standard output is not read', () => {
  let database: TestDatabase;
  let service: CompiledService;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startCompiledService(database.url, { env: { LOG_LEVEL: 'info', LOG_BUFFER_MAX_MB: '1' }, readStdout: false });
  }, 90_000);

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  it('keeps answering, drops what is over the bound and counts it, and says how many once standard output is read again', async () => {
    // Unknown paths: each answered 404 without the database, each an access line of about 300 bytes,
    // so these are some 2 MB of log against a bound of 1 MiB and a pipe of 64 KiB.
    const requests = 7000;
    let sent = 0;
    const client = async () => {
      while (sent < requests) {
        sent++;
        expect((await fetch(`${service.base}/no-such-path`)).status).toBe(404);
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));

    const started = Date.now();
    expect((await fetch(`${service.base}/no-such-path`)).status).toBe(404);
    expect(Date.now() - started).toBeLessThan(1000);
    const dropped = await service.metric(DROPPED);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(requests);

    service.readStdout();
    const reports = await waitUntil(
      async () => {
        const said = service.lines().filter((line) => line.level === 40 && /log lines dropped/.test(line.msg));
        return said.length > 0 && said;
      },
      'the dropped lines to be reported',
      25_000,
    );
    expect(reports[0]).toMatchObject({ context: 'AppLogger', dropped_lines: expect.any(Number) });
    expect(reports[0].msg).toBe(`${reports[0].dropped_lines} log lines dropped: standard output was not read as fast as the service wrote, and LOG_BUFFER_MAX_MB waited unread`);
    const reported = reports.reduce((sum, line) => sum + (line.dropped_lines as number), 0);
    expect(reported).toBeGreaterThan(0);
    expect(reported).toBeLessThanOrEqual(await service.metric(DROPPED));
    // The lines that were kept came through whole: every one parses, access lines among them.
    expect(service.lines().filter((line) => line.event === 'http_request' && line.status === 404).length).toBeGreaterThan(0);
  }, 90_000);
});
