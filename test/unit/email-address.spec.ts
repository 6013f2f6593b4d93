import { domainToUnicode } from 'node:url';
import { inboxOf, normalizeEmail } from '../../src/common/email-address';

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

  it('maps the domain as a browser does, before lower-casing: a final capital sigma is a sigma, as a URL host', () => {
    // Lower-cased first, a final capital sigma would be the final form (ς), another domain.
    expect(normalizeEmail('a@\u039f\u03a3.example')).toBe('a@\u03bf\u03c3.example');
    // The capital sharp s maps as the WHATWG URL parser of this Node maps it: ss on Node 20, ß on Node 24, whose tables are newer.
    expect(normalizeEmail('a@STRA\u1e9eE.example')).toBe(`a@${domainToUnicode(new URL('http://STRA\u1e9eE.example/').hostname)}`);
    // Distinct domains under the current rules stay distinct.
    expect(new Set(['a@straße.example', 'a@strasse.example'].map(normalizeEmail)).size).toBe(2);
  });

  it('answers, for every character in a domain, a form that lower-casing and a second pass leave as it is, as the database compares it', () => {
    const unstable: string[] = [];
    for (let code = 0xa0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const once = normalizeEmail(`a@x${String.fromCodePoint(code)}y.example`);
      if (once.toLowerCase() !== once || normalizeEmail(once) !== once) unstable.push(code.toString(16));
    }
    expect(unstable).toEqual([]);
  });

  it('maps the domain only: the local part keeps its characters, and a domain that is no host name is left to the validator', () => {
    expect(normalizeEmail('JOSÉ@xn--bcher-kva.example')).toBe('josé@bücher.example');
    for (const unmapped of [
      'ada@[127.0.0.1]',
      'ada@exa mple.com',
      'not-an-address',
      // What a URL's host parser cuts or decodes: a path, a query, an escape.
      'v1@bücher.example/anything',
      'v2@example.com?ü',
      'v8@bücher%2eexample',
      // Fullwidth digits the host parser would read as an IPv4 address (127.0.0.1).
      'v9@\uff10x7f.1',
      // Longer than a host name may be, or a label whose ASCII form is: refused by the validator, and never mapped.
      `long@${'ü'.repeat(254)}.com`,
      `label@${'ü'.repeat(60)}.com`,
    ]) {
      expect([unmapped, normalizeEmail(unmapped)]).toEqual([unmapped, unmapped.toLowerCase()]);
    }
  });
});

describe('inboxOf', () => {
  it('takes the names one inbox has for one: the address in one form, without its sub-address', () => {
    for (const name of ['ada@example.com', ' ADA@Example.com', 'ada+news@example.com', 'Ada+News+2026@EXAMPLE.com', 'ada+@example.com']) {
      expect([name, inboxOf(name)]).toEqual([name, 'ada@example.com']);
    }
    expect(inboxOf('ada+x@xn--bcher-kva.example')).toBe('ada@bücher.example');
  });

  it("reads Gmail's rules at Gmail only: dots in the local part are ignored, and googlemail.com is gmail.com", () => {
    for (const name of ['ada.lovelace@gmail.com', 'adalovelace@gmail.com', 'a.d.a.l.o.v.e.l.a.c.e+x@googlemail.com', 'Ada.Lovelace@GMAIL.COM']) {
      expect([name, inboxOf(name)]).toEqual([name, 'adalovelace@gmail.com']);
    }
    expect(inboxOf('ada.lovelace@example.com')).toBe('ada.lovelace@example.com');
  });

  it('leaves a local part that a plus begins, and anything without an @, as one form of itself', () => {
    expect(inboxOf('+ada@example.com')).toBe('+ada@example.com');
    expect(inboxOf('Not An Address')).toBe('not an address');
  });
});
