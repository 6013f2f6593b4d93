import { Controller, Get, Header, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../common/auth/principal';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { UserProfileResponseDto } from './dto/user-profile-response.dto';
import { renderUserProfile } from './user-profile.mapper';

@ApiTags('users')
@Controller('users')
export class UsersController {
  @Get('me')
  // Said rather than left to the default (GET needs `read`), as every route of Atiru's may.
  @Authenticated({ scopes: ['read'] })
  // The body is JSON rendered once per cached user (renderUserProfile), sent as it is.
  @Header('Content-Type', 'application/json; charset=utf-8')
  @ApiOperation({
    summary: 'The calling user',
    description: 'The account behind the credential: a session access token (JWT) or an API key, in either header.',
  })
  @ApiOkResponse({ type: UserProfileResponseDto, description: 'The calling user' })
  @ApiResponse({ status: 503, description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
  getCurrentUser(@Req() { user: principal }: AuthenticatedRequest): string {
    return renderUserProfile(principal.user);
  }
}
