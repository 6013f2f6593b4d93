import { Controller, Get, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AnsweredFromPrincipal } from '../common/auth/answered-from-principal';
import { AuthenticatedRequest, Principal } from '../common/auth/principal';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { UserProfileResponseDto } from './dto/user-profile-response.dto';
import { renderUserProfile } from './user-profile.mapper';

@ApiTags('users')
@Controller('users')
export class UsersController {
  @Get('me')
  // A JWT or an API key; answered without Nest's pipeline when the guard knows the credential.
  @AnsweredFromPrincipal(renderCaller)
  @ApiOperation({
    summary: 'The calling user',
    description: 'The account behind the credential: a session access token (JWT) or an API key, in either header.',
  })
  @ApiOkResponse({ type: UserProfileResponseDto, description: 'The calling user' })
  @ApiResponse({ status: 503, description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
  getCurrentUser(@Req() { user: principal }: AuthenticatedRequest): string {
    return renderCaller(principal);
  }
}

/** The caller's profile: JSON rendered once per cached user (renderUserProfile), sent as it is. */
function renderCaller(principal: Principal): string {
  return renderUserProfile(principal.user);
}
