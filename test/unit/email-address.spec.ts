import { normalizeEmail } from '../../src/common/email-address';

describe('normalizeEmail', () => {
  it('trims and lower-cases a plain address, and leaves it otherwise as it is', () => {
    expect(normalizeEmail('  Ada.Lovelace+x@Example.COM ')).toBe('ada.lovelace+x@example.com');
  });

  it('writes an internationalised domain in one form, whether given in Unicode, in punycode or in capitals', () => {
    for (const given of ['ada@bücher.example', 'ada@xn--bcher-kva.example', 'ADA@BÜCHER.EXAMPLE', 'ada@XN--BCHER-KVA.example', 'ada@bu\u0308cher.example']) {
      expect([given, normalizeEmail(given)]).toEqual([given, 'ada@bücher.example']);
    }
    // A label in punycode beside plain ones, and a domain in fullwidth letters, which DNS resolves as ASCII.
    expect(normalizeEmail('ada@mail.xn--bcher-kva.example')).toBe('ada@mail.bücher.example');
    expect(normalizeEmail('ada@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com')).toBe('ada@example.com');
  });

  it('maps the domain only: the local part keeps its characters, and an address without a host name is left to the validator', () => {
    expect(normalizeEmail('JOSÉ@xn--bcher-kva.example')).toBe('josé@bücher.example');
    expect(normalizeEmail('ada@[127.0.0.1]')).toBe('ada@[127.0.0.1]');
    expect(normalizeEmail('ada@exa mple.com')).toBe('ada@exa mple.com');
    expect(normalizeEmail('not-an-address')).toBe('not-an-address');
  });
});
