import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'Message' })
export class MessageResponseDto {
  @ApiProperty({ example: 'If an account exists for this email, a message is on its way.' })
  message: string;
}
