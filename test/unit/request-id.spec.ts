import { randomBytes } from 'node:crypto';
import { requestIdGenerator } from '../../src/common/http/request-id';

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestIdGenerator', () => {
  it('makes RFC 9562 version-8 UUIDs, counting up behind one random prefix', () => {
    const next = requestIdGenerator();
    const ids = Array.from({ length: 1000 }, next);
    for (const id of ids) expect(id).toMatch(UUID_V8);
    expect(new Set(ids).size).toBe(1000);
    expect(new Set(ids.map((id) => id.slice(0, 24))).size).toBe(1);
    expect(ids[0].slice(24)).toBe('000000000000');
    expect(ids[999].slice(24)).toBe((999).toString(16).padStart(12, '0'));
  });

  it('draws a different prefix for each process (each generator)', () => {
    const first = requestIdGenerator()();
    const second = requestIdGenerator()();
    expect(first.slice(0, 24)).not.toBe(second.slice(0, 24));
  });

  it('keeps the version and variant bits whatever the random bytes are', () => {
    for (const fill of [0x00, 0xff, 0x5a]) {
      expect(requestIdGenerator((size) => Buffer.alloc(size, fill))()).toMatch(UUID_V8);
    }
    expect(requestIdGenerator(randomBytes)()).toMatch(UUID_V8);
  });
});
