import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/free-port';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const MIB = 1024 * 1024;

interface Started {
  process: ChildProcess;
  /** The service's log lines so far, parsed. */
  lines: () => Array<{ level: number; msg: string }>;
  /** A gauge's value from the metrics listener. */
  gauge: (name: string) => Promise<number>;
}

/**
 * The compiled service, started as an operator starts it, with the Node options given: an
 * instance whose caches could outgrow its heap would end out of memory once enough credentials
 * came, losing every cache at once.
 */
describe('the credential caches at start, against the heap', () => {
  let database: TestDatabase;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run the tests with npm test, which builds first`);
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const child of started) {
      if (child.exitCode !== null) continue;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await database?.drop();
  });

  async function start(nodeOptions: string[], env: Record<string, string> = {}): Promise<Started> {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [...nodeOptions, MAIN], {
      env: {
        PATH: process.env.PATH!, NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base,
        DATABASE_URL: database.url, SHUTDOWN_DRAIN_SECONDS: '0', METRICS_PORT: String(metricsPort), ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 60_000;
    while ((await fetch(`${base}/health`).then((response) => response.status, () => 0)) !== 200) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the service did not start: ${output}`);
      await sleep(100);
    }
    return {
      process: child,
      lines: () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)),
      gauge: async (name) => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
        return Number(line?.split(' ')[1]);
      },
    };
  }

  it('holds the caches to half a heap too small for AUTH_CACHE_MAX_MB, says so once at start, and reports the bound it keeps', async () => {
    const service = await start(['--max-old-space-size=160']);
    const said = service.lines().filter((line) => line.msg.includes('AUTH_CACHE_MAX_MB'));
    expect(said).toEqual([expect.objectContaining({ level: 40 })]);
    const [, heapMib, heldMib] = /^AUTH_CACHE_MAX_MB=768 does not fit this process's heap of (\d+) MiB: the credential caches are held to (\d+) MiB, half of it\./.exec(said[0].msg) ?? [];
    expect(Number(heldMib)).toBeGreaterThan(0);
    expect(Number(heldMib)).toBeLessThanOrEqual(Number(heapMib) / 2);
    expect(await service.gauge('atiru_auth_cache_max_bytes')).toBe(Number(heldMib) * MIB);
  }, 90_000);

  it('keeps an AUTH_CACHE_MAX_MB that fits, and says nothing of the heap', async () => {
    const service = await start(['--max-old-space-size=160'], { AUTH_CACHE_MAX_MB: '16' });
    expect(service.lines().filter((line) => /AUTH_CACHE_MAX_MB|young generation/.test(line.msg))).toEqual([]);
    expect(await service.gauge('atiru_auth_cache_max_bytes')).toBe(16 * MIB);
  }, 90_000);
});
