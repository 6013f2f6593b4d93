import { MailMessage, RenderedMail, SecurityEventDetails } from './mail-message';

/** What the words of the mails depend on besides the message itself. */
export interface MailTemplateSettings {
  confirmTtlSeconds: number;
  resetTtlSeconds: number;
}

/** A paragraph, or a link shown as a button in HTML and as a bare URL in text. */
type Block = string | { label: string; url: string };

interface Draft {
  subject: string;
  blocks: Block[];
}

/** Renders a message into the subject, text and HTML that are stored in the outbox and sent. */
export function renderMail(message: MailMessage, settings: MailTemplateSettings): RenderedMail {
  return compose(draft(message, settings));
}

function draft(message: MailMessage, settings: MailTemplateSettings): Draft {
  switch (message.template) {
    case 'confirm-email':
      return {
        subject: 'Confirm your email for Atiru',
        blocks: [
          'Welcome to Atiru! Please confirm your email address to finish setting up your account.',
          { label: 'Confirm my email', url: checkedUrl(message.link, 'link') },
          `This link expires in ${formatDuration(settings.confirmTtlSeconds)}. If you did not sign up for Atiru, you can ignore this email.`,
        ],
      };
    case 'already-registered':
      return {
        subject: 'Someone tried to sign up with your email',
        blocks: [
          'Someone just tried to create an Atiru account with this email address, but you already have one.',
          'If it was you, log in here:',
          { label: 'Log in to Atiru', url: checkedUrl(message.login_link, 'login_link') },
          'Forgot your password? Reset it here:',
          { label: 'Reset my password', url: checkedUrl(message.reset_link, 'reset_link') },
          'If it was not you, ignore this email: nothing has changed on your account.',
        ],
      };
    case 'password-reset':
      return {
        subject: 'Reset your Atiru password',
        blocks: [
          'We received a request to reset the password of your Atiru account.',
          { label: 'Choose a new password', url: checkedUrl(message.link, 'link') },
          `This link expires in ${formatDuration(settings.resetTtlSeconds)} and works once. If you did not ask for it, ignore this email: your password stays the same.`,
        ],
      };
    case 'choose-password':
      return {
        subject: 'Choose your Atiru password',
        blocks: [
          'Your email address is confirmed and your Atiru account is ready.',
          'This address was registered more than once before it was confirmed, and we cannot tell which registration was yours, so the account kept none of the passwords they were made with. Choose your password here:',
          { label: 'Choose my password', url: checkedUrl(message.link, 'link') },
          `This link expires in ${formatDuration(settings.resetTtlSeconds)} and works once. After that, use "Forgot password" on the sign-in page. If you did not sign up for Atiru, ignore this email: nobody can log in to the account without choosing a password from a link sent to this address.`,
        ],
      };
    case 'password-changed': {
      // A reset came through the mailed link; a change came from a signed-in session.
      const byReset = message.signed_out === 'all';
      return {
        subject: 'Your Atiru password was changed',
        blocks: [
          byReset
            ? 'The password of your Atiru account was just changed, and every session of the account was logged out.'
            : 'The password of your Atiru account was just changed from one of its sessions, and every other session was logged out.',
          describeEvent(message),
          ...(message.api_keys ? apiKeysAfterReset(message.api_keys) : []),
          'If this was you, there is nothing else to do.',
          byReset
            ? 'If it was not you, someone else can read your email or had your reset link: secure your email account first, then choose a new password with "Forgot password" here, and contact Atiru support:'
            : 'If it was not you, someone was signed in to your account and knew its password: choose a new password with "Forgot password" here (which logs every session out), and contact Atiru support:',
          { label: 'Go to Atiru', url: checkedUrl(message.link, 'link') },
        ],
      };
    }
    case 'api-key-created':
      return {
        subject: 'A new API key was created on your Atiru account',
        blocks: [
          `A new API key was created on your Atiru account: ${keyName(message.name)}, starting with ${message.key_prefix}.`,
          describeEvent(message),
          'If this was you, there is nothing else to do.',
          'If it was not you, someone has access to your account: log in, revoke the key, change your password (which logs every session out) and contact Atiru support:',
          { label: 'Go to Atiru', url: checkedUrl(message.link, 'link') },
        ],
      };
    case 'api-key-rolled':
      return {
        subject: 'An API key was rolled on your Atiru account',
        blocks: [
          `Your API key ${keyName(message.name)}, starting with ${message.key_prefix}, was replaced by a new key starting with ${message.new_key_prefix}.`,
          message.old_key_ends_at === null
            ? 'The old key stopped working at once.'
            : `The old key keeps working until ${formatTime(message.old_key_ends_at)}, then stops: put the new key everywhere the old one is used before then.`,
          describeEvent(message),
          'If this was you, there is nothing else to do.',
          'If it was not you, someone has access to your account: log in, revoke both keys, change your password (which logs every session out) and contact Atiru support:',
          { label: 'Go to Atiru', url: checkedUrl(message.link, 'link') },
        ],
      };
    case 'api-key-leaked':
      return {
        subject: 'Your Atiru API key was found in public and has been revoked',
        blocks: [
          `Your API key ${keyName(message.name)}, starting with ${message.key_prefix}, was found in a public place and reported to us by GitHub secret scanning. Anyone who saw it could have used it, so we revoked it: it stopped working on ${formatTime(message.at)}.`,
          `Where it was found:\n${message.found_at.map((place) => `${place.url === '' ? '(no address given)' : place.url}${place.source ? ` (${place.source})` : ''}`).join('\n')}`,
          'What to do: create a new key, put it wherever the old one was used (keep it in a secret store, not in code), and remove the old key from where it was published, history included. Check what the key was used for lately on the API keys page:',
          { label: 'Go to Atiru', url: checkedUrl(message.link, 'link') },
        ],
      };
  }
}

