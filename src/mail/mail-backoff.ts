import { domainToASCII, domainToUnicode } from 'node:url';

/** Retries never wait longer than this, however many attempts failed. */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

/**
 * How long to wait after the `attempts`-th failed delivery: `baseMs * 2^(attempts-1)`, capped, then
 * shortened by up to 10% at random so instances that failed together do not retry in lockstep.
 */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
  return Math.round(exponential * (1 - 0.1 * random()));
}

/** Why a mail was given up: its server refused it for good, or every attempt failed for a passing reason. */
export type MailFailure = 'rejected' | 'retries_exhausted';

export interface RetryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
}

export type FailureDecision = { outcome: 'retry'; delayMs: number } | { outcome: 'failed'; failure: MailFailure };

/**
 * What follows the `attempts`-th failed delivery of a mail. A permanent rejection is final at
 * once; a passing failure (server down, slow, busy) is retried until `maxAttempts` attempts have
 * been made, the last ones an hour apart, so the defaults outlast a day-long outage.
 */
export function decideAfterFailure(attempts: number, permanent: boolean, policy: RetryPolicy, random: () => number = Math.random): FailureDecision {
  if (permanent) return { outcome: 'failed', failure: 'rejected' };
  if (attempts >= policy.maxAttempts) return { outcome: 'failed', failure: 'retries_exhausted' };
  return { outcome: 'retry', delayMs: retryDelayMs(attempts, policy.retryBaseMs, random) };
}

const MAX_ERROR_LENGTH = 500;

/**
 * A delivery error as stored in `last_error` and logged: short, and without URL credentials. For a
 * log line, `recipient` is replaced wherever the server's reply quotes it (`550 5.1.1 <…>: …`),
 * before the text is cut, so that no part of it is left at the cut.
 */
export function describeDeliveryError(error: unknown, recipient?: string): string {
  const err = error as { code?: unknown; message?: unknown } | undefined;
  const message = typeof err?.message === 'string' ? err.message : String(error);
  const code = typeof err?.code === 'string' && !message.includes(err.code) ? `${err.code}: ` : '';
  let text = (code + message).replace(/(?<![\w+.-])([a-z][\w+.-]*:\/\/)[^\s/@]+@/gi, '$1***@').replace(/\s+/g, ' ').trim();
  if (recipient !== undefined) {
    for (const form of sentForms(recipient)) text = text.replace(new RegExp(form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), '<recipient>');
  }
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/**
 * The forms of an address a server may quote back: as stored, with its white space folded (as the
 * reply's is here), and with its domain in ASCII and in Unicode (an internationalised domain is
 * sent in one or the other, and servers may quote the other).
 */
function sentForms(recipient: string): string[] {
  const folded = recipient.replace(/\s+/g, ' ').trim();
  const at = folded.lastIndexOf('@');
  if (at <= 0) return [folded];
  const local = folded.slice(0, at + 1);
  const ascii = domainToASCII(folded.slice(at + 1));
  const domains = ascii ? [ascii, domainToUnicode(ascii)] : [];
  return [...new Set([folded, ...domains.filter(Boolean).map((domain) => `${local}${domain}`)])];
}
