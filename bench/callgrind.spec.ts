import { readTotal } from './callgrind';

describe('reading a callgrind dump', () => {
  it('takes the instructions of every thread from the totals line', () => {
    const dump = ['version: 1', 'creator: callgrind-3.19.0', 'events: Ir', '', 'fn=(1) main', '16 3', '', 'totals: 520141521', ''].join('\n');
    expect(readTotal(dump)).toBe(520_141_521);
  });

  it('takes the summary line where a dump has no totals line', () => {
    expect(readTotal('events: Ir\nsummary: 114102415\n')).toBe(114_102_415);
  });

  it('refuses a dump without either, rather than counting nothing', () => {
    expect(() => readTotal('events: Ir\nfn=(1) main\n16 3\n')).toThrow('no totals line');
  });
});
