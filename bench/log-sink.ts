import { createWriteStream } from 'node:fs';

/**
 * The service's output during a run, read as a log shipper would read it in production. The
 * service logs at `info`, as production does, so it writes an access line per request: they are
 * counted here and left out of the run's log file, which would otherwise grow by gigabytes; every
 * other line is kept. Forked by processes.ts with the service's output on its standard input; it
 * answers its count over IPC (`bench:access-lines`).
 */
const ACCESS_LINE = Buffer.from('"event":"http_request"');
const NEWLINE = 0x0a;

const kept = createWriteStream(process.argv[2]);
let accessLines = 0;
let partial = Buffer.alloc(0);

process.stdin.on('data', (chunk: Buffer) => {
  const data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
  let start = 0;
  // Native searches only: the sink shares the machine's cores with what it measures.
  for (let end = data.indexOf(NEWLINE); end !== -1; start = end + 1, end = data.indexOf(NEWLINE, start)) {
    const marker = data.indexOf(ACCESS_LINE, start);
    if (marker !== -1 && marker < end) accessLines++;
    else kept.write(data.subarray(start, end + 1));
  }
  partial = Buffer.from(data.subarray(start));
});
// The service's exit ends standard input: only then is the file complete.
process.stdin.on('end', () => kept.end(partial));

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'bench:access-lines') process.send?.({ type: 'bench:access-lines', count: accessLines });
});
