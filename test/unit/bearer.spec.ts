import { bearerCredential } from '../../src/common/auth/bearer';

describe('bearerCredential', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer atiru_key', 'atiru_key'],
    ['BEARER x', 'x'],
    ['bEaReR x', 'x'],
    ['Bearer   x', 'x'],
    ['Bearer\tx', 'x'],
    ['Bearer \t x', 'x'],
  ])('reads the credential of "%s"', (header, credential) => {
    expect(bearerCredential(header)).toBe(credential);
  });

  it.each([
    [undefined],
    [''],
    ['Bearer'],
    ['Bearer '],
    ['Bearer \t'],
    ['Bearerx'],
    ['Bearerx y'],
    ['Bearer two words'],
    ['Bearer two\twords'],
    ['Basic dXNlcjpwYXNz'],
    ['Token abc'],
    ['Bearre abc'],
    [' Bearer abc'],
  ])('reads no credential in %p', (header) => {
    expect(bearerCredential(header)).toBeUndefined();
  });
});
