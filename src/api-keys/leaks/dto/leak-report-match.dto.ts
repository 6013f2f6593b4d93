import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

/**
 * One match in a report of GitHub's secret-scanning partner program. Open to fields GitHub may
 * add: a report is refused only when a field this service reads is missing or of the wrong type.
 */
@ApiSchema({ name: 'SecretScanningMatch', description: 'A token GitHub secret scanning found in public (its partner-program format)' })
export class LeakReportMatchDto {
  @ApiProperty({ description: 'The value found', example: 'atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe' })
  token: string;

  @ApiProperty({ description: 'The secret type GitHub matched, as registered with it', example: 'atiru_api_key' })
  type: string;

  @ApiProperty({ description: 'Where it was found (may be empty)', example: 'https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/deploy.sh' })
  url: string;

  @ApiPropertyOptional({ description: 'What it was found in: content, commit, issue_comment, gist_content, npm…', example: 'content' })
  source?: string;
}
