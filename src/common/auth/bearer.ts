/** `bearer`, the scheme of `Authorization: Bearer <credential>`, in lower case. */
const SCHEME = 'bearer';
const SPACE = 0x20;
const TAB = 0x09;
/** The bit that tells an ASCII letter's lower case from its upper case. */
const LOWER_CASE = 0x20;

/**
 * The credential of `Authorization: Bearer <credential>`, or undefined for any other header: the
 * scheme in any case (RFC 9110 §11.1), then spaces or tabs, then one run of characters without
 * a space or tab to the end (Node has trimmed the value's own leading and trailing white space).
 * `Bearer`, `Bearer two words` and `Basic x` carry none.
 *
 * The one reading of the header for the guard, both strategies that take a Bearer value (JWT and
 * API key) and the metrics, so they cannot disagree on what a request carries. It runs on every
 * authenticated request, so the scheme is read character by character and the credential searched
 * for white space natively: a regular expression match would make an array, and a loop in
 * JavaScript would walk a JWT's few hundred characters one by one.
 */
export function bearerCredential(header: string | undefined): string | undefined {
  if (header === undefined || header.length <= SCHEME.length + 1) return undefined;
  for (let at = 0; at < SCHEME.length; at++) {
    if ((header.charCodeAt(at) | LOWER_CASE) !== SCHEME.charCodeAt(at)) return undefined;
  }
  let at = SCHEME.length;
  let code = header.charCodeAt(at);
  if (code !== SPACE && code !== TAB) return undefined;
  do code = header.charCodeAt(++at);
  while (code === SPACE || code === TAB);
  if (at === header.length) return undefined;
  const credential = header.slice(at);
  // Node's parser refuses every other control character in a header value, so a space or a tab
  // is all that can split what follows the scheme into two words.
  return credential.indexOf(' ') === -1 && credential.indexOf('\t') === -1 ? credential : undefined;
}
