import { OutgoingMail } from './mail-message';

/** Delivers one mail, or rejects; the outbox worker decides about retries. */
export interface MailTransport {
  /**
   * Resolves once the mail server has accepted the mail. Rejects with `MailRejectedError` when
   * the server refused this mail for good (trying again would get the same answer), with any other
   * error when it may go through later (server down, slow, busy, misconfigured).
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
