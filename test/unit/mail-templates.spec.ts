import { MailMessage } from '../../src/mail/mail-message';
import { escapeHtml, formatDuration, renderMail } from '../../src/mail/mail-templates';

const settings = { confirmTtlSeconds: 24 * 3600, resetTtlSeconds: 3600 };

/** Every link a message carries, by template. */
function linksOf(message: MailMessage): string[] {
  return message.template === 'already-registered' ? [message.login_link, message.reset_link] : [message.link];
}

const messages: MailMessage[] = [
  { template: 'confirm-email', to: 'ada@example.com', link: 'https://auth.atiru.test/auth/confirm?token=abc123&x=1' },
  {
    template: 'already-registered',
    to: 'ada@example.com',
    login_link: 'https://app.atiru.test/login?email=ada%40example.com&from=mail',
    reset_link: 'https://app.atiru.test/forgot-password?next=/keys&lang=en',
  },
  { template: 'password-reset', to: 'ada@example.com', link: 'https://app.atiru.test/reset?token=def456&r=2' },
  { template: 'password-changed', to: 'ada@example.com', link: 'https://app.atiru.test/?from=notice&x=1', signed_out: 'all', at: new Date('2026-12-04T23:01:02.345Z'), ip: '203.0.113.9', user_agent: 'Mozilla/5.0 <Test>' },
  {
    template: 'api-key-created',
    to: 'ada@example.com',
    link: 'https://app.atiru.test/keys?from=notice&x=1',
    name: 'deploy "prod" <key>',
    key_prefix: 'atiru_Ab3d',
    at: new Date('2026-12-04T23:01:02.345Z'),
    ip: null,
    user_agent: null,
  },
  {
    template: 'api-key-rolled',
    to: 'ada@example.com',
    link: 'https://app.atiru.test/keys?from=notice&x=2',
    name: 'deploy "prod" <key>',
    key_prefix: 'atiru_Ab3d',
    new_key_prefix: 'atiru_Zz9q',
    old_key_ends_at: new Date('2026-12-05T23:01:02.345Z'),
    at: new Date('2026-12-04T23:01:02.345Z'),
    ip: '203.0.113.9',
    user_agent: 'curl/8.5',
  },
  {
    template: 'api-key-leaked',
    to: 'ada@example.com',
    link: 'https://app.atiru.test/keys?from=leak&x=1',
    name: 'CI <deploys>',
    key_prefix: 'atiru_Ab3d',
    at: new Date('2026-12-05T22:15:07.123Z'),
    found_at: [
      { url: 'https://github.com/octocat/Hello-World/blob/1234/deploy.sh?a=<b>', source: 'content' },
      { url: '', source: null },
    ],
  },
  { template: 'choose-password', to: 'ada@example.com', link: 'https://app.atiru.test/reset?token=ghi789&r=3' },
];

