import { Failure } from './api';
import { Child, h, Props, replace, uid } from './dom';
import { formatWait } from './format';

export interface Field {
  element: HTMLElement;
  input: HTMLInputElement;
}

interface FieldOptions {
  label: string;
  name: string;
  type?: string;
  autocomplete?: string;
  required?: boolean;
  hint?: Child;
  value?: string;
  minlength?: number;
  maxlength?: number;
}

/** A labelled input with an optional hint, tied together for screen readers. */
export function field(options: FieldOptions): Field {
  const id = uid(options.name);
  const hintId = options.hint ? `${id}-hint` : null;
  const input = h('input', {
    id,
    name: options.name,
    type: options.type ?? 'text',
    autocomplete: options.autocomplete,
    required: options.required ?? false,
    value: options.value,
    minlength: options.minlength,
    maxlength: options.maxlength,
    'aria-describedby': hintId,
  });
  const element = h('div', { class: 'field' }, h('label', { for: id }, options.label), options.hint ? h('div', { class: 'hint', id: hintId }, options.hint) : null, input);
  return { element, input };
}

export const PASSWORD_MIN = 6;
export const PASSWORD_MAX = 256;

/** A new-password field whose rules are on screen before submitting, each ticked off as it is met. */
export function newPasswordField(label: string, name = 'new-password'): Field {
  const rules: Array<[string, (value: string) => boolean]> = [
    [`At least ${PASSWORD_MIN} characters`, (value) => value.length >= PASSWORD_MIN],
    [`At most ${PASSWORD_MAX} characters`, (value) => value.length <= PASSWORD_MAX],
  ];
  const items = rules.map(([text]) => h('li', null, text));
  const list = h('ul', { class: 'rules' }, items);
  const built = field({ label, name, type: 'password', autocomplete: 'new-password', required: true, minlength: PASSWORD_MIN, maxlength: PASSWORD_MAX, hint: [h('span', null, 'Your password needs:'), list] });
  const update = () => rules.forEach(([, met], index) => items[index].classList.toggle('met', built.input.value.length > 0 && met(built.input.value)));
  built.input.addEventListener('input', update);
  return built;
}

export function button(text: Child, props: Props = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: 'button', ...props }, text);
}

/** A region where the outcome of an action appears; announced to screen readers as it changes. */
export function messageArea(): { element: HTMLElement; show(kind: 'error' | 'success' | 'info', ...content: Child[]): void; clear(): void } {
  const element = h('div', { class: 'messages', 'aria-live': 'polite' });
  return {
    element,
    show(kind, ...content) {
      replace(element, h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content));
    },
    clear() {
      replace(element);
    },
  };
}

/** What a failure means to a person, for the answers every page can get. */
export function explain(failure: Failure): Child[] {
  switch (failure.code) {
    case 'RATE_LIMITED':
      return [failure.retryAfterSeconds ? `Too many attempts. Try again in ${formatWait(failure.retryAfterSeconds)}.` : 'Too many attempts. Wait a little and try again.'];
    case 'INVALID_REQUEST':
      return failure.fields.length > 0 ? [h('ul', { class: 'plain' }, failure.fields.map((error) => h('li', null, error.message)))] : [failure.message];
    case 'NETWORK':
      return ['The service did not answer. Check your connection and try again.'];
    case 'SERVER_BUSY':
      return ['The service is busy right now. Try again in a moment.'];
    case 'INVALID_OR_EXPIRED_TOKEN':
    case 'MISSING_AUTH':
      return ['Your session has ended. Sign in again.'];
    default:
      return [
        failure.status >= 500 ? 'Something went wrong on our side. Try again in a moment.' : failure.message,
        failure.requestId ? h('span', { class: 'request-id' }, ` (request ${failure.requestId})`) : null,
      ];
  }
}

/** Why pressing "Sign out" left the person signed in: the service never confirmed it, so the refresh cookie lives on. */
export function signOutFailed(failure: Failure): Child[] {
  return ['Sign-out failed: you are still signed in. ', ...explain(failure)];
}

/**
 * Runs a form's action when it is submitted: the submit button is disabled and says so while the
 * call is on its way, so a double click sends one request.
 */
export function onSubmit(form: HTMLFormElement, action: () => Promise<void>): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (submit?.disabled) return;
    if (submit) submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    void action().finally(() => {
      if (submit) submit.disabled = false;
      form.removeAttribute('aria-busy');
    });
  });
}

/** A card holding one page's heading and content. */
export function card(title: string, ...content: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h1', { tabindex: -1 }, title), content);
}

/** An in-app link: the router takes the click, the address stays a real one for a new tab. */
export function link(path: string, text: Child, props: Props = {}): HTMLAnchorElement {
  return h('a', { href: `/dashboard/${path}`, 'data-route': '', ...props }, text);
}
