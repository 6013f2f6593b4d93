import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A program the benchmark starts under valgrind's callgrind, as `<command> <args> node …`: with
 * instrumentation off until asked (start-up and warm-up run several times faster so), its
 * dumps written into `dir`.
 */
export interface ChildWrapper {
  command: string;
  args: string[];
}

export function callgrindWrapper(dir: string): ChildWrapper {
  return {
    command: 'valgrind',
    args: ['--tool=callgrind', '--quiet', '--instr-atstart=no', '--dump-instr=no', `--callgrind-out-file=${join(dir, 'callgrind.%p')}`],
  };
}

/** Whether valgrind can be run here; its version, or undefined. */
export async function valgrindVersion(): Promise<string | undefined> {
  try {
    return (await run('valgrind', ['--version'])).stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Controls one process running under callgrind, through `callgrind_control` (valgrind's gdb
 * server). The files it talks through are named after the user and the host name in the
 * program's environment, so it is run with the same HOST as the program.
 */
export class CallgrindControl {
  constructor(
    private readonly pid: number,
    private readonly dir: string,
    private readonly host: string | undefined,
  ) {}

  /** Switches instrumentation on: what runs from now on is counted (and runs far slower). */
  instrument(): Promise<void> {
    return this.send('--instr=on');
  }

  /** Sets every counter back to zero. */
  zero(): Promise<void> {
    return this.send('--zero');
  }

  /** Dumps the counters (all threads) and answers the instructions counted since the last zero. */
  async instructionsSinceZero(): Promise<number> {
    await this.send('--dump');
    // Each dump asked for is written to its own file, the out-file's name and the dump's number.
    const prefix = `callgrind.${this.pid}.`;
    const numbers = readdirSync(this.dir)
      .filter((name) => name.startsWith(prefix))
      .map((name) => Number(name.slice(prefix.length)));
    return readTotal(readFileSync(join(this.dir, prefix + Math.max(...numbers)), 'utf8'));
  }

  private async send(action: string): Promise<void> {
    const env = { ...process.env };
    if (this.host === undefined) delete env.HOST;
    else env.HOST = this.host;
    await run('callgrind_control', [action, String(this.pid)], { env });
  }
}

/** The instructions a callgrind dump counted, all threads together: its `totals:` (or `summary:`) line. */
export function readTotal(dump: string): number {
  const line = /^(?:totals|summary):\s+(\d+)/m.exec(dump);
  if (!line) throw new Error('the callgrind dump has no totals line');
  return Number(line[1]);
}
