import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../common/auth/auth-policy.decorator';
import { CORS_VARY } from '../../common/http/cors';
import { JwksResponseDto } from './dto/jwks-response.dto';
import { SigningKeyRing } from './signing-key.ring';
import { JWKS_MAX_AGE_SECONDS } from './signing-keys.service';

@ApiTags('service')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeyRing) {}

  @Get('jwks.json')
  @Public()
  // Short, so verifiers see a rotated-in key soon; it signs only once copies older than it have
  // expired (NEW_KEY_SIGNS_AFTER_MS). Verifiers should also re-fetch on an unknown kid.
  @Header('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  // Kept by caches, unlike the no-store API responses, so one copy per origin (see CORS_VARY).
  @Header('Vary', CORS_VARY.vary)
  @ApiOperation({
    summary: 'Public keys that verify access tokens',
    description:
      'A JSON Web Key Set (RFC 7517) with every key that verifies access tokens: the signing key, a rotated-in key from the moment ' +
      'it is added (it starts signing only once copies of this set cached before it have expired), and rotated-out keys until the ' +
      'tokens they signed have expired, unless they were retired at once (a compromised key): then they leave it at once, and a copy ' +
      'cached before must be fetched again. Other services verify tokens with it (ES256, the key named by the `kid` header).',
  })
  @ApiOkResponse({ type: JwksResponseDto, description: 'The key set' })
  getJwks(): JwksResponseDto {
    return this.keys.jwks();
  }
}
