import { OnApplicationShutdown } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import { OutgoingMail } from './mail-message';
import { MailTransport } from './mail-transport';

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
    await this.transporter.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
  }

  /** Runs after the outbox worker has stopped (it stops on module destroy, an earlier phase). */
  onApplicationShutdown(): void {
    this.transporter.close();
  }
}
