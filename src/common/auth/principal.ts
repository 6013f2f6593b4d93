/** The user as the guard resolved it: what protected handlers need, never the password hash. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  emailConfirmedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Who is calling, set by the combined guard on every protected request. */
export interface Principal {
  user: AuthenticatedUser;
  method: 'jwt' | 'api_key';
  session_id?: string;
  api_key_id?: string;
}
