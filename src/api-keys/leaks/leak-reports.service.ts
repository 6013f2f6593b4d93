import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { FieldError } from '../../common/errors/error-codes';
import type { UnparsedJson } from '../../common/http/body-parsers';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { inTransaction } from '../../database/transaction';
import { LeakLocation } from '../../mail/mail-message';
import { MailService } from '../../mail/mail.service';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service';
import { hashApiKey, parseApiKey } from '../api-key-format';
import { ApiKeyRevocationListener } from '../api-key-revocation.listener';
import { LeakReportLabelDto } from './dto/leak-report-label.dto';
import { LeakReportMatchDto } from './dto/leak-report-match.dto';
import { GithubSignatureVerifier, SignatureCheck } from './github-signature.verifier';
import { LeakedApiKeysRepository } from './leaked-api-keys.repository';

/** What is known of a report before its body is read: the signature headers, and the client's address. */
export interface LeakReportSender {
  keyIdentifier: string | undefined;
  signature: string | undefined;
  ip: string;
}

/** A report as it arrived: the signature headers, and the body as received (what was signed), none when empty. */
export interface SignedLeakReport extends LeakReportSender {
  body: UnparsedJson | undefined;
}

interface Match extends LeakReportMatchDto {
  /** SHA-256 of the token when it has the form of one of our keys (checksum included). */
  keyHash: string | null;
}

/**
 * GitHub's secret-scanning reports: verify the signature over the exact body before parsing it
 * (GitHub publishes its key identifiers, so anyone can name one: a forged report costs the
 * signature check and no parsing), revoke every reported key that still works (on every instance,
 * through the revocation channel), tell each owner where it was found, and label each token. A
 * report whose signature does not verify changes nothing.
 */
@Injectable()
export class LeakReportsService {
  private readonly logger = new Logger(LeakReportsService.name);

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly em: EntityManager,
    private readonly verifier: GithubSignatureVerifier,
    private readonly repository: LeakedApiKeysRepository,
    private readonly revocations: ApiKeyRevocationListener,
    private readonly mail: MailService,
    private readonly limiter: RateLimiterService,
  ) {}

  async report(report: SignedLeakReport): Promise<LeakReportLabelDto[]> {
    await this.verify(report);
    const matches = parseMatches(await report.body?.parse());
    const keyHashes = [...new Set(matches.flatMap((match) => (match.keyHash === null ? [] : [match.keyHash])))];
    const issued = keyHashes.length === 0 ? new Set<string>() : await this.revoke(keyHashes, matches);
    return matches.map((match) => ({
      token_raw: match.token,
      token_type: match.type,
      label: match.keyHash !== null && issued.has(match.keyHash) ? 'true_positive' : 'false_positive',
    }));
  }

  /**
   * Refuses, with 401, a report no configured key could verify whatever its body says: a signature
   * header missing, or a key identifier none has. Asked before the body is read
   * (LeakReportHeadersCheck), so such a report costs no parsing, and again with the body. A wrong
   * key identifier counts against the client like a failed authentication; a report without the
   * headers guesses nothing and counts nothing, since any web page can have its visitors' browsers
   * send one (a POST with no header of its own) and would spend the limit of everyone behind
   * the visitor's address. Answers the two headers.
   */
  async screen(sender: LeakReportSender): Promise<{ keyIdentifier: string; signature: string }> {
    if (!sender.keyIdentifier || !sender.signature) {
      throw AppError.missingAuth('A leak report must carry the Github-Public-Key-Identifier and Github-Public-Key-Signature headers');
    }
    const key = await this.verifier.keyFor(sender.keyIdentifier);
    if (typeof key === 'string') await this.refuse(sender.keyIdentifier, sender.ip, key);
    return { keyIdentifier: sender.keyIdentifier, signature: sender.signature };
  }

  /** Refuses, with 401, a report without a valid signature. */
  private async verify(report: SignedLeakReport): Promise<void> {
    const { keyIdentifier, signature } = await this.screen(report);
    const check = await this.verifier.verify(keyIdentifier, signature, Buffer.from(report.body?.text ?? '', 'utf8'));
    if (check !== 'valid') await this.refuse(keyIdentifier, report.ip, check);
  }

  private async refuse(keyIdentifier: string, ip: string, reason: Exclude<SignatureCheck, 'valid'>): Promise<never> {
    this.logger.warn('refused a leak report: its signature does not verify', { key_identifier: keyIdentifier.slice(0, 128), reason, ip });
    await this.limiter.countFailedAuthentication(ip);
    throw AppError.invalidToken(reason === 'invalid' ? 'Invalid signature' : 'Invalid signature: unknown Github-Public-Key-Identifier');
  }

  /** Revokes the reported keys that still work and mails their owners, in one transaction; answers the hashes of every key we issued. */
  private async revoke(keyHashes: string[], matches: Match[]): Promise<Set<string>> {
    return inTransaction(this.em, async (em) => {
      const revoked = await this.repository.revokeActive(em, keyHashes);
      const at = new Date();
      for (const key of revoked) {
        const foundAt = locations(matches.filter((match) => match.keyHash === key.keyHash));
        this.logger.warn('API key found in public (GitHub secret scanning): revoked', { key_id: key.id, key_prefix: key.keyPrefix, user_id: key.userId, found_at: foundAt.map((place) => place.url) });
        await this.revocations.announce(em, key.keyHash);
        await this.mail.enqueue(em, {
          template: 'api-key-leaked',
          to: key.ownerEmail,
          link: this.config.http.dashboardUrl,
          name: key.name,
          key_prefix: key.keyPrefix,
          at,
          found_at: foundAt,
        });
      }
      return this.repository.findIssued(em, keyHashes);
    });
  }
}

/** The matches of a verified report, each with its key hash when it has our keys' form; 400 naming every bad field otherwise. */
function parseMatches(body: unknown): Match[] {
  if (!Array.isArray(body)) throw AppError.invalidRequest('Invalid request: a leak report is a JSON array of { token, type, url, source }');
  const problems: FieldError[] = [];
  const matches = body.map((item: unknown, index): Match => {
    const fields = (item !== null && typeof item === 'object' ? item : {}) as Record<string, unknown>;
    for (const name of ['token', 'type', 'url'] as const) {
      if (typeof fields[name] !== 'string') problems.push({ field: `${index}.${name}`, code: 'isString', message: `${index}.${name} must be a string` });
    }
    if (fields.source !== undefined && fields.source !== null && typeof fields.source !== 'string') {
      problems.push({ field: `${index}.source`, code: 'isString', message: `${index}.source must be a string` });
    }
    const token = String(fields.token ?? '');
    const parsed = typeof fields.token === 'string' ? parseApiKey(token) : null;
    return {
      token,
      type: String(fields.type ?? ''),
      url: String(fields.url ?? ''),
      source: typeof fields.source === 'string' ? fields.source : undefined,
      keyHash: parsed === null ? null : hashApiKey(parsed.key),
    };
  });
  if (problems.length > 0) throw AppError.invalidRequest(`Invalid request: ${problems.map((problem) => problem.message).join('; ')}`, problems);
  return matches;
}

/** Each place a key was found, once. */
function locations(matches: Match[]): LeakLocation[] {
  const seen = new Map<string, LeakLocation>();
  for (const match of matches) seen.set(`${match.url}\u0000${match.source ?? ''}`, { url: match.url, source: match.source ?? null });
  return [...seen.values()];
}
