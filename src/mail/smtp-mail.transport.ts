import { OnApplicationShutdown } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import { OutgoingMail } from './mail-message';
import { MailDeferredError, MailRejectedError, MailTransport } from './mail-transport';

/** The steps where a reply concerns this one mail, not the server or our account on it. */
const MAIL_STEPS = new Set(['EENVELOPE', 'EMESSAGE']);

/** SMTP through a small nodemailer pool; short timeouts so a dead server fails a tick fast. */
export class SmtpMailTransport implements MailTransport, OnApplicationShutdown {
  private readonly transporter: Transporter;

  constructor(url: string, private readonly from: string) {
    this.transporter = createTransport({
      url,
      pool: true,
      maxConnections: 5,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.transporter.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    } catch (error) {
      if (isPermanentRejection(error)) throw new MailRejectedError((error as Error).message, { cause: error });
      if (concernsOneMail(error)) throw new MailDeferredError((error as Error).message, (error as { code: string }).code, { cause: error });
      throw error;
    }
  }

  /** Runs after the outbox worker has stopped (it stops on module destroy, an earlier phase). */
  onApplicationShutdown(): void {
    this.transporter.close();
  }
}

/**
 * A reply to the recipient or the content of this one mail (a greylisting 451, a full mailbox),
 * temporary or not: it says nothing about whether the server takes other mails.
 */
function concernsOneMail(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && MAIL_STEPS.has(code);
}

/**
 * A 5xx reply (nodemailer's `permanent`, which leaves out 503) to the recipient or the content of
 * this mail. A 5xx to the greeting or to our login is the server's or our configuration's problem:
 * every mail would get it, so those mails wait for the fix instead of being given up.
 */
export function isPermanentRejection(error: unknown): boolean {
  const err = error as { code?: unknown; permanent?: unknown } | undefined;
  return err?.permanent === true && concernsOneMail(error);
}
