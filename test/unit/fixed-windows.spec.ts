import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FixedWindow, FixedWindows } from '../../src/rate-limit/fixed-windows';

interface Counted extends FixedWindow {
  count: number;
}

function table(maxKeysPerScope: number): FixedWindows<Counted> {
  return new FixedWindows<Counted>(
    maxKeysPerScope,
    (resetAtMs) => ({ count: 0, resetAtMs }),
    (window, resetAtMs) => {
      window.count = 0;
      window.resetAtMs = resetAtMs;
    },
  );
}

/** The keys each scope holds, in the order they would be dropped. */
function held(windows: FixedWindows<Counted>): Record<string, string[]> {
  const keys: Record<string, string[]> = {};
  for (const [scope, key] of windows.entries()) (keys[scope] ??= []).push(key);
  return keys;
}

describe('FixedWindows', () => {
  it("bounds each scope on its own: a flood of new keys in one leaves another scope's windows and counts as they were", () => {
    const windows = table(3);
    windows.current('login_ip', '192.0.2.1', 10_000, 0).count = 11;
    windows.current('login_ip_email', 'a', 10_000, 0).count = 55;
    for (let i = 0; i < 1000; i++) windows.current('confirm_token', `made-up-${i}`, 10_000, i).count++;

    expect(held(windows)).toEqual({ login_ip: ['192.0.2.1'], login_ip_email: ['a'], confirm_token: ['made-up-997', 'made-up-998', 'made-up-999'] });
    expect(windows.current('login_ip', '192.0.2.1', 10_000, 1000)).toEqual({ count: 11, resetAtMs: 10_000 });
    expect(windows.current('login_ip_email', 'a', 10_000, 1000)).toEqual({ count: 55, resetAtMs: 10_000 });
  });

  it('drops the oldest window of the scope being filled, and only of that one', () => {
    const windows = table(3);
    windows.current('other', 'first-of-all', 100, 0);
    for (const [index, key] of ['k1', 'k2', 'k3'].entries()) windows.current('flooded', key, 100, 10 * (index + 1));
    windows.current('flooded', 'k4', 100, 40);
    expect(held(windows)).toEqual({ other: ['first-of-all'], flooded: ['k2', 'k3', 'k4'] });
    windows.current('flooded', 'k5', 100, 50);
    expect(held(windows)).toEqual({ other: ['first-of-all'], flooded: ['k3', 'k4', 'k5'] });
  });

  it('moves a restarted window to the end of its scope: it is not the first to go', () => {
    const windows = table(3);
    windows.current('p', 'k1', 100, 0).count = 7;
    windows.current('p', 'k2', 100, 10);
    windows.current('p', 'k3', 100, 20);
    expect(windows.current('p', 'k1', 100, 100)).toEqual({ count: 0, resetAtMs: 200 });
    windows.current('p', 'k4', 100, 105);
    // k2 ends first now (at 110): it goes, not k1, which was opened first.
    expect(held(windows)).toEqual({ p: ['k3', 'k1', 'k4'] });
    windows.current('p', 'k3', 100, 125);
    windows.current('p', 'k5', 100, 130);
    expect(held(windows)).toEqual({ p: ['k4', 'k3', 'k5'] });
  });

  it('makes room without touching the ended windows of other scopes, dropping an ended one of its own first', () => {
    const windows = table(3);
    windows.current('ended', 'gone-quiet', 10, 0).count = 3;
    windows.current('flooded', 'ended-here', 10, 0);
    for (const key of ['k1', 'k2', 'k3']) windows.current('flooded', key, 100, 50);
    expect(held(windows)).toEqual({ ended: ['gone-quiet'], flooded: ['k1', 'k2', 'k3'] });
  });

  it('holds no more memory after a million restarts of its windows than after the first few thousand', () => {
    // In a process of its own, where a full collection can be asked for: the compiled class, as
    // `npm test` builds it. Every call comes after its window ended, so each one restarts it.
    const script = `
      const { FixedWindows } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'rate-limit', 'fixed-windows.js'))});
      const windows = new FixedWindows(10000, (resetAtMs) => ({ count: 0, resetAtMs }), (window, resetAtMs) => { window.resetAtMs = resetAtMs; });
      let now = 0;
      const rounds = (n) => { for (let round = 0; round < n; round++, now++) for (let key = 0; key < 1000; key++) windows.current('p', 'k' + key, 1, now); };
      const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
      rounds(5);
      const before = heap();
      rounds(1000);
      process.stdout.write(String(heap() - before));`;
    const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    // Kept alive by a Map iterator held for good, the outgrown tables came to about fifty bytes a restart.
    expect(Number(run.stdout)).toBeLessThan(4 * 1024 * 1024);
  });
});
