import { createHash } from 'node:crypto';

/**
 * The page the confirmation link opens. Opening it changes nothing; its button posts the token to
 * POST /auth/confirm-link, which confirms and redirects to the landing. Mail gateways and link
 * scanners open links, they do not submit forms, so a registration is confirmed only by a person
 * who reads the mail and chooses to (decision 022).
 *
 * The page is served by this service, not the dashboard, so that a `redirect_to` elsewhere keeps
 * working without that site learning a new step. It has no script and one inline style, allowed
 * by its hash; its address carries the token, so it sends no Referer.
 */
const STYLE = [
  'body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f5f6f8}',
  'main{max-width:28rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}',
  'h1{font-size:1.4rem;margin:0 0 1rem}',
  'button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;border-radius:8px;background:#2456d3;color:#fff;cursor:pointer}',
  'button:focus-visible{outline:3px solid #93b4ff;outline-offset:2px}',
  '.aside{color:#57606a;font-size:.9rem;margin-top:1.5rem}',
].join('');

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** Where the page's form posts, relative to the page at `…/auth/confirm`, so it holds behind a path prefix too. */
export const CONFIRMATION_FORM_ACTION = 'confirm-link';

export interface ConfirmationPage {
  html: string;
  headers: Record<string, string>;
}

/**
 * The page for one link. `landings` are where pressing its button may end up: the form may lead
 * there (browsers hold a form's redirects to `form-action` too), and nowhere else.
 */
export function confirmationPage({ email, token, landings }: { email: string; token: string; landings: string[] }): ConfirmationPage {
  const formTargets = ["'self'", ...new Set(landings.map((landing) => new URL(landing).origin))].join(' ');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Confirm your email for Atiru</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Confirm your email</h1>
<p>Confirm <strong>${escapeHtml(email)}</strong> as the address of your Atiru account.</p>
<form method="post" action="${CONFIRMATION_FORM_ACTION}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Confirm my email</button>
</form>
<p class="aside">Did not sign up for Atiru? Close this page: nothing happens unless you press the button.</p>
</main>
</body>
</html>
`;
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`,
      'referrer-policy': 'no-referrer',
    },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
