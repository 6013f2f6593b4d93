import { isIPv4, isIPv6 } from 'node:net';

/** The hextets of an IPv6 address that name its network: one subscriber is usually given a /64. */
const NETWORK_HEXTETS = 4;

/**
 * What the limits kept per client address count by: an IPv4 address as it is (an IPv4-mapped
 * IPv6 address as its IPv4 form), an IPv6 address by its /64, since one subscriber is usually
 * given a whole /64 and could otherwise step to a fresh address for every few guesses.
 */
export function clientKey(ip: string): string {
  const address = ip.split('%', 1)[0];
  if (!isIPv6(address)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  const [head, tail] = address.toLowerCase().split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (`::1.2.3.4`) is two hextets, all beyond the network's.
  const width = back.length > 0 && back[back.length - 1].includes('.') ? back.length + 1 : back.length;
  const hextets = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - width).fill('0')];
  return `${hextets
    .slice(0, NETWORK_HEXTETS)
    .map((hextet) => hextet.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
