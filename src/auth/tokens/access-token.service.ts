import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/** Placeholder until the auth core lands: the agreed signature, issuing an unsigned stand-in. */
@Injectable()
export class AccessTokenService {
  async issue(_user: { id: string; email: string }, _sessionId: string): Promise<{ access_token: string; expires_in: number; expires_at: number }> {
    const expiresIn = 3600;
    return { access_token: randomBytes(32).toString('base64url'), expires_in: expiresIn, expires_at: Math.floor(Date.now() / 1000) + expiresIn };
  }
}
