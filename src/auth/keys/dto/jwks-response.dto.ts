import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'Jwk', description: 'A public key (JWK, RFC 7517)' })
export class JwkDto {
  @ApiProperty({ enum: ['EC'], example: 'EC' })
  kty: 'EC';

  @ApiProperty({ enum: ['P-256'], example: 'P-256' })
  crv: 'P-256';

  @ApiProperty({ description: 'The public point x coordinate, base64url', example: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU' })
  x: string;

  @ApiProperty({ description: 'The public point y coordinate, base64url', example: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' })
  y: string;

  @ApiProperty({
    description: 'Key id (RFC 7638 thumbprint); access tokens name it in their `kid` header',
    example: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
  })
  kid: string;

  @ApiProperty({ enum: ['ES256'], example: 'ES256' })
  alg: 'ES256';

  @ApiProperty({ enum: ['sig'], example: 'sig' })
  use: 'sig';
}

@ApiSchema({ name: 'JwkSet', description: 'A JSON Web Key Set (RFC 7517)' })
export class JwksResponseDto {
  @ApiProperty({
    type: [JwkDto],
    description: 'The key that signs new tokens, any rotated-in key that will, and any rotated-out key whose tokens have not expired yet',
  })
  keys: JwkDto[];
}
