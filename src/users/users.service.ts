import { Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '../common/auth/principal';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /** The user an authenticated request acts as, or null when the account no longer exists. */
  findAuthenticatedUser(id: string): Promise<AuthenticatedUser | null> {
    return this.users.findAuthenticatedById(id);
  }
}
