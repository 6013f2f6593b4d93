import { AuthenticatedUser } from '../common/auth/principal';
import { UserProfileResponseDto } from './dto/user-profile-response.dto';

/**
 * Profiles already built, by user object. Cached users are frozen and replaced (never changed)
 * when their row changes, so a profile is built once per cached user instead of formatting three
 * dates on every `GET /users/me`; it goes with its user.
 */
const profiles = new WeakMap<AuthenticatedUser, Readonly<UserProfileResponseDto>>();

export function toUserProfileResponse(user: AuthenticatedUser): UserProfileResponseDto {
  let profile = profiles.get(user);
  if (profile === undefined) {
    profile = Object.freeze({
      id: user.id,
      email: user.email,
      created_at: user.createdAt.toISOString(),
      updated_at: user.updatedAt.toISOString(),
      email_confirmed_at: user.emailConfirmedAt?.toISOString() ?? null,
    });
    profiles.set(user, profile);
  }
  return profile;
}
