import { api, Failure } from '../api';
import type { components } from '../../../client/atiru-api';
import { Child, h, replace } from '../dom';
import { formatAgo, formatDate, formatDateTime } from '../format';
import { authed } from '../session';
import { button, explain, field, messageArea, onSubmit } from '../ui';

type ApiKey = components['schemas']['ApiKey'];
type NewApiKey = components['schemas']['NewApiKey'];
type ApiKeyUsage = components['schemas']['ApiKeyUsage'];

/** What a row needs from its page: to reload the list, to say what happened, to show a key's usage below the list. */
interface RowActions {
  reload: () => Promise<void>;
  messages: ReturnType<typeof messageArea>;
  showUsage: (key: ApiKey, opener: HTMLButtonElement) => Promise<void>;
}

export async function keysPage() {
  const list = h('div', { class: 'key-list' });
  const created = h('div');
  const messages = messageArea();
  const usage = h('div', { id: 'key-usage' });
  let usageOf: string | null = null;

  const showUsage = async (key: ApiKey, opener: HTMLButtonElement) => {
    const closing = usageOf === key.id;
    list.querySelectorAll('button[aria-controls="key-usage"]').forEach((other) => other.setAttribute('aria-expanded', 'false'));
    replace(usage);
    usageOf = closing ? null : key.id;
    if (closing) return;
    opener.setAttribute('aria-expanded', 'true');
    const result = await authed((headers) => api.GET('/auth/api-keys/{id}/usage', { headers, params: { path: { id: key.id } } }));
    // Another key's usage was asked for meanwhile.
    if (usageOf !== key.id) return;
    replace(usage, result.ok ? usagePanel(key, result.data) : failureNotice(result.failure));
    usage.querySelector<HTMLElement>('h3')?.focus();
  };

  const reload = async () => {
    const result = await authed((headers) => api.GET('/auth/api-keys', { headers }));
    usageOf = null;
    replace(usage);
    if (!result.ok) return replace(list, failureNotice(result.failure));
    replace(list, keyTable(result.data.api_keys, { reload, messages, showUsage }));
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
    h('section', { class: 'card', 'aria-labelledby': 'keys-title' }, h('h2', { id: 'keys-title', tabindex: -1 }, 'Your keys'), messages.element, list, usage),
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

function keyTable(keys: ApiKey[], rowActions: RowActions): Child {
  if (keys.length === 0) return h('p', { class: 'empty' }, 'No keys yet. Create one above.');
  return h(
    'table',
    { class: 'table' },
    h('thead', null, h('tr', null, ['Name', 'Key', 'Created', 'Last used', 'Expires'].map((title) => h('th', { scope: 'col' }, title)), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    h(
      'tbody',
      null,
      keys.map((key) => keyRow(key, rowActions)),
    ),
  );
}

function keyRow(key: ApiKey, { reload, messages, showUsage }: RowActions): HTMLTableRowElement {
  const label = key.name ?? key.key_prefix;
  const actions = h('td', { class: 'actions' });
  const usage: HTMLButtonElement = button('Usage', { 'aria-label': `Usage of ${label}`, 'aria-controls': 'key-usage', 'aria-expanded': 'false', onclick: () => void showUsage(key, usage) });
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
      replace(actions, buttons);
      revoke.focus();
    });
    replace(actions, h('div', { class: 'confirm', role: 'group', 'aria-label': `Revoke ${label}?` }, h('span', null, 'Revoke it? Anything using it stops working at once.'), h('span', { class: 'buttons' }, confirmButton, cancel)));
    confirmButton.focus();
  };
  const revoke = button('Revoke', { class: 'button danger-outline', 'aria-label': `Revoke ${label}`, onclick: askFirst });
  const buttons = h('span', { class: 'buttons' }, usage, revoke);
  actions.append(buttons);
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

/** The key's last use and its days with requests, newest first, with totals. */
function usagePanel(key: ApiKey, usage: ApiKeyUsage): Child {
  const label = key.name ?? `${key.key_prefix}…`;
  const lastUse = usage.last_used_at
    ? h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Last used'),
        h('dd', null, h('time', { datetime: usage.last_used_at }, formatDateTime(usage.last_used_at)), ` (${formatAgo(usage.last_used_at)})`),
        h('dt', null, 'From IP'),
        h('dd', null, usage.last_used_ip ?? h('span', { class: 'muted' }, 'Unknown')),
        h('dt', null, 'User agent'),
        h('dd', null, usage.last_used_user_agent ? h('code', null, usage.last_used_user_agent) : h('span', { class: 'muted' }, 'None sent')),
      )
    : h('p', { class: 'empty' }, 'Not used yet.');
  const days = [...usage.days].reverse();
  const total = (count: 'succeeded' | 'refused') => days.reduce((sum, day) => sum + day[count], 0);
  const perDay =
    days.length === 0
      ? h('p', { class: 'empty' }, 'No requests in the last 90 days.')
      : h(
          'table',
          { class: 'table compact' },
          h('caption', { class: 'visually-hidden' }, `Requests with ${label} per UTC day, newest first`),
          h('thead', null, h('tr', null, ['Day (UTC)', 'Succeeded', 'Refused'].map((title) => h('th', { scope: 'col' }, title)))),
          h('tbody', null, days.map((day) => h('tr', null, h('th', { scope: 'row' }, h('time', { datetime: day.day }, day.day)), h('td', null, day.succeeded), h('td', null, day.refused)))),
          h('tfoot', null, h('tr', null, h('th', { scope: 'row' }, 'Total'), h('td', null, total('succeeded')), h('td', null, total('refused')))),
        );
  return h(
    'section',
    { class: 'usage', 'aria-labelledby': 'key-usage-title' },
    h('h3', { id: 'key-usage-title', tabindex: -1 }, `Usage of ${label}`),
    lastUse,
    h('h4', null, `Requests since ${usage.since}`),
    perDay,
    h('p', { class: 'hint' }, 'Uses are counted in batches, so the last minute may not show yet. Refused: over a rate limit, or an operation the key may not call.'),
  );
}

export function failureNotice(failure: Failure): Child {
  return h('div', { class: 'notice notice-error', role: 'alert' }, ...explain(failure));
}
