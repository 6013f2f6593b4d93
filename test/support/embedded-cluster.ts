import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../../src/database/embedded-postgres';
import { within } from './wait';

/**
 * A fresh folder for the embedded PostgreSQL's data (or for a copy of the project that keeps it),
 * under the repository's `.data` rather than the system's temporary folder: the postgres user must
 * reach it when the tests run as root.
 */
export function dataFolder(prefix: string): string {
  const parent = join(__dirname, '..', '..', '.data');
  mkdirSync(parent, { recursive: true });
  const folder = mkdtempSync(join(parent, prefix));
  chmodSync(folder, 0o755); // mkdtemp makes it 0700
  return folder;
}

/** The pid of the PostgreSQL server running the cluster in `clusterDir`, from its postmaster.pid. */
export function postmasterPid(clusterDir: string): number {
  return Number(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** Whether process `pid` has gone, by `timeoutMs` at the latest. */
export async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const { value: alive } = await within(timeoutMs, async () => isAlive(pid), (running) => !running, 50);
  return !alive;
}

/** Stops (a fast shutdown) the server a test left running the cluster in `clusterDir`, if any, and gives it a while to go. */
export async function stopLeftoverServer(clusterDir: string): Promise<void> {
  if (!existsSync(join(clusterDir, 'postmaster.pid'))) return;
  const pid = postmasterPid(clusterDir);
  if (isAlive(pid)) process.kill(pid, 'SIGINT');
  await gone(pid, 5_000);
}
