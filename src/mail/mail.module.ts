import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { LogFingerprintModule } from '../common/logging/log-fingerprint.module';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { LoggingMailTransport } from './logging-mail.transport';
import { MailOutboxEntity } from './mail-outbox.entity';
import { MailOutboxRepository } from './mail-outbox.repository';
import { MAIL_TRANSPORT, MailTransport } from './mail-transport';
import { MailService } from './mail.service';
import { OutboxWorker } from './outbox.worker';
import { SmtpMailTransport } from './smtp-mail.transport';

@Module({
  imports: [MikroOrmModule.forFeature([MailOutboxEntity]), LogFingerprintModule],
  providers: [
    MailService,
    MailOutboxRepository,
    OutboxWorker,
    {
      provide: MAIL_TRANSPORT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): MailTransport =>
        config.mail.smtpUrl ? new SmtpMailTransport(config.mail.smtpUrl, config.mail.from) : new LoggingMailTransport(),
    },
  ],
  exports: [MailService, MailOutboxRepository, OutboxWorker],
})
export class MailModule {}
