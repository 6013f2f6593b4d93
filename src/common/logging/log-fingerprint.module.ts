import { Module } from '@nestjs/common';
import { LogFingerprint } from './log.fingerprint';

/**
 * One `LogFingerprint` for every module that names an address in its logs: with a per-process
 * random key (see `secretOf`), two instances would hash one address two ways.
 */
@Module({ providers: [LogFingerprint], exports: [LogFingerprint] })
export class LogFingerprintModule {}
