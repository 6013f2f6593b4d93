import { CachedUser } from '../../src/users/cached-user';

describe('CachedUser', () => {
  const user = {
    id: '11111111-1111-4111-8111-111111111111',
    email: 'ada@example.com',
    emailConfirmedAt: new Date('2026-01-02T03:04:05.678Z'),
    createdAt: new Date('2026-01-01T00:00:00.001Z'),
    updatedAt: new Date('2026-01-03T00:00:00.999Z'),
  };

  it('answers the same user, its times to the millisecond', () => {
    const cached = CachedUser.of(user);
    expect({ id: cached.id, email: cached.email, emailConfirmedAt: cached.emailConfirmedAt, createdAt: cached.createdAt, updatedAt: cached.updatedAt }).toEqual(user);
    expect(CachedUser.of({ ...user, emailConfirmedAt: null }).emailConfirmedAt).toBeNull();
  });

  it('hands out a new Date on every read, so a handler cannot change what the next request sees', () => {
    const cached = CachedUser.of(user);
    cached.createdAt.setFullYear(1999);
    expect(cached.createdAt.toISOString()).toBe('2026-01-01T00:00:00.001Z');
    expect(cached.createdAt).not.toBe(cached.createdAt);
  });
});
