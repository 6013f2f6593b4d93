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
