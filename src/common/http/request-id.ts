import { randomBytes } from 'node:crypto';

/** The counter's 12 hex digits (48 bits): a fresh random prefix comes before it could wrap. */
const COUNTER_LIMIT = 2 ** 48;

/** The ids' hex digits as bytes, by value. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Where the counter's digits start in an id: after `xxxxxxxx-xxxx-8xxx-vxxx-`. */
const COUNTER_AT = 24;

/**
 * Ids for requests that bring no `X-Request-Id`, in the UUID shape: RFC 9562 UUIDv8 (the layout
 * is the issuer's to choose) made of 74 random bits drawn once per process and a 48-bit counter.
 * Unique across instances and restarts as a random UUID is, and ordered within a process, for a
 * fraction of `randomUUID()`'s cost: no random bytes per request, and one string made, which
 * matters because every response carries one. Request ids are labels, not secrets.
 *
 * The id is written into a buffer and read out as one flat string. Joined from its prefix and
 * counter it was a rope, which Node's header-value check then had V8 flatten in its runtime, as
 * costly again as making the id (counted with callgrind).
 */
export function requestIdGenerator(random: (size: number) => Buffer = randomBytes): () => string {
  const id = Buffer.from(randomPrefix(random) + '0'.repeat(12), 'latin1');
  let counter = 0;
  return () => {
    if (counter === COUNTER_LIMIT) {
      id.write(randomPrefix(random), 'latin1');
      counter = 0;
    }
    let rest = counter++;
    for (let at = id.length - 1; at >= COUNTER_AT; at--) {
      id[at] = HEX[rest % 16];
      rest = Math.floor(rest / 16);
    }
    return id.toString('latin1');
  };
}

/** `xxxxxxxx-xxxx-8xxx-vxxx-`: version 8, the RFC variant (`10` in the top bits of v), the rest random. */
function randomPrefix(random: (size: number) => Buffer): string {
  const hex = random(10).toString('hex');
  const variant = ((parseInt(hex[15], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(12, 15)}-${variant}${hex.slice(16, 19)}-`;
}
