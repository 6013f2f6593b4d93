import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Principal } from '../common/auth/principal';
import { AppError } from '../common/errors/app-error';
import { Clock } from '../common/time/clock';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { LogFingerprint } from '../common/logging/log.fingerprint';
import { MailTemplateName } from '../mail/mail-message';
import { MailService } from '../mail/mail.service';
import { inTransaction } from '../database/transaction';
import { UserEntity } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { AccountRequest, AccountRequestKind, AccountRequestsRepository } from './account-requests/account-requests.repository';
import { PendingRegistration, RegistrationsRepository } from './account-requests/registrations.repository';
import { AccountEmailDto } from './dto/account-email.dto';
import { AccountRegisterDto, AccountRegisterResponseDto } from './dto/account-register.dto';
import { MessageResponseDto } from './dto/message-response.dto';
import { PasswordChangeDto } from './dto/password-change.dto';
import { PasswordResetDto } from './dto/password-reset.dto';
import { OneTimeTokenEntity } from './one-time-tokens/one-time-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens/one-time-tokens.repository';
import { OneTimeTokenOwner, OneTimeTokensService } from './one-time-tokens/one-time-tokens.service';
import { NO_PASSWORD_HASH, PasswordHasher } from './passwords/password.hasher';
import { RedirectTargets } from './redirects/redirect.targets';
import { ClientInfo } from '../common/http/client-info';
import { SessionsRepository } from './sessions/sessions.repository';
import { USER_API_KEYS, UserApiKeys } from '../api-keys/user-api-keys';

export const ACCOUNT_MESSAGES = {
  registered: 'Check your email to confirm your account.',
  confirmationResent: 'If this email belongs to an account waiting for confirmation, a new confirmation email is on its way.',
  resetRequested: 'If an account exists for this email, a password reset link is on its way.',
  passwordReset: 'Your password has been reset. Log in with the new password.',
  invalidConfirmation: 'The confirmation link is invalid or has expired.',
  emailConfirmed: 'Your email address is confirmed. You can log in.',
  emailConfirmedChoosePassword:
    'Your address is confirmed. Because it was registered more than once, choose your password from the link we just sent.',
  invalidReset: 'Invalid request: the reset token is invalid, expired or already used.',
} as const;

/** The mails register, resend-confirmation and forgot-password send: what RATE_LIMIT_MAIL_EMAIL caps per address. */
const REQUESTED_MAILS: readonly MailTemplateName[] = ['confirm-email', 'already-registered', 'password-reset'];

/** What opening a confirmation link did; `choosePassword`: the account has no password yet. */
interface Confirmation {
  userId: string;
  choosePassword: boolean;
}

/**
 * What opening a confirmation link shows: the address its button confirms and the landings it may
 * then go to (without the query parameters the outcome adds).
 */
export interface ConfirmationPreview {
  email: string;
  landings: string[];
}

/**
 * A confirmation link or button that can do nothing (unknown, expired, its registration gone):
 * 400 INVALID_REQUEST, carrying the landing that says so, where ConfirmLinkErrorFilter sends the
 * browser.
 */
export class ConfirmationFailed extends AppError {
  constructor(readonly landing: string) {
    super('INVALID_REQUEST', `Invalid request: ${ACCOUNT_MESSAGES.invalidConfirmation}`);
  }
}

/** The query parameter a confirmation's landing carries when the account must choose its password. */
export const CHOOSE_PASSWORD_PARAM = 'choose_password';

/**
 * Registration, email confirmation and password reset.
 *
 * Whether an account exists never shows in an answer, in its body or in its time: register,
 * resend-confirmation and forgot-password only record the request (one insert, the same for every
 * address; register hashes the password first, always), and `AccountRequestsWorker` later decides
 * what, if anything, to mail, through the outbox in the same transaction.
 *
 * Each registration stays pending with its own password hash until its own confirmation link is
 * clicked. A click proves the mailbox, not who chose the password: when the address was registered
 * only once, that registration's password becomes the account's; when it was registered more than
 * once, the account is confirmed without a password and the mailbox owner is mailed a link to
 * choose one (decision 017). Either way the address's other registrations are discarded. So nobody
 * can set the password of an address whose mail they cannot read.
 */
