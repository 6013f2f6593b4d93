import { simpleParser, ParsedMail } from 'mailparser';
import { readFileSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  links: string[];
}

/**
 * A real SMTP server in the test process: the service delivers to it over TCP and the test
 * reads what arrived. `stop()` and `start()` on the same port simulate an outage, `stall()` a
 * server that takes connections and never answers them; `refuse()`
 * makes it answer a recipient with an SMTP error (550 for good, 451 for now); `acceptDelayMs`
 * makes it slow to accept each mail.
 */
export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  /** How long the server takes to accept each mail once its content has arrived. */
  acceptDelayMs = 0;
  /** Mails whose content has begun to arrive, accepted or not. */
  contentsStarted = 0;
  private readonly refusals = new Map<string, { code: number; message: string }>();
  private server?: SMTPServer;
  private stalled?: { server: Server; sockets: Set<Socket> };
  private waiters: Array<() => void> = [];
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<this> {
    await this.stop();
    if (port === 0) return this.startOnAQuietPort();
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // stop() is an outage: open connections are cut after 100 ms, not the default 30 s.
      closeTimeout: 100,
      onRcptTo: (address, _session, callback) => {
        const refusal = this.refusals.get(address.address.toLowerCase());
        if (!refusal) return callback();
        callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      },
      onData: (stream, _session, callback) => {
        this.contentsStarted += 1;
        simpleParser(stream)
          .then(async (parsed) => {
            if (this.acceptDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.acceptDelayMs));
            this.mails.push(toReceived(parsed));
            for (const wake of this.waiters.splice(0)) wake();
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /**
   * Starts on a free port below the range the kernel deals ports out of. While the server is
   * stopped (an outage), nothing else may take its port: another test's server listening on port 0,
   * or an outgoing connection's own end, which the kernel picks from that range (and which, on the
   * port it connects to, connects to itself). Either makes the outage a server that never greets,
   * and a mail meant to fail at once waits for nodemailer's greeting timeout instead.
   */
  private async startOnAQuietPort(): Promise<this> {
    const below = ephemeralPortsFrom();
    for (let tries = 0; tries < 20; tries++) {
      const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
      try {
        return await this.start(port);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
    throw new Error('no free port for the test SMTP server below the ephemeral range');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    const stalled = this.stalled;
    this.stalled = undefined;
    if (stalled) {
      for (const socket of stalled.sockets) socket.destroy();
      await new Promise<void>((resolve) => stalled.server.close(() => resolve()));
    }
  }

  /** From now until `start()`: connections to the port are accepted and never answered, not even greeted. */
  async stall(): Promise<void> {
    await this.stop();
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.stalled = { server, sockets };
  }

  /** Answers RCPT TO `address` with `code` (e.g. 550 mailbox unavailable, 451 try again later) until `accept(address)`. */
  refuse(address: string, code: number, message: string): void {
    this.refusals.set(address.toLowerCase(), { code, message });
  }

  accept(address: string): void {
    this.refusals.delete(address.toLowerCase());
  }

  /** Waits until a mail matching `predicate` has arrived, and answers it. */
  async waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs = 15_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.mails.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching mail within ${timeoutMs} ms; received: ${JSON.stringify(this.mails.map((m) => [m.to, m.subject]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  mailsTo(address: string): ReceivedMail[] {
    return this.mails.filter((mail) => mail.to.includes(address.toLowerCase()));
  }
}

function toReceived(parsed: ParsedMail): ReceivedMail {
  const addresses = [parsed.to].flat().flatMap((to) => to?.value ?? []).map((a) => (a.address ?? '').toLowerCase());
  const text = parsed.text ?? '';
  const html = typeof parsed.html === 'string' ? parsed.html : '';
  const links = [...new Set([...text.matchAll(/https?:\/\/[^\s<>"')]+/g)].map((m) => m[0]))];
  return { to: addresses, subject: parsed.subject ?? '', text, html, links };
}

/** The lowest port the kernel deals out to port-0 listeners and outgoing connections (Linux; 32768 elsewhere). */
function ephemeralPortsFrom(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch {
    // Not Linux: below 32768 is outside the ranges systems deal out by default (IANA's starts at 49152).
  }
  return 32_768;
}
