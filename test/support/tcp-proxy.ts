import { createServer, Server, Socket, connect } from 'node:net';

/**
 * A TCP relay between the service and PostgreSQL. `cut()` drops every connection and refuses
 * new ones, as a network partition or a dead database would; `stall()` drops every connection and
 * accepts new ones that never answer, as a hung server or a black-holed route would;
 * `restore()` lets traffic through.
 */
export class TcpProxy {
  private server?: Server;
  private sockets = new Set<Socket>();
  private open = true;
  private stalled = false;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      if (this.stalled) {
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => client.destroy());
        return;
      }
      if (!this.open) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  stall(): void {
    this.cut();
    this.stalled = true;
  }

  restore(): void {
    // Connections accepted while stalled never reach the database: drop them, so clients reconnect.
    if (this.stalled) for (const socket of this.sockets) socket.destroy();
    this.open = true;
    this.stalled = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Rewrites a PostgreSQL URL to go through this proxy. */
  wrap(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }
}
