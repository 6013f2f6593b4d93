import { RedirectAllowList } from '../../../src/accounts/redirects/redirect-allow-list';

describe('RedirectAllowList', () => {
  const list = new RedirectAllowList(['https://app.atiru.dev', 'http://localhost:5173', 'https://*.atiru.test']);
  const allowed = (url: string) => list.match(url) !== null;

  it.each([
    'https://app.atiru.dev',
    'https://app.atiru.dev/',
    'https://app.atiru.dev/welcome?x=1#top',
    'https://APP.Atiru.DEV/welcome',
    'https://app.atiru.dev:443/welcome',
    'http://localhost:5173/after-confirm',
    'https://eu.atiru.test/welcome',
    'https://xn--bcher-kva.atiru.test/',
    'https://a-1.atiru.test',
  ])('allows %s', (url) => {
    expect(allowed(url)).toBe(true);
  });

  it.each([
    ['another host', 'https://evil.example/welcome'],
    ['a look-alike suffix', 'https://app.atiru.dev.evil.example/'],
    ['a look-alike prefix', 'https://evilapp.atiru.dev/'],
    ['a subdomain of an exact origin', 'https://x.app.atiru.dev/'],
    ['another scheme', 'http://app.atiru.dev/welcome'],
    ['another port', 'https://app.atiru.dev:8443/welcome'],
    ['another port on localhost', 'http://localhost:5174/'],
    ['the bare domain of a pattern', 'https://atiru.test/'],
    ['two labels under a pattern', 'https://a.b.atiru.test/'],
    ['a pattern with the wrong scheme', 'http://eu.atiru.test/'],
    ['credentials that make the host look ours', 'https://app.atiru.dev@evil.example/'],
    ['credentials on an allowed host', 'https://user:pw@app.atiru.dev/'],
    ['javascript:', 'javascript:alert(1)//https://app.atiru.dev'],
    ['data:', 'data:text/html,https://app.atiru.dev'],
    ['a relative path', '/welcome'],
    ['a protocol-relative URL', '//app.atiru.dev/welcome'],
    ['a scheme without slashes', 'https:app.atiru.dev/welcome'],
    ['not a URL', 'not a url'],
    ['an empty string', ''],
  ])('refuses %s', (_why, url) => {
    expect(allowed(url)).toBe(false);
  });

  it('answers the parsed URL, normalised', () => {
    expect(list.match('https://APP.atiru.dev/Welcome?a=1')?.toString()).toBe('https://app.atiru.dev/Welcome?a=1');
  });

  it('allows nothing when the list is empty', () => {
    expect(new RedirectAllowList([]).match('https://app.atiru.dev/')).toBeNull();
  });

  it.each(['app.atiru.dev', 'ftp://files.atiru.dev', 'https://app.atiru.dev/path', 'https://*.*.atiru.dev', 'https://a*.atiru.dev', 'https://*'])(
    'refuses the configuration entry %s at start',
    (entry) => {
      expect(() => new RedirectAllowList([entry])).toThrow(/REDIRECT_ALLOW_LIST/);
    },
  );
});
