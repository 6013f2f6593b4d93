import { createServer, Server, Socket, connect } from 'node:net';

/** One client's connection and, once linked, its connection to the target. */
interface Link {
  client: Socket;
  upstream?: Socket;
  /** Linked, but carrying nothing either way until `restore()`. */
  frozen?: boolean;
}

type Mode = 'open' | 'cut' | 'stalled' | 'frozen';

/**
 * A TCP relay between the service and PostgreSQL. `cut()` drops every connection and refuses
 * new ones, as a network partition or a dead database would; `stall()` drops every connection and
 * accepts new ones that never answer, as a hung server or a black-holed route would; `freeze()`
 * keeps every connection open but carries nothing either way, and accepts new ones that never
 * answer, as a stopped (SIGSTOP) server or a silent partition would, mid-query included;
 * `freezeConnections(ports)` does that to some connections only, as a middlebox that silently
 * drops one flow would, while the others and new ones flow; `restore()` lets traffic through
 * again: after a freeze, whatever waited flows on, as a server that is continued (SIGCONT) would
 * answer.
 */
export class TcpProxy {
  private server?: Server;
  private links = new Set<Link>();
  private mode: Mode = 'open';
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      if (this.mode === 'cut') {
        client.destroy();
        return;
      }
      const link: Link = { client };
      this.links.add(link);
      client.on('close', () => {
        this.links.delete(link);
        link.upstream?.destroy();
      });
      client.on('error', () => client.destroy());
      // Stalled or frozen: held, never answered (a frozen one may be linked on restore).
      if (this.mode === 'open') this.link(link);
      else client.pause();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  cut(): void {
    this.mode = 'cut';
    this.dropAll();
  }

  stall(): void {
    this.dropAll();
    this.mode = 'stalled';
  }

  freeze(): void {
    this.mode = 'frozen';
    for (const link of this.links) this.hold(link);
  }

  /** Freezes the connections whose `upstreamPorts()` entry is in `ports`; the others, and new ones, flow on. */
  freezeConnections(ports: number[]): void {
    for (const link of this.links) {
      if (link.upstream?.localPort !== undefined && ports.includes(link.upstream.localPort)) this.hold(link);
    }
  }

  restore(): void {
    const was = this.mode;
    this.mode = 'open';
    // Connections accepted while stalled never reach the database: drop them, so clients reconnect.
    if (was === 'stalled') this.dropAll();
    for (const link of this.links) {
      // Accepted while frozen: linked now.
      if (link.upstream === undefined) this.link(link);
      else if (link.frozen) {
        link.frozen = false;
        link.client.pipe(link.upstream);
        link.upstream.pipe(link.client);
      }
    }
  }

  /**
   * The local ports of the proxy's connections to the target: PostgreSQL sees them as the
   * `client_port` of the backends serving the clients behind this proxy.
   */
  upstreamPorts(): number[] {
    return [...this.links].flatMap(({ upstream }) => (upstream?.localPort === undefined ? [] : [upstream.localPort]));
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

  private hold(link: Link): void {
    const { client, upstream } = link;
    if (upstream === undefined || link.frozen) return;
    link.frozen = true;
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  }

  private link(link: Link): void {
    const upstream = connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    upstream.on('error', () => upstream.destroy());
    upstream.on('close', () => link.client.destroy());
    link.client.pipe(upstream);
    upstream.pipe(link.client);
  }

  private dropAll(): void {
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream?.destroy();
    }
    this.links.clear();
  }
}
