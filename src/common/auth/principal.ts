/** The user as the guard resolved it: what protected handlers need, never the password hash. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  emailConfirmedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A request the combined guard let through, as a protected handler takes it:
 * `handler(@Req() { user: principal }: AuthenticatedRequest)`.
 *
 * Read from the request with `@Req()`, not with a custom parameter decorator: Nest passes every
 * custom parameter through the global pipes (the ValidationPipe), a chain of promises per request
 * that showed in `GET /users/me`'s CPU profile, while `@Req()` is handed over as it is.
 */
export interface AuthenticatedRequest {
  readonly user: Principal;
}

/** Who is calling, set by the combined guard on every protected request. */
export interface Principal {
  user: AuthenticatedUser;
  method: 'jwt' | 'api_key';
  session_id?: string;
  api_key_id?: string;
  /** API keys only: the scopes the key is limited to. Undefined: no limit (a JWT, or a key made without scopes). */
  scopes?: readonly string[];
  /** When the credential was issued (a JWT's `iat`, a key's creation), epoch seconds: what introspection answers. */
  issued_at?: number;
  /** When it stops working, epoch seconds; undefined for a key that does not expire. */
  expires_at?: number;
}
