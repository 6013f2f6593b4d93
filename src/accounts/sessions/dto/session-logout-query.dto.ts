import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

export const LOGOUT_SCOPES = ['local', 'others', 'global'] as const;
export type LogoutScope = (typeof LOGOUT_SCOPES)[number];

export class SessionLogoutQueryDto {
  @ApiPropertyOptional({
    enum: LOGOUT_SCOPES,
    default: 'local',
    description: '`local`: this session; `others`: every session of the user but this one; `global`: every session of the user',
  })
  @IsOptional()
  @IsIn(LOGOUT_SCOPES)
  scope?: LogoutScope;
}
