import { api, Failure } from '../api';
import type { components } from '../../../client/atiru-api';
import { Child, h, replace } from '../dom';
import { formatAgo, formatDate, formatDateTime } from '../format';
import { authed } from '../session';
import { button, explain, field, messageArea, onSubmit } from '../ui';

type ApiKey = components['schemas']['ApiKey'];
type NewApiKey = components['schemas']['NewApiKey'];

export async function keysPage() {
  const list = h('div', { class: 'key-list' });
  const created = h('div');
  const messages = messageArea();

  const reload = async () => {
    const result = await authed((headers) => api.GET('/auth/api-keys', { headers }));
    if (!result.ok) return replace(list, failureNotice(result.failure));
    replace(list, keyTable(result.data.api_keys, reload, messages));
  };

  const name = field({ label: 'Name', name: 'name', required: true, maxlength: 100, hint: 'What uses it, so you know which key to revoke later: "CI deploys", "billing script".' });
  const expires = field({ label: 'Expires on (optional)', name: 'expires', type: 'date', hint: 'The key stops working at the end of this day. Leave empty for a key that does not expire.' });
  expires.input.min = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const createMessages = messageArea();
  const form = h('form', { class: 'create-key', novalidate: true }, h('h2', null, 'Create a key'), h('div', { class: 'row' }, name.element, expires.element), createMessages.element, h('button', { type: 'submit', class: 'button primary' }, 'Create key'));
  onSubmit(form, async () => {
    createMessages.clear();
    if (!name.input.value.trim()) {
      createMessages.show('error', 'Give the key a name.');
      name.input.focus();
      return;
    }
    // The end of the chosen day where the person is.
    const expiresAt = expires.input.value ? new Date(`${expires.input.value}T23:59:59`).toISOString() : null;
    const result = await authed((headers) => api.POST('/auth/api-keys', { headers, body: { name: name.input.value.trim(), expires_at: expiresAt } }));
    if (!result.ok) return createMessages.show('error', ...explain(result.failure));
    form.reset();
    replace(created, newKeyPanel(result.data, () => replace(created)));
    created.querySelector<HTMLElement>('h2')?.focus();
    await reload();
  });

  await reload();
  return [
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'API keys'), h('p', { class: 'lead' }, 'Keys let your scripts, CI jobs and servers call the Atiru API as you. Keep them secret, like a password.')),
    created,
    h('section', { class: 'card' }, form),
    h('section', { class: 'card', 'aria-labelledby': 'keys-title' }, h('h2', { id: 'keys-title', tabindex: -1 }, 'Your keys'), messages.element, list),
  ];
}

function newKeyPanel(key: NewApiKey, done: () => void): Child {
  const curl = `curl -H "X-Api-Key: ${key.key}" ${window.location.origin}/users/me`;
  const keyId = 'new-key-value';
  return h(
    'section',
    { class: 'card new-key', 'aria-labelledby': 'new-key-title' },
    h('h2', { id: 'new-key-title', tabindex: -1 }, `Your new key${key.name ? ` “${key.name}”` : ''}`),
    h('div', { class: 'notice notice-warning' }, h('strong', null, 'Copy it now: it will not be shown again. '), 'We store only a fingerprint of it. Anyone who has the key can call the API as you; if it leaks, revoke it.'),
    h('div', { class: 'field' }, h('label', { for: keyId }, 'API key'), h('div', { class: 'copy-row' }, h('input', { id: keyId, class: 'mono', readonly: true, value: key.key, spellcheck: 'false', autocomplete: 'off' }), copyButton(key.key, 'Copy key'))),
    h('div', { class: 'field' }, h('span', { class: 'label', id: 'curl-label' }, 'Try it'), h('div', { class: 'copy-row' }, h('pre', { class: 'code', 'aria-labelledby': 'curl-label', tabindex: 0 }, h('code', null, curl)), copyButton(curl, 'Copy command'))),
    button("I've copied it", { class: 'button', onclick: done }),
  );
}

function copyButton(text: string, label: string): HTMLButtonElement {
  const copy = button(label, {
    onclick: () => {
      void navigator.clipboard.writeText(text).then(
        () => (copy.textContent = 'Copied'),
        () => (copy.textContent = 'Select and copy it'),
      );
      setTimeout(() => (copy.textContent = label), 2000);
    },
  });
  copy.setAttribute('aria-live', 'polite');
  return copy;
}

function keyTable(keys: ApiKey[], reload: () => Promise<void>, messages: ReturnType<typeof messageArea>): Child {
  if (keys.length === 0) return h('p', { class: 'empty' }, 'No keys yet. Create one above.');
  return h(
    'table',
    { class: 'table' },
    h('thead', null, h('tr', null, ['Name', 'Key', 'Created', 'Last used', 'Expires'].map((title) => h('th', { scope: 'col' }, title)), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    h(
      'tbody',
      null,
      keys.map((key) => keyRow(key, reload, messages)),
    ),
  );
}

function keyRow(key: ApiKey, reload: () => Promise<void>, messages: ReturnType<typeof messageArea>): HTMLTableRowElement {
  const label = key.name ?? key.key_prefix;
  const actions = h('td', { class: 'actions' });
  const askFirst = () => {
    const confirmButton = button('Revoke', { class: 'button danger', 'aria-label': `Revoke ${label} now` });
    const cancel = button('Cancel', { class: 'button' });
    confirmButton.addEventListener('click', async () => {
      confirmButton.disabled = true;
      const result = await authed((headers) => api.DELETE('/auth/api-keys/{id}', { headers, params: { path: { id: key.id } } }));
      if (!result.ok) {
        confirmButton.disabled = false;
        messages.show('error', ...explain(result.failure));
        return;
      }
      messages.show('success', `The key ${label} is revoked. Anything still using it is refused from now on.`);
      await reload();
      // The row and its buttons are gone: keep the keyboard in the list.
      document.getElementById('keys-title')?.focus();
    });
    cancel.addEventListener('click', () => {
      replace(actions, revoke);
      revoke.focus();
    });
    replace(actions, h('div', { class: 'confirm', role: 'group', 'aria-label': `Revoke ${label}?` }, h('span', null, 'Revoke it? Anything using it stops working at once.'), h('span', { class: 'buttons' }, confirmButton, cancel)));
    confirmButton.focus();
  };
  const revoke = button('Revoke', { class: 'button danger-outline', 'aria-label': `Revoke ${label}`, onclick: askFirst });
  actions.append(revoke);
  return h(
    'tr',
    null,
    h('td', { 'data-label': 'Name' }, key.name ?? h('span', { class: 'muted' }, 'Unnamed')),
    h('td', { 'data-label': 'Key' }, h('code', null, `${key.key_prefix}…`)),
    h('td', { 'data-label': 'Created' }, h('time', { datetime: key.created_at, title: formatDateTime(key.created_at) }, formatDate(key.created_at))),
    h('td', { 'data-label': 'Last used' }, key.last_used_at ? h('time', { datetime: key.last_used_at, title: formatDateTime(key.last_used_at) }, formatAgo(key.last_used_at)) : h('span', { class: 'muted' }, 'Never')),
    h('td', { 'data-label': 'Expires' }, key.expires_at ? h('time', { datetime: key.expires_at, title: formatDateTime(key.expires_at) }, formatDate(key.expires_at)) : h('span', { class: 'muted' }, 'Never')),
    actions,
  );
}

export function failureNotice(failure: Failure): Child {
  return h('div', { class: 'notice notice-error', role: 'alert' }, ...explain(failure));
}
