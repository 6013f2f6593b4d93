import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors/app-error';
import { Clock } from '../common/time/clock';
import { MailService } from '../mail/mail.service';
import { inTransaction } from '../database/transaction';
import { UserEntity } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { AccountEmailDto } from './dto/account-email.dto';
import { AccountRegisterDto, AccountRegisterResponseDto } from './dto/account-register.dto';
import { MessageResponseDto } from './dto/message-response.dto';
import { PasswordResetDto } from './dto/password-reset.dto';
import { OneTimeTokensRepository } from './one-time-tokens/one-time-tokens.repository';
import { OneTimeTokensService } from './one-time-tokens/one-time-tokens.service';
import { PasswordHasher } from './passwords/password-hasher';
import { RedirectTargets } from './redirects/redirect-targets';
import { SessionsRepository } from './sessions/sessions.repository';

export const ACCOUNT_MESSAGES = {
  registered: 'Check your email to confirm your account.',
  confirmationResent: 'If this email belongs to an account waiting for confirmation, a new confirmation email is on its way.',
  resetRequested: 'If an account exists for this email, a password reset link is on its way.',
  passwordReset: 'Your password has been reset. Log in with the new password.',
  invalidConfirmation: 'The confirmation link is invalid or has expired.',
  emailConfirmed: 'Your email address is confirmed. You can log in.',
  invalidReset: 'Invalid request: the reset token is invalid, expired or already used.',
} as const;

/**
 * Registration, email confirmation and password reset. Whether an account exists never shows in
 * an answer: it only changes which mail goes out, and each mail is written to the outbox in the
 * transaction that creates what it announces.
 */
@Injectable()
export class AccountsService {
  constructor(
    private readonly em: EntityManager,
    private readonly users: UsersRepository,
    private readonly usersService: UsersService,
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly oneTimeTokenRecords: OneTimeTokensRepository,
    private readonly sessions: SessionsRepository,
    private readonly passwords: PasswordHasher,
    private readonly redirects: RedirectTargets,
    private readonly mail: MailService,
    private readonly clock: Clock,
  ) {}

  async register({ email, password, redirect_to }: AccountRegisterDto): Promise<AccountRegisterResponseDto> {
    const redirectTo = this.redirects.check(redirect_to);
    // Hashed whether or not the email is taken, so both answers take as long.
    const passwordHash = await this.passwords.hash(password);
    const now = this.clock.now();
    const id = await inTransaction(this.em, async (em) => {
      const created = await this.users.insertIfEmailFree(em, email, passwordHash);
      if (created) {
        await this.sendConfirmation(em, created, redirectTo, now);
        return created.id;
      }
      const existing = await this.users.findByEmail(email, em);
      if (existing?.emailConfirmedAt) await this.sendAlreadyRegistered(em, existing, redirectTo, now);
      else if (existing) await this.sendConfirmation(em, existing, redirectTo, now);
      return randomUUID();
    });
    return { message: ACCOUNT_MESSAGES.registered, user: { id, email } };
  }

  /**
   * Answers where the confirmation link lands. Idempotent within the token's lifetime: a mail
   * scanner opening the link first does not spoil the person's click.
   */
  async confirmEmail(token: string): Promise<string> {
    const { confirmed, redirectTo } = await this.spendConfirmation(token);
    return confirmed
      ? this.redirects.landing(redirectTo)
      : this.redirects.landing(redirectTo, { error: ACCOUNT_MESSAGES.invalidConfirmation, error_code: 'INVALID_REQUEST' });
  }

  /** The same confirmation for an API client, which wants an answer rather than a landing page. */
  async confirmEmailToken(token: string): Promise<MessageResponseDto> {
    const { confirmed } = await this.spendConfirmation(token);
    if (!confirmed) throw AppError.invalidRequest(`Invalid request: ${ACCOUNT_MESSAGES.invalidConfirmation}`);
    return { message: ACCOUNT_MESSAGES.emailConfirmed };
  }

