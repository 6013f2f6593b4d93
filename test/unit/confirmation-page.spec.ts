import { createHash } from 'node:crypto';
import { confirmationPage } from '../../src/accounts/confirmation-page';

describe('the confirmation link\'s page', () => {
  const page = confirmationPage({
    email: 'a"<b>&\'c@example.com',
    token: 'T'.repeat(43),
    landings: ['https://app.example.com/welcome?from=mail', 'https://dash.example.com/dashboard/confirmed', 'https://app.example.com/other'],
  });
  const policy = page.headers['content-security-policy'];

  it('lets its form lead to this service and to each landing\'s origin, once each, and nowhere else', () => {
    expect(policy).toContain("form-action 'self' https://app.example.com https://dash.example.com;");
  });

  it('allows its one inline style by its hash, and no script at all', () => {
    const style = /<style>([^<]*)<\/style>/.exec(page.html)![1];
    expect(policy).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(policy).toMatch(/^default-src 'none';/);
    expect(page.html).not.toMatch(/<script|\son\w+=/i);
  });

  it('escapes the address and the token it shows', () => {
    expect(page.html).toContain('<strong>a&#34;&#60;b&#62;&#38;&#39;c@example.com</strong>');
    expect(page.html).toContain(`<input type="hidden" name="token" value="${'T'.repeat(43)}">`);
  });

  it('sends no Referer, since its address carries the token', () => {
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });
});
