import type { components } from '../../../client/atiru-api';
import { api } from '../api';
import { Child, h, replace } from '../dom';
import { describeDevice, formatAgo, formatDateTime } from '../format';
import { PageContext } from '../router';
import { authed, signOut } from '../session';
import { button, explain, field, messageArea, newPasswordField, onSubmit, signOutFailed } from '../ui';
import { failureNotice } from './keys';

type SessionInfo = components['schemas']['ActiveSession'];

export async function accountPage({ go }: PageContext) {
  const profile = h('div');
  let email = '';
  const me = await authed((headers) => api.GET('/users/me', { headers }));
  // The session is over and the person is on their way to sign-in.
  if (!me.ok && me.failure.status === 401) return [];
  if (!me.ok) replace(profile, failureNotice(me.failure));
  else {
    const confirmed = me.data.email_confirmed_at;
    email = me.data.email;
    replace(profile, h('dl', { class: 'facts' }, h('dt', null, 'Email'), h('dd', null, me.data.email), h('dt', null, 'Confirmed'), h('dd', null, confirmed ? formatDateTime(confirmed) : 'Not yet')));
  }

  const sessions = h('div');
  const sessionMessages = messageArea();
  const loadSessions = async () => {
    const result = await authed((headers) => api.GET('/auth/sessions', { headers }));
    if (!result.ok) return replace(sessions, failureNotice(result.failure));
    // This device first, then the others as the service orders them (most recently active first).
    const ordered = [...result.data.sessions].sort((a, b) => Number(b.current) - Number(a.current));
    replace(sessions, sessionList(ordered, loadSessions, sessionMessages, go));
    everywhereElse.hidden = ordered.length < 2;
  };
  const everywhereElse = button('Sign out everywhere else', {
    class: 'button',
    onclick: async () => {
      const result = await signOut('others');
      if (!result.ok) return sessionMessages.show('error', ...explain(result.failure));
      sessionMessages.show('success', 'Every other session is signed out.');
      await loadSessions();
    },
  });
  await loadSessions();

  return [
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Account')),
    h('section', { class: 'card', 'aria-labelledby': 'profile-title' }, h('h2', { id: 'profile-title' }, 'Profile'), profile),
    h('section', { class: 'card', 'aria-labelledby': 'password-title' }, h('h2', { id: 'password-title' }, 'Change password'), changePasswordForm(email, loadSessions)),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'sessions-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'sessions-title', tabindex: -1 }, 'Sessions'), everywhereElse),
      h('p', { class: 'hint' }, 'Where your account is signed in. Sign out a session you do not recognise, then change your password.'),
      sessionMessages.element,
      sessions,
    ),
  ];
}

function changePasswordForm(email: string, changed: () => Promise<void>): Child {
  const current = field({ label: 'Current password', name: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = newPasswordField('New password');
  const messages = messageArea();
  // For password managers: which account the new password belongs to.
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', value: email, hidden: true, readonly: true, tabindex: -1, 'aria-hidden': 'true' });
  const form = h('form', { novalidate: true }, username, current.element, next.element, messages.element, h('button', { type: 'submit', class: 'button primary' }, 'Change password'));
  onSubmit(form, async () => {
    messages.clear();
    const result = await authed((headers) => api.POST('/auth/password', { headers, body: { current_password: current.input.value, new_password: next.input.value } }));
    if (!result.ok) {
      if (result.failure.code === 'INVALID_CREDENTIALS') {
        messages.show('error', 'Your current password is not right.');
        current.input.select();
      } else messages.show('error', ...explain(result.failure));
      return;
    }
    form.reset();
    // The rules list follows the emptied field.
    next.input.dispatchEvent(new Event('input'));
    messages.show('success', 'Your password is changed. Every other session was signed out, and we emailed you a notice.');
    await changed();
  });
  return form;
}

function sessionList(sessions: SessionInfo[], reload: () => Promise<void>, messages: ReturnType<typeof messageArea>, go: PageContext['go']): Child {
  return h(
    'ul',
    { class: 'sessions' },
    sessions.map((session) => {
      const device = describeDevice(session.user_agent);
      const end = button('Sign out', {
        class: 'button danger-outline',
        'aria-label': session.current ? 'Sign out of this device' : `Sign out ${device}, last active ${formatAgo(session.last_active_at)}`,
        onclick: async () => {
          if (session.current) {
            const result = await signOut();
            if (result.ok) return go('sign-in', { flash: 'You are signed out.' });
            // A refused token: the session had ended already, and the person is on the way to sign-in.
            if (result.failure.status !== 401) messages.show('error', ...signOutFailed(result.failure));
            return;
          }
          const result = await authed((headers) => api.DELETE('/auth/sessions/{id}', { headers, params: { path: { id: session.id } } }));
          if (!result.ok) return messages.show('error', ...explain(result.failure));
          messages.show('success', `${device} is signed out.`);
          await reload();
          document.getElementById('sessions-title')?.focus();
        },
      });
      return h(
        'li',
        { class: session.current ? 'session current' : 'session' },
        h(
          'div',
          { class: 'session-main' },
          h('div', { class: 'device' }, device, session.current ? h('span', { class: 'badge' }, 'This device') : null),
          h('div', { class: 'ua muted' }, session.user_agent ?? 'No user agent sent'),
          h(
            'div',
            { class: 'meta' },
            h('span', null, 'IP ', session.ip ?? 'unknown'),
            h('span', null, 'Last active ', h('time', { datetime: session.last_active_at, title: formatDateTime(session.last_active_at) }, formatAgo(session.last_active_at))),
            h('span', null, 'Signed in ', formatDateTime(session.created_at)),
          ),
        ),
        end,
      );
    }),
  );
}
