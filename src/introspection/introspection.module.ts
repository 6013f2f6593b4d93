import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { IntrospectionController } from './introspection.controller';
import { IntrospectionService } from './introspection.service';

/** RFC 7662 token introspection, over the guard's own strategies (AuthModule's AppPassport). */
@Module({
  imports: [AuthModule],
  controllers: [IntrospectionController],
  providers: [IntrospectionService],
})
export class IntrospectionModule {}
