import { api, settle } from '../api';
import { h } from '../dom';
import { PageContext } from '../router';
import { remembered } from '../state';
import { card, explain, field, link, messageArea, newPasswordField, onSubmit } from '../ui';

export function signUpPage({ go }: PageContext) {
  const email = field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true, value: remembered.email });
  const password = newPasswordField('Password', 'password');
  const messages = messageArea();
  const form = h('form', { novalidate: true }, email.element, password.element, messages.element, h('button', { type: 'submit', class: 'button primary block' }, 'Create account'));
  onSubmit(form, async () => {
    messages.clear();
    const result = await settle(api.POST('/auth/register', { body: { email: email.input.value.trim(), password: password.input.value } }));
    if (!result.ok) return messages.show('error', ...explain(result.failure));
    remembered.email = email.input.value.trim();
    go('check-email');
  });
  return card('Create your account', h('p', { class: 'lead' }, 'Sign up to create API keys for the Atiru API.'), form, h('p', { class: 'aside' }, 'Already have an account? ', link('sign-in', 'Sign in')));
}
