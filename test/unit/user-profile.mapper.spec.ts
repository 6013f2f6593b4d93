import { AuthenticatedUser } from '../../src/common/auth/principal';
import { toUserProfileResponse } from '../../src/users/user-profile.mapper';

const user = (email: string, confirmedAt: Date | null): AuthenticatedUser => ({
  id: '11111111-1111-4111-8111-111111111111',
  email,
  emailConfirmedAt: confirmedAt,
  createdAt: new Date('2024-01-01T00:00:00.000Z'),
  updatedAt: new Date('2024-02-01T00:00:00.000Z'),
});

describe('toUserProfileResponse', () => {
  it('answers the wire form, built once per user object', () => {
    const ada = user('ada@example.com', null);
    const profile = toUserProfileResponse(ada);
    expect(profile).toEqual({
      id: ada.id,
      email: 'ada@example.com',
      created_at: '2024-01-01T00:00:00.000Z',
      updated_at: '2024-02-01T00:00:00.000Z',
      email_confirmed_at: null,
    });
    expect(toUserProfileResponse(ada)).toBe(profile);
    expect(Object.isFrozen(profile)).toBe(true);
  });

  it('follows a changed user, which arrives as a new object', () => {
    const before = toUserProfileResponse(user('ada@example.com', null));
    const after = toUserProfileResponse(user('ada@new.example.com', new Date('2024-03-01T00:00:00.000Z')));
    expect(before.email).toBe('ada@example.com');
    expect(after).toMatchObject({ email: 'ada@new.example.com', email_confirmed_at: '2024-03-01T00:00:00.000Z' });
  });
});
