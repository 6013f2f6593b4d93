import { ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
    for (let i = 0; i < 100; i++) {
      if (await this.accepts()) return this;
      await sleep(50);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
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
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
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

/** A port nothing listens on now, as the system hands one out. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
