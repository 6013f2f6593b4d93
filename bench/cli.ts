/**
 * What the benchmark's commands (`npm run bench`, `npm run bench:instructions`) share: their
 * options' errors, their progress lines, and stopping what they started whichever way they end.
 */

/** A wrong option: the command prints it with its usage and exits with 2. */
export class UsageError extends Error {}

/** An option's whole number, at least `min`; `fallback` when it is not given. */
export function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number of at least ${min} (got "${raw}")`);
  return value;
}

/** Prints a line after the seconds since `startedAt`. */
export function progressSince(startedAt: Date): (line: string) => void {
  return (line) => console.log(`[${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(5)} s] ${line}`);
}

/**
 * What a run started (servers, databases), stopped last first when the run ends, fails, or is
 * interrupted (SIGINT, SIGTERM: then the process exits with 130 once they are stopped).
 */
export class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];

  constructor() {
    const interrupted = () => void this.run().then(() => process.exit(130));
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  }

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step().catch((error) => console.error(`clean-up: ${error?.message ?? error}`));
  }
}

/** Runs a command's `main` and exits with its code: 2 with the usage for a wrong option, 1 for a failure. */
export function runCommand(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error) => {
      if (error instanceof UsageError) {
        console.error(`${error.message}\n\n${usage}`);
        process.exit(2);
      }
      console.error(`${name} failed: ${error?.stack ?? error}`);
      process.exit(1);
    },
  );
}
