import { ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { BodyMayBeEmpty } from '../../common/http/validation.pipe';

/** The most a rolled key may keep working: a week, time enough for any deploy to pick up the new one. */
export const MAX_ROLL_GRACE_SECONDS = 7 * 86_400;
/** When the caller does not say: a day. */
export const DEFAULT_ROLL_GRACE_SECONDS = 86_400;

@ApiSchema({ name: 'ApiKeyRollRequest' })
@BodyMayBeEmpty()
export class ApiKeyRollDto {
  @ApiPropertyOptional({
    description: `How long the old key keeps working, in seconds (0 to ${MAX_ROLL_GRACE_SECONDS}, default ${DEFAULT_ROLL_GRACE_SECONDS}: a day). 0 revokes it at once.`,
    minimum: 0,
    maximum: MAX_ROLL_GRACE_SECONDS,
    default: DEFAULT_ROLL_GRACE_SECONDS,
    example: 3600,
    type: Number,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_ROLL_GRACE_SECONDS)
  grace_period_seconds?: number;
}
