import { AuthenticatedUser } from '../../src/common/auth/principal';
import { renderUserProfile, toUserProfileResponse } from '../../src/users/user-profile.mapper';

const user = (email: string, confirmedAt: Date | null): AuthenticatedUser => ({
  id: '11111111-1111-4111-8111-111111111111',
  email,
  emailConfirmedAt: confirmedAt,
  createdAt: new Date('2024-01-01T00:00:00.000Z'),
  updatedAt: new Date('2024-02-01T00:00:00.000Z'),
});

describe('user profile', () => {
  afterEach(() => jest.restoreAllMocks());

  it('answers the wire form', () => {
    const ada = user('ada@example.com', null);
    expect(toUserProfileResponse(ada)).toEqual({
      id: ada.id,
      email: 'ada@example.com',
      created_at: '2024-01-01T00:00:00.000Z',
      updated_at: '2024-02-01T00:00:00.000Z',
      email_confirmed_at: null,
    });
  });

  it('renders the wire form as JSON once per user object', () => {
    const ada = user('ada@example.com', null);
    const stringify = jest.spyOn(JSON, 'stringify');
    const body = renderUserProfile(ada);
    expect(JSON.parse(body)).toEqual(toUserProfileResponse(ada));
    expect(renderUserProfile(ada)).toBe(body);
    expect(stringify).toHaveBeenCalledTimes(1);
  });

  it('follows a changed user, which arrives as a new object', () => {
    const before = JSON.parse(renderUserProfile(user('ada@example.com', null)));
    const after = JSON.parse(renderUserProfile(user('ada@new.example.com', new Date('2024-03-01T00:00:00.000Z'))));
    expect(before).toMatchObject({ email: 'ada@example.com', email_confirmed_at: null });
    expect(after).toMatchObject({ email: 'ada@new.example.com', email_confirmed_at: '2024-03-01T00:00:00.000Z' });
  });
});