  private async spendConfirmation(token: string): Promise<{ confirmed: boolean; redirectTo: string | null }> {
    const now = this.clock.now();
    const result = await inTransaction(this.em, async (em): Promise<{ confirmedUserId: string | null; redirectTo: string | null }> => {
      const found = await this.oneTimeTokens.lookUp(em, token, 'confirm_email', now);
      if (found.state === 'unknown') return { confirmedUserId: null, redirectTo: null };
      if (found.state === 'expired') return { confirmedUserId: null, redirectTo: found.record.redirectTo };
      const user = await this.users.findById(found.record.userId, em);
      if (!user) return { confirmedUserId: null, redirectTo: found.record.redirectTo };
      await this.users.confirmEmail(em, user.id, now);
      await this.oneTimeTokenRecords.markUsed(em, found.record, now);
      return { confirmedUserId: user.id, redirectTo: found.record.redirectTo };
    });
    if (result.confirmedUserId !== null) this.usersService.forget(result.confirmedUserId);
    return { confirmed: result.confirmedUserId !== null, redirectTo: result.redirectTo };
  }

  /** A new confirmation link, if the account exists and is unconfirmed; the same answer in every case. */
  async resendConfirmation({ email, redirect_to }: AccountEmailDto): Promise<MessageResponseDto> {
    const redirectTo = this.redirects.check(redirect_to);
    const now = this.clock.now();
    await inTransaction(this.em, async (em) => {
      const user = await this.users.findByEmail(email, em);
      if (user && !user.emailConfirmedAt) await this.sendConfirmation(em, user, redirectTo, now);
    });
    return { message: ACCOUNT_MESSAGES.confirmationResent };
  }

  /** A reset link, if the account exists; the same answer in every case. */
  async forgotPassword({ email, redirect_to }: AccountEmailDto): Promise<MessageResponseDto> {
    const redirectTo = this.redirects.check(redirect_to);
    const now = this.clock.now();
    await inTransaction(this.em, async (em) => {
      const user = await this.users.findByEmail(email, em);
      if (!user) return;
      const token = await this.oneTimeTokens.issue(em, user.id, 'reset_password', redirectTo, now);
      await this.mail.enqueue(em, { template: 'password-reset', to: user.email, link: this.redirects.landing(redirectTo, { token }) });
    });
    return { message: ACCOUNT_MESSAGES.resetRequested };
  }

  /**
   * Sets the new password, spends every reset token of the user and revokes all their sessions.
   * Opening the mailed link proves the address, so an unconfirmed email becomes confirmed.
   */
  async resetPassword({ token, password }: PasswordResetDto): Promise<MessageResponseDto> {
    const passwordHash = await this.passwords.hash(password);
    const now = this.clock.now();
    const reset = await inTransaction(this.em, async (em) => {
      const found = await this.oneTimeTokens.lookUp(em, token, 'reset_password', now);
      if (found.state !== 'valid') return false;
      const user = await this.users.findById(found.record.userId, em);
      if (!user) return false;
      await this.users.setPassword(em, user.id, passwordHash, now);
      await this.oneTimeTokenRecords.spendAllForUser(em, user.id, 'reset_password', now);
      await this.sessions.revokeForUser(em, user.id, 'all', null, now, 'password_reset');
      return user.id;
    });
    if (!reset) throw AppError.invalidRequest(ACCOUNT_MESSAGES.invalidReset);
    this.usersService.forget(reset);
    return { message: ACCOUNT_MESSAGES.passwordReset };
  }

  private async sendConfirmation(em: EntityManager, user: UserEntity, redirectTo: string | null, now: Date): Promise<void> {
    const token = await this.oneTimeTokens.issue(em, user.id, 'confirm_email', redirectTo, now);
    await this.mail.enqueue(em, { template: 'confirm-email', to: user.email, link: this.redirects.confirmationLink(token) });
  }

  /** The owner of a confirmed address hears that someone tried to register it, with a way in. */
  private async sendAlreadyRegistered(em: EntityManager, user: UserEntity, redirectTo: string | null, now: Date): Promise<void> {
    const token = await this.oneTimeTokens.issue(em, user.id, 'reset_password', redirectTo, now);
    await this.mail.enqueue(em, {
      template: 'already-registered',
      to: user.email,
      login_link: this.redirects.landing(redirectTo),
      reset_link: this.redirects.landing(redirectTo, { token }),
    });
  }
}
