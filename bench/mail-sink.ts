import { SMTPServer } from 'smtp-server';

/**
 * The SMTP server the benchmarked service delivers its mail to: it accepts every mail and keeps
 * none, so the service's mail work is the production one (a real SMTP conversation) and the
 * benchmark's process does no parsing.
 */
export async function startMailSink(): Promise<{ url: string; stop(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 100,
    onData: (stream, _session, callback) => {
      stream.on('end', () => callback()).resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