@Injectable()
export class AccountsService {
  private readonly logger = new Logger(AccountsService.name);
  private recorded?: () => void;

  constructor(
    private readonly em: EntityManager,
    private readonly users: UsersRepository,
    private readonly usersService: UsersService,
    private readonly registrations: RegistrationsRepository,
    private readonly requests: AccountRequestsRepository,
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly oneTimeTokenRecords: OneTimeTokensRepository,
    private readonly sessions: SessionsRepository,
    private readonly passwords: PasswordHasher,
    private readonly redirects: RedirectTargets,
    private readonly mail: MailService,
    private readonly fingerprint: LogFingerprint,
    @Inject(USER_API_KEYS) private readonly apiKeys: UserApiKeys,
    private readonly clock: Clock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Called once a registration or request has been recorded (committed), so the worker that
   * decides them (AccountRequestsWorker, which depends on this service) need not wait for its poll.
   */
  whenRecorded(listener: () => void): void {
    this.recorded = listener;
  }

  /** The id answered is the registration's: the user's id if this registration is the one confirmed. */
  async register({ email, password, redirect_to }: AccountRegisterDto): Promise<AccountRegisterResponseDto> {
    const redirectTo = this.redirects.check(redirect_to);
    const passwordHash = await this.passwords.hash(password);
    const now = this.clock.now();
    const id = randomUUID();
    await this.registrations.add(this.em, { id, email, passwordHash, redirectTo, createdAt: now, expiresAt: this.confirmationExpiry(now) });
    this.recorded?.();
    return { message: ACCOUNT_MESSAGES.registered, user: { id, email } };
  }

  async resendConfirmation({ email, redirect_to }: AccountEmailDto): Promise<MessageResponseDto> {
    await this.requests.add(this.em, { kind: 'resend_confirmation', email, redirectTo: this.redirects.check(redirect_to) });
    this.recorded?.();
    return { message: ACCOUNT_MESSAGES.confirmationResent };
  }

  async forgotPassword({ email, redirect_to }: AccountEmailDto): Promise<MessageResponseDto> {
    await this.requests.add(this.em, { kind: 'forgot_password', email, redirectTo: this.redirects.check(redirect_to) });
    this.recorded?.();
    return { message: ACCOUNT_MESSAGES.resetRequested };
  }

  /**
   * A new registration: a confirmed address gets the "someone tried to register" notice, and the
   * registration is kept without a link until it expires, so that a login with its password
   * answers 403 EMAIL_NOT_VERIFIED there as it does at a free address (else register-then-login
   * would tell who has an account); any other address gets this registration's own link. Runs in
   * the worker's transaction.
   */
  async decideRegistration(em: EntityManager, registration: PendingRegistration, now: Date): Promise<void> {
    // Left undecided past its lifetime (the workers were down): its link would arrive dead anyway.
    // Kept until the purge, which keeps it while the address has a live registration: a later
    // registration's confirmation must know the address was registered more than once.
    if (registration.expiresAt.getTime() <= now.getTime()) {
      await this.registrations.markDecided(em, registration.id, now);
      return;
    }
    const user = await this.users.findByEmail(registration.email, em);
    await this.registrations.markDecided(em, registration.id, now);
    // Over the cap the registration stays, without a link: a resend-confirmation later renews it.
    if (!(await this.withinMailCap(em, registration.email, 'register'))) return;
    if (user?.emailConfirmedAt) {
      await this.sendAlreadyRegistered(em, user, registration.redirectTo, now);
      return;
    }
    await this.sendConfirmation(em, { registrationId: registration.id }, registration.email, registration.redirectTo, now);
  }

  /**
   * A queued resend-confirmation or forgot-password. Resending renews the newest pending
   * registration (or, for an account from before pending registrations, the unconfirmed user).
   * Runs in the worker's transaction.
   */
  async decideRequest(em: EntityManager, request: AccountRequest, now: Date): Promise<void> {
    const user = await this.users.findByEmail(request.email, em);
    if (request.kind === 'forgot_password') {
      if (!user || !(await this.withinMailCap(em, user.email, request.kind))) return;
      const token = await this.oneTimeTokens.issue(em, { userId: user.id }, 'reset_password', request.redirectTo, now);
      await this.mail.enqueue(em, { template: 'password-reset', to: user.email, link: this.redirects.landing(request.redirectTo, 'reset-password', { token }) });
      return;
    }
    const registration = await this.registrations.findNewestLive(em, request.email, now);
    // Renewed whatever stands behind the address, and whatever the mail cap says: a login with the
    // registration's password reads its end, and must not tell a taken address from a free one.
    if (registration) await this.registrations.extend(em, registration.id, this.confirmationExpiry(now));
    if (user?.emailConfirmedAt) return;
    if (!(registration || user) || !(await this.withinMailCap(em, request.email, request.kind))) return;
    if (registration) {
      await this.sendConfirmation(em, { registrationId: registration.id }, registration.email, request.redirectTo, now);
    } else if (user) {
      await this.sendConfirmation(em, { userId: user.id }, user.email, request.redirectTo, now);
    }
  }

  /**
   * What the confirmation link's page offers, read without changing anything: opening the link, as
   * a mail scanner does before the person, confirms nothing, so whoever registered an address
   * cannot have it confirmed by the recipient's mail gateway. A link that can do nothing throws
   * ConfirmationFailed with where a failed confirmation lands.
   */
  async previewConfirmation(token: string): Promise<ConfirmationPreview> {
    const em = this.em.fork();
    const found = await this.oneTimeTokens.peek(em, token, 'confirm_email', this.clock.now());
    const redirectTo = found.state === 'unknown' ? null : found.record.redirectTo;
    const email = found.state === 'valid' || found.state === 'used' ? await this.emailOfTokenOwner(em, found.record) : null;
    if (email === null) throw new ConfirmationFailed(this.confirmationLanding(redirectTo, null));
    // Where the button may lead: the landing, and the dashboard, where a failure the route cannot answer lands.
    return { email, landings: [this.redirects.landing(redirectTo, 'confirmed'), this.redirects.landing(null, 'confirmed')] };
  }

  /**
   * Confirms from the link's page and answers where it lands; a token that confirms nothing
   * throws ConfirmationFailed with its landing. Idempotent within the token's lifetime: pressing
   * the button again lands on success again.
   */
  async confirmEmail(token: string): Promise<string> {
    const { confirmation, redirectTo } = await this.spendConfirmation(token);
    if (!confirmation) throw new ConfirmationFailed(this.confirmationLanding(redirectTo, null));
    return this.confirmationLanding(redirectTo, confirmation);
  }

  /** The same confirmation for an API client, which wants an answer rather than a landing page. */
  async confirmEmailToken(token: string): Promise<MessageResponseDto> {
    const { confirmation } = await this.spendConfirmation(token);
    if (!confirmation) throw AppError.invalidRequest(`Invalid request: ${ACCOUNT_MESSAGES.invalidConfirmation}`);
    return { message: confirmation.choosePassword ? ACCOUNT_MESSAGES.emailConfirmedChoosePassword : ACCOUNT_MESSAGES.emailConfirmed };
  }

  private confirmationLanding(redirectTo: string | null, confirmation: Confirmation | null): string {
    if (!confirmation) return this.redirects.landing(redirectTo, 'confirmed', { error: ACCOUNT_MESSAGES.invalidConfirmation, error_code: 'INVALID_REQUEST' });
    return this.redirects.landing(redirectTo, 'confirmed', confirmation.choosePassword ? { [CHOOSE_PASSWORD_PARAM]: '1' } : {});
  }

  /** The address a confirmation token is for: its registration's, or (a legacy link, or one already used) its user's. */
  private async emailOfTokenOwner(em: EntityManager, token: OneTimeTokenEntity): Promise<string | null> {
    if (token.registrationId !== null) return (await this.registrations.findById(em, token.registrationId))?.email ?? null;
    return token.userId === null ? null : ((await this.users.findById(token.userId, em))?.email ?? null);
  }

  private async spendConfirmation(token: string): Promise<{ confirmation: Confirmation | null; redirectTo: string | null }> {
    const now = this.clock.now();
    const result = await inTransaction(this.em, async (em): Promise<{ confirmation: Confirmation | null; redirectTo: string | null }> => {
      const found = await this.oneTimeTokens.lookUp(em, token, 'confirm_email', now);
      if (found.state === 'unknown') return { confirmation: null, redirectTo: null };
      if (found.state === 'expired') return { confirmation: null, redirectTo: found.record.redirectTo };
      const confirmation = found.record.registrationId !== null ? await this.confirmRegistration(em, found.record, now) : await this.confirmUser(em, found.record, now);
      return { confirmation, redirectTo: found.record.redirectTo };
    });
    if (result.confirmation) this.usersService.forget(result.confirmation.userId);
    return result;
  }

  /**
   * Sets the new password, spends every reset token of the user, revokes all their sessions (and,
   * when asked, all their API keys: decision 025) and tells the owner by mail, with what became of
   * the keys. Opening the mailed link proves the address, so an unconfirmed email
   * becomes confirmed. A token that could not be spent is refused before the password is hashed:
   * guessing tokens costs no argon2 work.
   */
  async resetPassword({ token, password, revoke_api_keys: revokeApiKeys = false }: PasswordResetDto, client: ClientInfo): Promise<MessageResponseDto> {
    const now = this.clock.now();
    if (!(await this.oneTimeTokens.isSpendable(this.em.fork(), token, 'reset_password', now))) {
      throw AppError.invalidRequest(ACCOUNT_MESSAGES.invalidReset);
    }
    const passwordHash = await this.passwords.hash(password);
    const reset = await inTransaction(this.em, async (em) => {
      // Again, under the token's lock: a concurrent reset may have spent it meanwhile.
      const found = await this.oneTimeTokens.lookUp(em, token, 'reset_password', now);
      if (found.state !== 'valid' || found.record.userId === null) return null;
      const user = await this.users.findById(found.record.userId, em);
      if (!user) return null;
      await this.users.setPassword(em, user.id, passwordHash, now);
      await this.passwordChanged(em, user, now, client, { revokeApiKeys });
      // The address's registrations are left to expire: at a confirmed address they confirm
      // nothing, and discarding them here would tell whoever made one that an account stands
      // behind the address (its password would answer 401 rather than 403 from now on).
      return user.id;
    });
    if (!reset) throw AppError.invalidRequest(ACCOUNT_MESSAGES.invalidReset);
    this.usersService.forget(reset);
    return { message: ACCOUNT_MESSAGES.passwordReset };
  }

  /**
   * A signed-in person changes their password: the current one must be right (a wrong one is
   * refused as a login would refuse it, and counts against the same limits). Every other session
   * of the user is revoked on every instance before this resolves, the caller's stays; reset links
   * still outstanding are spent, since they were asked for under the old password; the owner is
   * told by mail.
   */
  async changePassword(principal: Principal, { current_password, new_password }: PasswordChangeDto, client: ClientInfo): Promise<void> {
    const sessionId = principal.session_id;
    if (!sessionId) throw AppError.invalidToken('This access token belongs to no session');
    const user = await this.users.findById(principal.user.id);
    if (!user || !(await this.passwords.verify(user.passwordHash, current_password))) {
      this.logger.warn('Failed password change (wrong_password)', { event: 'password_change_failed', reason: 'wrong_password', user_id: principal.user.id, ip: client.ip });
      throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
    }
    const passwordHash = await this.passwords.hash(new_password);
    const now = this.clock.now();
    // The password was verified, and the new one hashed, outside any transaction: a reset, or the
    // end of this session, may have committed meanwhile, and must not be undone. So the hash is
    // replaced only if it is still the verified one, and only while this session lives; the user
    // row first, then the sessions, in the order a reset and a logout of many sessions take them
    // (and outstanding reset links are spent skipping one a reset holds), so they wait for each
    // other rather than deadlock.
    await inTransaction(this.em, async (em) => {
      if (!(await this.users.replacePassword(em, user.id, user.passwordHash, passwordHash, now))) {
        this.logger.warn('Failed password change (password_changed)', { event: 'password_change_failed', reason: 'password_changed', user_id: user.id, ip: client.ip });
        throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
      }
      if (!(await this.sessions.lockIfLive(em, sessionId, now))) throw AppError.invalidToken('This session has ended');
      await this.passwordChanged(em, user, now, client, { keepSessionId: sessionId });
    });
    this.usersService.forget(user.id);
  }

  /**
   * What a reset and a change from a session (`keepSessionId`) have in common once the new hash is
   * stored: every outstanding reset link spent, the sessions revoked (all, or all but the changing
   * one), and the owner told. A reset also settles the API keys, which outlive sessions: revoked
   * when asked, else counted, so the notice says how many still work. In the caller's transaction.
   */
  private async passwordChanged(
    em: EntityManager,
    user: UserEntity,
    now: Date,
    client: ClientInfo,
    change: { keepSessionId: string } | { revokeApiKeys: boolean },
  ): Promise<void> {
    await this.oneTimeTokenRecords.spendAllForUser(em, user.id, 'reset_password', now);
    const reset = 'revokeApiKeys' in change;
    if (reset) await this.sessions.revokeForUser(em, user.id, 'all', null, now, 'password_reset');
    else await this.sessions.revokeForUser(em, user.id, 'all_but', change.keepSessionId, now, 'password_change');
    await this.mail.enqueue(em, {
      template: 'password-changed',
      to: user.email,
      link: this.redirects.landing(null, 'home'),
      at: now,
      ip: client.ip,
      user_agent: client.userAgent,
      signed_out: reset ? 'all' : 'others',
      api_keys: reset ? await this.keysAfterReset(em, user.id, change.revokeApiKeys) : undefined,
    });
  }

  /** What a reset does with the user's keys, as its notice tells it: revoked when asked, else counted. */
  private async keysAfterReset(em: EntityManager, userId: string, revoke: boolean): Promise<{ revoked: number; link: string } | { active: number; link: string }> {
    const link = this.redirects.landing(null, 'keys');
    return revoke ? { revoked: await this.apiKeys.revokeAllForUser(em, userId), link } : { active: await this.apiKeys.countActiveForUser(em, userId), link };
  }

  /**
   * The registration becomes the user. With its password if it is the address's only one; with
   * none if the address had another registration in this one's lifetime, or an unconfirmed account
   * from before pending registrations (its own registration): the click proves the mailbox, not
   * which of them its owner made, so the owner is mailed a link to choose the password. The
   * address's other registrations are discarded with their links. A confirmed account is never
   * changed by a registration.
   */
  private async confirmRegistration(em: EntityManager, token: OneTimeTokenEntity, now: Date): Promise<Confirmation | null> {
    const registration = await this.registrations.findByIdForUpdate(em, token.registrationId!);
    if (!registration) return null;
    const existing = await this.users.findByEmailForUpdate(em, registration.email);
    if (existing?.emailConfirmedAt) {
      await this.registrations.discard(em, registration.id);
      return null;
    }
    const contested = existing !== null || (await this.registrations.hasOthersForEmail(em, registration.email, registration.id));
    let userId: string | null;
    if (existing) {
      await this.users.setPassword(em, existing.id, NO_PASSWORD_HASH, now);
      userId = existing.id;
    } else {
      // A contested account takes a fresh id: each registrant was answered their registration's id.
      const user = contested ? { ...registration, id: randomUUID(), passwordHash: NO_PASSWORD_HASH } : registration;
      userId = await this.users.insertConfirmed(em, user, now);
    }
    if (userId === null) {
      await this.registrations.discard(em, registration.id);
      return null;
    }
    await this.oneTimeTokenRecords.transferToUser(em, token, userId, now);
    await this.registrations.discardForEmail(em, registration.email);
    if (contested) await this.sendChoosePassword(em, userId, registration.email, now);
    return { userId, choosePassword: contested };
  }

  /**
   * A link that confirms a user directly: issued before pending registrations, or opened again.
   * An unconfirmed legacy account whose address has pending registrations too is contested as in
   * `confirmRegistration`. Opened again, the link answers as it did the first time while the
   * account still has no password.
   */
  private async confirmUser(em: EntityManager, token: OneTimeTokenEntity, now: Date): Promise<Confirmation | null> {
    const user = token.userId === null ? null : await this.users.findById(token.userId, em);
    if (!user) return null;
    const contested = user.emailConfirmedAt === null && (await this.registrations.existForEmail(em, user.email));
    if (contested) await this.users.setPassword(em, user.id, NO_PASSWORD_HASH, now);
    else await this.users.confirmEmail(em, user.id, now);
    await this.oneTimeTokenRecords.markUsed(em, token, now);
    // Only on the first confirmation: a link opened again leaves registrations made since to
    // expire, as a reset does, rather than tell their makers an account stands behind the address.
    if (user.emailConfirmedAt === null) await this.registrations.discardForEmail(em, user.email);
    if (contested) await this.sendChoosePassword(em, user.id, user.email, now);
    return { userId: user.id, choosePassword: contested || user.passwordHash === NO_PASSWORD_HASH };
  }

  /**
   * The owner of an address confirmed without a password chooses one through a reset link. It
   * lands on the dashboard's reset page: a registration's `redirect_to` is where its confirmation
   * lands, not a page that knows what to do with a reset token.
   */
  private async sendChoosePassword(em: EntityManager, userId: string, email: string, now: Date): Promise<void> {
    this.logger.warn('An address registered more than once was confirmed without a password', { event: 'registration_contested', user_id: userId });
    const token = await this.oneTimeTokens.issue(em, { userId }, 'reset_password', null, now);
    await this.mail.enqueue(em, { template: 'choose-password', to: email, link: this.redirects.landing(null, 'reset-password', { token }) });
  }

  /**
   * Whether `email` may be sent one more of the mails the three requests send. Beyond
   * RATE_LIMIT_MAIL_EMAIL in its window it may not: the request, answered long ago as any other,
   * sends nothing, so the cap protects the inbox without telling anyone, or letting anyone refuse
   * the owner's own requests (decision 029). Logged with the address as failed logins log it.
   */
  private async withinMailCap(em: EntityManager, email: string, request: 'register' | AccountRequestKind): Promise<boolean> {
    const { limit, windowSeconds } = this.config.rateLimits.mail_email;
    if ((await this.mail.countQueuedTo(em, email, REQUESTED_MAILS, windowSeconds)) < limit) return true;
    this.logger.warn('Mail not sent: the address has had its share (RATE_LIMIT_MAIL_EMAIL)', { event: 'mail_capped', request, ...this.fingerprint.email(email) });
    return false;
  }

  private async sendConfirmation(em: EntityManager, owner: OneTimeTokenOwner, email: string, redirectTo: string | null, now: Date): Promise<void> {
    const token = await this.oneTimeTokens.issue(em, owner, 'confirm_email', redirectTo, now);
    await this.mail.enqueue(em, { template: 'confirm-email', to: email, link: this.redirects.confirmationLink(token) });
  }

  /** The owner of a confirmed address hears that someone tried to register it, with a way in. */
  private async sendAlreadyRegistered(em: EntityManager, user: UserEntity, redirectTo: string | null, now: Date): Promise<void> {
    const token = await this.oneTimeTokens.issue(em, { userId: user.id }, 'reset_password', redirectTo, now);
    await this.mail.enqueue(em, {
      template: 'already-registered',
      to: user.email,
      login_link: this.redirects.landing(redirectTo, 'sign-in'),
      reset_link: this.redirects.landing(redirectTo, 'reset-password', { token }),
    });
  }

  private confirmationExpiry(now: Date): Date {
    return new Date(now.getTime() + this.config.tokens.confirmTtlSeconds * 1000);
  }
}
