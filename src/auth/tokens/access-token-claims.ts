/** The claims of an access token (a JWT signed with ES256, `kid` in its header). */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  /** The user id. */
  sub: string;
  email: string;
  /** The session id. */
  sid: string;
  iat: number;
  exp: number;
}
