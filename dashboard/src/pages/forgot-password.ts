import { api, settle } from '../api';
import { h } from '../dom';
import { remembered } from '../state';
import { card, explain, field, link, messageArea, onSubmit } from '../ui';

export function forgotPasswordPage() {
  const email = field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true, value: remembered.email });
  const messages = messageArea();
  const form = h('form', { novalidate: true }, email.element, messages.element, h('button', { type: 'submit', class: 'button primary block' }, 'Send reset link'));
  onSubmit(form, async () => {
    messages.clear();
    const address = email.input.value.trim();
    const result = await settle(api.POST('/auth/forgot-password', { body: { email: address } }));
    if (!result.ok) return messages.show('error', ...explain(result.failure));
    remembered.email = address;
    messages.show('success', 'If an account uses ', h('strong', null, address), ', we sent it a link to choose a new password. The link works once and for a limited time.');
  });
  return card('Forgot your password?', h('p', { class: 'lead' }, 'Enter your email and we will send you a link to choose a new one.'), form, h('p', { class: 'aside' }, 'Remembered it? ', link('sign-in', 'Sign in')));
}
