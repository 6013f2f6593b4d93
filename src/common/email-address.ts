import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * The OpenAPI format of every email the contract carries, in bodies and in answers: `idn-email`
 * (RFC 6531), not `email`, which JSON Schema defines as ASCII only. Accounts may have a domain in
 * Unicode form (below) or letters beyond ASCII before the `@`; a client generated with `email`
 * and strict validation would refuse such a user's own address in `/users/me`, or refuse to send it.
 */
export const EMAIL_FORMAT = 'idn-email';

/**
 * Emails are compared and stored trimmed, lower-cased, and with the domain in one form: an
 * internationalised domain and its punycode (`bücher.example`, `xn--bcher-kva.example`) name one
 * mailbox, so they are one account and share one set of limits. The form kept is the Unicode one
 * that a person reads, mapped as a URL's host is (UTS #46: case, width, composition), which is
 * also what DNS resolves; nodemailer writes it in punycode where a message needs it. The domain is
 * mapped before anything is lower-cased, as a browser maps it, and lower-cased after, so that the
 * result is one that PostgreSQL's `lower()` keeps as it is (the mapping writes Cherokee in capitals).
 * A domain the mapping is not for is left as it is, for the validator to judge (UNMAPPABLE).
 */
export function normalizeEmail(email: string): string {
  const address = email.trim();
  const at = address.lastIndexOf('@');
  if (at < 0) return address.toLowerCase();
  const domain = address.slice(at + 1);
  const mapped = NEEDS_MAPPING.test(domain) ? mapDomain(domain) : undefined;
  return (mapped === undefined ? address : `${address.slice(0, at + 1)}${mapped}`).toLowerCase();
}

/** The domain in Unicode form, or undefined when it is no host name the mapping is for. */
function mapDomain(domain: string): string | undefined {
  // The mapping's cost grows steeply with a label's length; a host name is short, and whatever
  // is longer is refused by the validator anyway, after a look-up that must stay cheap.
  if (domain.length > MAX_DOMAIN_LENGTH || UNMAPPABLE.test(domain)) return undefined;
  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.length > MAX_DOMAIN_LENGTH || IPV4.test(ascii) || ascii.split('.').some((label) => label.length > MAX_LABEL_LENGTH)) return undefined;
  return domainToUnicode(ascii);
}

/**
 * The domain of `email` in its ASCII form (punycode), as DNS and mail servers' logs write it:
 * what an operator reads about someone else's address, where a Unicode domain of look-alike
 * letters (Cyrillic ones that read as `apple.com`) would pass for the one it mimics.
 */
export function asciiDomainOf(email: string): string {
  const address = normalizeEmail(email);
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return NOT_PRINTABLE_ASCII.test(domain) ? domainToASCII(domain) || domain : domain;
}

/** A character outside printable ASCII. */
const NOT_PRINTABLE_ASCII = /[^ -~]/;
/** A punycode label (`xn--`) or a character outside printable ASCII: what the mapping may change. */
const NEEDS_MAPPING = /(?:^|\.)xn--|[^ -~]/i;
/**
 * What a URL's host parser reads otherwise than a mail domain: it would cut the domain at `/`, `?`
 * or `#`, decode `%`-escapes, and read spaces and controls its own way.
 */
const UNMAPPABLE = /[/\\?#%\s\p{Cc}]/u;
/** The host parser reads a domain of digits as an IPv4 address (`0x7f.1` is 127.0.0.1). */
const IPV4 = /^[\d.]+$/;
/** RFC 1035's bounds, on the domain as given and on its ASCII form. */
const MAX_DOMAIN_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * The inbox an address delivers to, as far as the common providers tell: the address in one form
 * (`normalizeEmail`), without a sub-address after the first `+` (RFC 5233: `ada+news@` reaches
 * `ada@`), and at Gmail without the dots of the local part and under one domain name
 * (`a.da@googlemail.com` is `ada@gmail.com`). Used to count the mails one inbox gets, never as an
 * address or an identity: two mailboxes it takes for one (at a provider that reads `+` otherwise)
 * only share a cap, while one inbox under many names no longer has a cap for each name.
 */
export function inboxOf(email: string): string {
  const address = normalizeEmail(email);
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  let local = address.slice(0, at);
  let domain = address.slice(at + 1);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.replaceAll('.', '');
    domain = 'gmail.com';
  }
  return `${local}@${domain}`;
}

/** Gmail's two names, under which dots in the local part are ignored. */
const GMAIL_DOMAINS: ReadonlySet<string> = new Set(['gmail.com', 'googlemail.com']);
