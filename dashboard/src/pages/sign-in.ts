import { h } from '../dom';
import { PageContext } from '../router';
import { signIn } from '../session';
import { remembered } from '../state';
import { button, card, explain, field, link, messageArea, onSubmit } from '../ui';
import { resend } from './check-email';

export function signInPage({ go, flash }: PageContext) {
  const email = field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'username', required: true, value: remembered.email });
  const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const messages = messageArea();
  if (flash) messages.show('info', flash);
  const form = h(
    'form',
    { novalidate: true },
    email.element,
    password.element,
    h('p', { class: 'field-aside' }, link('forgot-password', 'Forgot your password?')),
    messages.element,
    h('button', { type: 'submit', class: 'button primary block' }, 'Sign in'),
  );
  onSubmit(form, async () => {
    messages.clear();
    const address = email.input.value.trim();
    remembered.email = address;
    const result = await signIn(address, password.input.value);
    if (result.ok) return go('keys');
    switch (result.failure.code) {
      case 'INVALID_CREDENTIALS':
        messages.show('error', 'That email and password do not match an account. Check both and try again.');
        password.input.select();
        return;
      case 'EMAIL_NOT_VERIFIED': {
        const area = h('div');
        const sent = messageArea();
        area.append(
          h('p', null, 'Confirm your email address first: open the link we sent to ', h('strong', null, address), '.'),
          h('p', null, button('Send a new link', { class: 'button resend', onclick: () => void resend(address, area, sent, 'A new confirmation link is on its way.') })),
          sent.element,
        );
        messages.show('error', area);
        return;
      }
      case 'RATE_LIMITED':
        messages.show('error', ...explain(result.failure), ' This protects your account from password guessing.');
        return;
      default:
        messages.show('error', ...explain(result.failure));
    }
  });
  return card('Sign in to Atiru', form, h('p', { class: 'aside' }, 'New here? ', link('sign-up', 'Create an account')));
}
