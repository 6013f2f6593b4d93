import { OutgoingMail } from './mail-message';

/** Delivers one mail, or rejects; the outbox worker decides about retries. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
}

export const MAIL_TRANSPORT = Symbol('MAIL_TRANSPORT');
