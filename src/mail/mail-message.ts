/**
 * Every mail the service sends. Callers describe what happened; the templates decide the words.
 * Links are absolute URLs built by the caller (they carry one-time tokens).
 */
export type MailMessage =
  | { template: 'confirm-email'; to: string; link: string }
  | { template: 'already-registered'; to: string; login_link: string; reset_link: string }
  | { template: 'password-reset'; to: string; link: string }
  // An address registered more than once was confirmed with no password: its owner chooses one.
  | { template: 'choose-password'; to: string; link: string }
  // `signed_out`: a reset logs every session out; a change from a session keeps that one.
  | ({
      template: 'password-changed';
      to: string;
      link: string;
      signed_out: 'all' | 'others';
      /** After a reset: what became of the account's API keys, and where to review them. */
      api_keys?: { revoked: number; link: string } | { active: number; link: string };
    } & SecurityEventDetails)
  | ({ template: 'api-key-created'; to: string; link: string; name: string | null; key_prefix: string } & SecurityEventDetails)
  | ({ template: 'api-key-rolled'; to: string; link: string; name: string | null; key_prefix: string; new_key_prefix: string; /** Null: the old key was revoked at once. */ old_key_ends_at: Date | null } & SecurityEventDetails)
  | { template: 'api-key-leaked'; to: string; link: string; name: string | null; key_prefix: string; at: Date; found_at: LeakLocation[] };

/** Where a leaked key was found, as the secret scanner reported it (`url` may be empty). */
export interface LeakLocation {
  url: string;
  source: string | null;
}

/** When and from where a change to an account was made, as its owner is told in a security notice. */
export interface SecurityEventDetails {
  at: Date;
  ip: string | null;
  user_agent: string | null;
}

export type MailTemplateName = MailMessage['template'];

/**
 * Whether a person is waiting for the mail as it is sent: the link they just asked for, the answer
 * to their sign-up (`already-registered` stands in for a confirmation), or the link to choose a
 * password that the confirmation page sends them to read. The others are notices of something
 * already done. The two kinds are claimed in lanes of their own, so a backlog of either does not
 * hold up the other (decisions 031 and 036); a new template has to be placed here.
 */
export const MAIL_AWAITED: Record<MailTemplateName, boolean> = {
  'confirm-email': true,
  'already-registered': true,
  'password-reset': true,
  'choose-password': true,
  'password-changed': false,
  'api-key-created': false,
  'api-key-rolled': false,
  'api-key-leaked': false,
};

/** An hour: see MAIL_PLACED_BEHIND_SECONDS. */
const BEHIND_AN_HOUR = 3600;

/**
 * How long after the moment it is queued a mail takes its place in its lane, in seconds: its order
 * only, never when it may leave (a lane with nothing ahead sends it at once). The notices of an API
 * key's creation and roll, which every account may cause thirty times an hour, go behind an hour
 * of the other notices, so that a flood of them from many accounts cannot hold back an owner's
 * password-changed or leaked-key notice, the ones that say someone else may hold the account or a
 * key. Being a time, the place still bounds the wait: no notice is overtaken by more than an hour's
 * worth of others (decision 041). A new template has to be placed here.
 */
export const MAIL_PLACED_BEHIND_SECONDS: Record<MailTemplateName, number> = {
  'confirm-email': 0,
  'already-registered': 0,
  'password-reset': 0,
  'choose-password': 0,
  'password-changed': 0,
  'api-key-created': BEHIND_AN_HOUR,
  'api-key-rolled': BEHIND_AN_HOUR,
  'api-key-leaked': 0,
};

/** A mail ready for a transport: what is stored in the outbox and what is sent. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface OutgoingMail extends RenderedMail {
  to: string;
}
