import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** GitHub's feedback format: one label per reported token. */
@ApiSchema({ name: 'SecretScanningLabel', description: 'Whether a reported token is one of our keys (revoked at once if it still worked)' })
export class LeakReportLabelDto {
  @ApiProperty({ description: 'The token as reported', example: 'atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe' })
  token_raw: string;

  @ApiProperty({ description: 'The type as reported', example: 'atiru_api_key' })
  token_type: string;

  @ApiProperty({
    enum: ['true_positive', 'false_positive'],
    description: '`true_positive`: a key this service issued, whether it still worked, had ended or was deleted since; `false_positive`: anything else',
    example: 'true_positive',
  })
  label: 'true_positive' | 'false_positive';
}