/**
 * What a reset did to the account's API keys. Keys outlive sessions, and someone who was in the
 * account may have made some: the owner hears how many still work and where to review them.
 */
function apiKeysAfterReset(keys: { revoked: number; link: string } | { active: number; link: string }): Block[] {
  const page = { label: 'Go to your API keys', url: checkedUrl(keys.link, 'api_keys.link') };
  if ('revoked' in keys) {
    if (keys.revoked === 0) return ['You asked to revoke the API keys of the account too: it had none.'];
    return [
      `As you asked, ${plural(keys.revoked, 'API key')} of the account ${keys.revoked === 1 ? 'was' : 'were'} revoked too, and stopped working at once. Create new keys for your scripts and servers on the API keys page:`,
      page,
    ];
  }
  if (keys.active === 0) return ['The account has no API keys that still work.'];
  return [
    `${plural(keys.active, 'API key')} of the account still ${keys.active === 1 ? 'works' : 'work'}: a password reset does not revoke keys. Review them on the API keys page and revoke any you do not recognise:`,
    page,
  ];
}

/** An API key as a mail names it: its name in quotes, or that it has none. */
function keyName(name: string | null): string {
  return name === null ? '(no name)' : `"${name}"`;
}

/** A moment as the mails write it: `2026-12-05 23:01:02 UTC`. */
function formatTime(at: Date): string {
  return at.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

/** The when, where from and with what of a security notice, on one paragraph. */
function describeEvent(details: SecurityEventDetails): string {
  return [
    `When: ${formatTime(details.at)}`,
    `IP address: ${details.ip ?? 'unknown'}`,
    `Browser or app: ${details.user_agent ?? 'unknown'}`,
  ].join('\n');
}

const GREETING = 'Hi,';
const SIGNATURE = 'The Atiru team';

function compose({ subject, blocks }: Draft): RenderedMail {
  const text = [GREETING, ...blocks.map((block) => (typeof block === 'string' ? block : `${block.label}:\n${block.url}`)), `-- \n${SIGNATURE}`]
    .join('\n\n')
    .concat('\n');

  const body = [GREETING, ...blocks]
    .map((block) =>
      typeof block === 'string'
        ? `<p style="margin:0 0 16px">${escapeHtml(block).replace(/\n/g, '<br>')}</p>`
        : `<p style="margin:0 0 16px"><a href="${escapeHtml(block.url)}" style="display:inline-block;padding:10px 18px;border-radius:6px;background:#4f46e5;color:#ffffff;text-decoration:none;font-weight:600">${escapeHtml(block.label)}</a></p>` +
          `<p style="margin:0 0 16px;font-size:12px;color:#6b7280">Or open this link: <a href="${escapeHtml(block.url)}" style="color:#4f46e5;word-break:break-all">${escapeHtml(block.url)}</a></p>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f3f4f6;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#111827">
<div style="max-width:520px;margin:0 auto;padding:32px;background:#ffffff;border-radius:8px">
<p style="margin:0 0 24px;font-size:20px;font-weight:700;color:#4f46e5">Atiru</p>
${body}
<p style="margin:24px 0 0;color:#6b7280">${escapeHtml(SIGNATURE)}</p>
</div>
</body>
</html>
`;
  return { subject, text, html };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** "24 hours", "1 hour", "90 minutes". */
export function formatDuration(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  return plural(Math.max(1, Math.round(seconds / 60)), 'minute');
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** Links come from our own code; anything but an absolute http(s) URL is a bug, caught before the mail is stored. */
function checkedUrl(value: string, field: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(`mail ${field} must be an absolute http(s) URL`);
  }
  return value;
}
