import { Logger } from '@nestjs/common';
import { OutgoingMail } from './mail-message';
import { MailTransport } from './mail-transport';

/**
 * Development transport (no SMTP_URL): logs each mail with its links instead of sending it, so a
 * person can click through a sign-up. Production refuses to start without SMTP_URL.
 */
export class LoggingMailTransport implements MailTransport {
  private readonly logger = new Logger(LoggingMailTransport.name);

  async send(mail: OutgoingMail): Promise<void> {
    const links = [...new Set(mail.text.match(/https?:\/\/\S+/g) ?? [])];
    this.logger.log(`mail to ${mail.to} (logged, not sent): "${mail.subject}"${links.map((link) => `\n  ${link}`).join('')}`, {
      to: mail.to,
      subject: mail.subject,
      links,
    });
  }
}
