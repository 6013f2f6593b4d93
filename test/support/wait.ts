export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` until `accept` takes its value or `timeoutMs` has passed, `intervalMs` apart, and
 * answers the last value with the time it took. It does not throw on a timeout: the caller's
 * assertion on the value says what was expected.
 */
export async function within<T>(timeoutMs: number, probe: () => Promise<T>, accept: (value: T) => boolean, intervalMs = 5): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    const elapsedMs = Date.now() - started;
    if (accept(value) || elapsedMs > timeoutMs) return { value, elapsedMs };
    await sleep(intervalMs);
  }
}

/** `probe`'s value once `accept` takes it, or its last value after `timeoutMs`, for the caller to assert on. */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  return (await within(timeoutMs, probe, accept, 50)).value;
}

/** `probe`'s first truthy value; throws, naming `what`, when none came within `timeoutMs`. */
export async function waitUntil<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const { value } = await within(timeoutMs, probe, (candidate) => Boolean(candidate), 25);
  if (!value) throw new Error(`timed out waiting for ${what}`);
  return value;
}
