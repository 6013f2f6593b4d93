import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port';
import { exitOf } from './processes';
import { waitUntil } from './wait';

/**
 * A throw-away redis-server of the test's own, on its own port, so the test may stop it. The port
 * is one the system reports free when the server first starts, and is kept across restarts: a
 * random pick could land on a port another connection of the machine holds.
 */
export class TestRedisServer {
  private process?: ChildProcess;
  private chosenPort?: number;

  /** `args`: more of redis-server's options, given at every start (`--cluster-enabled yes`). */
  constructor(private readonly args: (port: number) => string[] = () => []) {}

  get port(): number {
    if (this.chosenPort === undefined) throw new Error('TestRedisServer has no port before its first start()');
    return this.chosenPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.chosenPort ??= await freePort();
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args(this.port)], {
      stdio: 'ignore',
    });
    await waitUntil(() => this.accepts(), `redis-server to accept connections on port ${this.port}`, 5_000);
    return this;
  }

  /** Stops the server in place (SIGSTOP): connections stay open and nothing answers, as a hung Redis. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a frozen server go on (SIGCONT); what waited is answered. */
  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child) return;
    child.kill('SIGKILL');
    await exitOf(child);
  }

  private accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = createConnection(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
}
