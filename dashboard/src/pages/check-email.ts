import { api, settle } from '../api';
import { h } from '../dom';
import { remembered } from '../state';
import { button, card, explain, field, link, messageArea } from '../ui';

/** Asks for another confirmation link; the answer is the same whether or not the address waits for one. */
export function resendForm(submitText: string, sentText: string) {
  const email = field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true, value: remembered.email });
  const messages = messageArea();
  const form = h('form', { novalidate: true }, email.element, messages.element, h('button', { type: 'submit', class: 'button' }, submitText));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void resend(email.input.value.trim(), form, messages, sentText);
  });
  return form;
}

export async function resend(email: string, form: HTMLElement, messages: ReturnType<typeof messageArea>, sentText: string): Promise<void> {
  const submit = form.querySelector<HTMLButtonElement>('button[type="submit"], button.resend');
  if (submit) submit.disabled = true;
  messages.clear();
  const result = await settle(api.POST('/auth/resend-confirmation', { body: { email } }));
  if (submit) submit.disabled = false;
  if (!result.ok) return messages.show('error', ...explain(result.failure));
  remembered.email = email;
  messages.show('success', sentText);
}

export function checkEmailPage() {
  const sentText = 'We sent another link. It can take a minute to arrive; check your spam folder too.';
  if (!remembered.email) {
    return card('Check your email', h('p', null, 'Open the link we emailed you to confirm your address. No mail? Send a new link:'), resendForm('Send a new link', sentText));
  }
  const messages = messageArea();
  const section = h('div');
  const again = button('Send the link again', { class: 'button resend', onclick: () => void resend(remembered.email, section, messages, sentText) });
  section.append(messages.element, again);
  return card(
    'Check your email',
    h('p', { class: 'lead' }, 'We sent a confirmation link to ', h('strong', null, remembered.email), '.'),
    h('p', null, 'Open it to confirm your address, then sign in. The link works once and for a limited time.'),
    section,
    h('p', { class: 'aside' }, 'Wrong address? ', link('sign-up', 'Sign up again'), ' · Already confirmed? ', link('sign-in', 'Sign in')),
  );
}
