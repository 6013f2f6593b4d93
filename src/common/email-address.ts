import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * Emails are compared and stored trimmed, lower-cased, and with the domain in one form: an
 * internationalised domain and its punycode (`bücher.example`, `xn--bcher-kva.example`) name one
 * mailbox, so they are one account and share one set of limits. The form kept is the Unicode one
 * that a person reads, mapped as a URL's host is (UTS #46: case, width, composition), which is
 * also what DNS resolves; nodemailer writes it in punycode where a message needs it. A domain that is no
 * host name at all (`[127.0.0.1]`, spaces) is left as it is, for the validator to judge.
 */
export function normalizeEmail(email: string): string {
  const address = email.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1);
  // Only a domain with something to map pays for the mapping: the common one is plain ASCII.
  if (!NEEDS_MAPPING.test(domain)) return address;
  const ascii = domainToASCII(domain);
  return ascii === '' ? address : `${address.slice(0, at + 1)}${domainToUnicode(ascii)}`;
}

/** A punycode label (`xn--`) or a character outside printable ASCII: what the mapping may change. */
const NEEDS_MAPPING = /(?:^|\.)xn--|[^ -~]/;
