import { Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '../common/auth/principal';
import { UsersRepository } from './users.repository';

/** Placeholder until the auth core's UsersService lands on main (same method, same answer). */
@Injectable()
export class UsersService {
  constructor(private readonly repository: UsersRepository) {}

  async findAuthenticatedUser(id: string): Promise<AuthenticatedUser | null> {
    const user = await this.repository.findById(id);
    if (!user) return null;
    return { id: user.id, email: user.email, emailConfirmedAt: user.emailConfirmedAt, createdAt: user.createdAt, updatedAt: user.updatedAt };
  }
}
