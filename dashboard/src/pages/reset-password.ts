import { api, settle } from '../api';
import { h, uid } from '../dom';
import { forget } from '../session';
import { card, explain, link, messageArea, newPasswordField, onSubmit } from '../ui';

let token: string | null = null;

/**
 * Takes the reset token out of the address at once, so it stays out of the history, bookmarks and
 * screenshots; the page keeps it in memory. No Referer carries it anywhere either: the page has
 * `<meta name="referrer" content="no-referrer">` and the service sends `Referrer-Policy: no-referrer`.
 */
export function takeResetToken(): void {
  const url = new URL(window.location.href);
  const found = url.searchParams.get('token');
  if (found === null) return;
  token = found;
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search);
}

export function resetPasswordPage() {
  if (!token) {
    return card(
      'Choose a new password',
      h('p', null, 'This page needs the link from your password reset email. Open the link again, or ask for a new one.'),
      h('p', null, link('forgot-password', 'Send me a new link', { class: 'button' })),
    );
  }
  const password = newPasswordField('New password');
  const revokeKeys = revokeApiKeysField();
  const messages = messageArea();
  const form = h(
    'form',
    { novalidate: true },
    password.element,
    revokeKeys.element,
    messages.element,
    h('button', { type: 'submit', class: 'button primary block' }, 'Set new password'),
  );
  const page = card('Choose a new password', form);
  onSubmit(form, async () => {
    messages.clear();
    const revoked = revokeKeys.input.checked;
    // Sent only when asked for: an instance of the previous release, met during a rolling update,
    // refuses a field it does not know.
    const body = { token: token ?? '', password: password.input.value, ...(revoked ? { revoke_api_keys: true } : {}) };
    const result = await settle(api.POST('/auth/reset-password', { body }));
    if (!result.ok) {
      if (result.failure.code === 'INVALID_OR_EXPIRED_TOKEN' || (result.failure.code === 'INVALID_REQUEST' && /token/i.test(result.failure.message))) {
        messages.show('error', 'This reset link has expired or was already used. ', link('forgot-password', 'Ask for a new link'), '.');
      } else {
        messages.show('error', ...explain(result.failure));
      }
      return;
    }
    token = null;
    // The reset ended every session, this browser's included.
    forget();
    page.replaceWith(
      card(
        'Your password is changed',
        h(
          'div',
          { class: 'notice notice-success', role: 'status' },
          revoked
            ? 'Every session of your account was signed out, on every device, and every API key was revoked.'
            : 'Every session of your account was signed out, on every device. Your API keys still work: the email we sent says how many.',
        ),
        h('p', null, 'Sign in with your new password.'),
        h('p', null, link('sign-in', 'Sign in', { class: 'button primary' })),
      ),
    );
  });
  return page;
}

/**
 * The choice to end the account's API keys with the reset. Off by default: scripts break when
 * keys go, and most resets are a forgotten password, not a takeover (decision 025).
 */
function revokeApiKeysField(): { element: HTMLElement; input: HTMLInputElement } {
  const id = uid('revoke-api-keys');
  const input = h('input', { id, name: 'revoke-api-keys', type: 'checkbox', 'aria-describedby': `${id}-hint` });
  const element = h(
    'div',
    { class: 'field check' },
    h('label', { for: id }, input, 'Also revoke all my API keys'),
    h('div', { class: 'hint', id: `${id}-hint` }, 'If someone else may have been in your account: keys they created outlive a reset. Scripts using your keys stop working.'),
  );
  return { element, input };
}
