import { h } from '../dom';
import { PageContext } from '../router';
import { card, link } from '../ui';
import { resendForm } from './check-email';

/**
 * Where the mailed confirmation link lands: success, success without a password
 * (`?choose_password=1`: the address was registered more than once, and a link to choose one was
 * mailed), or `?error=…&error_code=…` (`RATE_LIMITED`: the link was opened too often).
 */
export function confirmedPage({ query }: PageContext) {
  const error = query.get('error');
  if (error === null && query.get('choose_password') !== null) {
    return card(
      'Your email is confirmed',
      h(
        'div',
        { class: 'notice notice-info', role: 'status' },
        'Your address is confirmed. Because it was registered more than once, choose your password from the link we just sent.',
      ),
      h('p', { class: 'aside' }, 'No email? ', link('forgot-password', 'Send a new link')),
    );
  }
  if (error === null) {
    return card('Your email is confirmed', h('p', { class: 'lead' }, 'Thanks. Your account is ready.'), h('p', null, link('sign-in', 'Sign in', { class: 'button primary' })));
  }
  const busy = query.get('error_code') === 'SERVER_BUSY';
  if (query.get('error_code') === 'RATE_LIMITED') {
    return card(
      'This link did not work',
      h('div', { class: 'notice notice-error', role: 'alert' }, 'This link was opened too many times in a short while. Open it from your email again in a few minutes.'),
      h('p', { class: 'aside' }, 'Confirmed already? ', link('sign-in', 'Sign in')),
    );
  }
  return card(
    'This link did not work',
    h(
      'div',
      { class: 'notice notice-error', role: 'alert' },
      busy ? 'The service was busy and could not confirm your email. Open the link from your email again in a moment.' : 'The confirmation link has expired or was already used.',
    ),
    busy ? null : h('p', null, 'Enter your email and we will send a new link if the address is waiting for confirmation.'),
    busy ? null : resendForm('Send a new link', 'If that address is waiting for confirmation, a new link is on its way. It can take a minute to arrive.'),
    h('p', { class: 'aside' }, 'Confirmed already? ', link('sign-in', 'Sign in')),
  );
}
