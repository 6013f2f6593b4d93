import { AuthenticatedUser } from '../common/auth/principal';
import { UserProfileResponseDto } from './dto/user-profile-response.dto';

export function toUserProfileResponse(user: AuthenticatedUser): UserProfileResponseDto {
  return {
    id: user.id,
    email: user.email,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    email_confirmed_at: user.emailConfirmedAt?.toISOString() ?? null,
  };
}

/**
 * Bodies already rendered, by user object. Cached users are frozen and replaced (never changed)
 * when their row changes, so a body is rendered once per cached user, and goes with its user.
 */
const renderedProfiles = new WeakMap<AuthenticatedUser, string>();

/**
 * The user's profile as a JSON body. `GET /users/me` answers it on every authenticated call, and
 * formatting three dates and serialising the object each time was a visible share of the
 * request: it is rendered once per cached user instead.
 */
export function renderUserProfile(user: AuthenticatedUser): string {
  let body = renderedProfiles.get(user);
  if (body === undefined) {
    body = JSON.stringify(toUserProfileResponse(user));
    renderedProfiles.set(user, body);
  }
  return body;
}
