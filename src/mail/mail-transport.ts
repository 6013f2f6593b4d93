import { OutgoingMail } from './mail-message';

/** Delivers one mail, or rejects; the outbox worker decides about retries. */
export interface MailTransport {
  /**
   * Resolves once the mail server has accepted the mail. Rejects with `MailRejectedError` when
   * the server refused this mail for good (trying again would get the same answer), with
   * `MailDeferredError` when it put off this mail alone (greylisting, a full mailbox), with any
   * other error when the server itself failed (down, slow, busy, misconfigured).
   */
  send(mail: OutgoingMail): Promise<void>;
}

export const MAIL_TRANSPORT = Symbol('MAIL_TRANSPORT');

/** The mail server refused this mail for good (an SMTP 5xx to its recipient or its content). */
export class MailRejectedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailRejectedError';
  }
}

/** The mail server put off this one mail (an SMTP 4xx to its recipient or its content); others may go through. */
export class MailDeferredError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MailDeferredError';
  }
}