describe('mail templates', () => {
  it.each(messages.map((message) => [message.template, message] as const))('%s: every link is a plain URL in the text and an escaped href in the HTML', (_name, message) => {
    const mail = renderMail(message, settings);
    expect(mail.subject.length).toBeGreaterThan(5);
    for (const link of linksOf(message)) {
      expect(mail.text).toContain(`\n${link}\n`);
      expect(mail.html).toContain(`href="${link.replace(/&/g, '&amp;')}"`);
      // Every raw & in the HTML is part of an entity.
      expect(mail.html).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
    }
    expect(mail.text).toContain('Atiru');
    expect(mail.html).toContain('Atiru');
  });

  it('escapes interpolated values that could break out of the HTML', () => {
    const hostile = 'https://app.atiru.test/confirm?t="><script>alert(1)</script>&q=\'x\'';
    const mail = renderMail({ template: 'confirm-email', to: 'ada@example.com', link: hostile }, settings);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('?t="');
    expect(mail.html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;q=&#39;x&#39;');
    expect(mail.text).toContain(hostile);
  });

  it('says how long the confirmation and reset links last, from the configured lifetimes', () => {
    expect(renderMail(messages[0], settings).text).toContain('expires in 24 hours');
    expect(renderMail(messages[0], { ...settings, confirmTtlSeconds: 2 * 3600 }).html).toContain('expires in 2 hours');
    expect(renderMail(messages[2], settings).text).toContain('expires in 1 hour ');
    expect(renderMail(messages[2], { ...settings, resetTtlSeconds: 1800 }).text).toContain('expires in 30 minutes');
  });

  it('tells the owner of an existing account that someone tried to register, and what to do', () => {
    const mail = renderMail(messages[1], settings);
    expect(mail.subject).toBe('Someone tried to sign up with your email');
    expect(mail.text).toMatch(/tried to create an Atiru account with this email address/);
    expect(mail.text).toMatch(/If it was not you, ignore this email/);
  });

  it('tells the owner of an address registered more than once that it is confirmed, why it has no password, and how long the link lasts', () => {
    const mail = renderMail(messages[messages.length - 1], settings);
    expect(mail.subject).toBe('Choose your Atiru password');
    expect(mail.text).toContain('registered more than once');
    expect(mail.text).toContain('This link expires in 1 hour and works once.');
  });

  it('tells the owner when, from where and with what their password was changed, and what to do if it was not them', () => {
    const mail = renderMail(messages[3], settings);
    expect(mail.subject).toBe('Your Atiru password was changed');
    expect(mail.text).toContain('When: 2026-12-04 23:01:02 UTC\nIP address: 203.0.113.9\nBrowser or app: Mozilla/5.0 <Test>');
    expect(mail.text).toMatch(/If it was not you, someone else can read your email or had your reset link/);
    expect(mail.html).toContain('When: 2026-12-04 23:01:02 UTC<br>IP address: 203.0.113.9<br>Browser or app: Mozilla/5.0 &lt;Test&gt;');
  });

  it("says after a reset how many API keys still work, or that they were revoked, and links the keys' page", () => {
    const reset = messages[3] as Extract<MailMessage, { template: 'password-changed' }>;
    const link = 'https://app.atiru.test/keys?from=notice';
    const kept = renderMail({ ...reset, api_keys: { active: 1, link } }, settings);
    expect(kept.text).toContain('1 API key of the account still works: a password reset does not revoke keys.');
    expect(kept.text).toContain(`revoke any you do not recognise:\n\nGo to your API keys:\n${link}\n`);
    expect(kept.html).toContain(`href="${link.replace('&', '&amp;')}"`);
    expect(renderMail({ ...reset, api_keys: { active: 3, link } }, settings).text).toContain('3 API keys of the account still work:');
    expect(renderMail({ ...reset, api_keys: { active: 0, link } }, settings).text).toContain('The account has no API keys that still work.');
    const revoked = renderMail({ ...reset, api_keys: { revoked: 1, link } }, settings);
    expect(revoked.text).toContain('As you asked, 1 API key of the account was revoked too, and stopped working at once.');
    expect(revoked.text).toContain(`on the API keys page:\n\nGo to your API keys:\n${link}\n`);
    expect(renderMail({ ...reset, api_keys: { revoked: 0, link } }, settings).text).toContain('You asked to revoke the API keys of the account too: it had none.');
    // A change from a session says nothing of keys: it was made from inside the account.
    expect(renderMail(reset, settings).text).not.toContain('API key');
  });

  it('says which sessions a password change logged out, and what to do if it was not them', () => {
    const changed = renderMail({ ...(messages[3] as Extract<MailMessage, { template: 'password-changed' }>), signed_out: 'others' }, settings);
    expect(changed.text).toContain('changed from one of its sessions, and every other session was logged out.');
    expect(changed.text).toMatch(/If it was not you, someone was signed in to your account and knew its password/);
    expect(renderMail(messages[3], settings).text).toContain('and every session of the account was logged out.');
  });

  it('names a new API key by name and prefix, says unknown for a missing IP or user agent, and what to do if it was not them', () => {
    const mail = renderMail(messages[4], settings);
    expect(mail.subject).toBe('A new API key was created on your Atiru account');
    expect(mail.text).toContain('"deploy "prod" <key>", starting with atiru_Ab3d.');
    expect(mail.text).toContain('IP address: unknown\nBrowser or app: unknown');
    expect(mail.text).toMatch(/If it was not you, someone has access to your account: log in, revoke the key, change your password/);
    expect(mail.html).toContain('&quot;deploy &quot;prod&quot; &lt;key&gt;&quot;');
    expect(renderMail({ ...messages[4], name: null } as MailMessage, settings).text).toContain('(no name), starting with atiru_Ab3d.');
  });

  it('tells the owner of a leaked key that it was revoked, where it was found, and what to do', () => {
    const mail = renderMail(messages[6], settings);
    expect(mail.subject).toBe('Your Atiru API key was found in public and has been revoked');
    expect(mail.text).toContain('Your API key "CI <deploys>", starting with atiru_Ab3d, was found in a public place');
    expect(mail.text).toContain('it stopped working on 2026-12-05 22:15:07 UTC.');
    expect(mail.text).toContain('Where it was found:\nhttps://github.com/octocat/Hello-World/blob/1234/deploy.sh?a=<b> (content)\n(no address given)\n');
    expect(mail.text).toMatch(/create a new key, put it wherever the old one was used/);
    // A reported address is text, never a link, and escaped in the HTML.
    expect(mail.html).toContain('deploy.sh?a=&lt;b&gt; (content)<br>(no address given)');
    expect(mail.html).not.toContain('href="https://github.com');
  });

  it('refuses a link that is not an absolute http(s) URL, without echoing it', () => {
    for (const link of ['javascript:alert(1)', '/relative/path?token=secret', 'not a url']) {
      expect(() => renderMail({ template: 'password-reset', to: 'ada@example.com', link }, settings)).toThrow('mail link must be an absolute http(s) URL');
    }
    expect(() => renderMail({ ...messages[1], reset_link: 'ftp://x.test/?token=secret' } as MailMessage, settings)).toThrow(/reset_link/);
  });

  it('escapes the five HTML-significant characters and formats durations', () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
    expect([86_400, 3600, 7200, 5400, 1800, 60].map(formatDuration)).toEqual(['24 hours', '1 hour', '2 hours', '90 minutes', '30 minutes', '1 minute']);
  });
});
