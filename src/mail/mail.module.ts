import { Module } from '@nestjs/common';
import { MailService } from './mail.service';

/** Placeholder until MailModule lands. */
@Module({ providers: [MailService], exports: [MailService] })
export class MailModule {}
