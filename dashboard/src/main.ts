import './styles.css';
import { Child, h, replace } from './dom';
import { accountPage } from './pages/account';
import { checkEmailPage } from './pages/check-email';
import { confirmedPage } from './pages/confirmed';
import { forgotPasswordPage } from './pages/forgot-password';
import { keysPage } from './pages/keys';
import { resetPasswordPage, takeResetToken } from './pages/reset-password';
import { signInPage } from './pages/sign-in';
import { signUpPage } from './pages/sign-up';
import { BASE, currentRoute, PageContext, Route } from './router';
import { isSignedIn, refresh, signOut, whenSessionEnds } from './session';
import { card, link, messageArea, signOutFailed } from './ui';

const routes: Record<string, Route> = {
  'sign-up': { title: 'Create an account', access: 'guest', render: signUpPage },
  'check-email': { title: 'Check your email', access: 'public', render: checkEmailPage },
  confirmed: { title: 'Email confirmation', access: 'public', render: confirmedPage },
  'sign-in': { title: 'Sign in', access: 'guest', render: signInPage },
  'forgot-password': { title: 'Forgot your password', access: 'public', render: forgotPasswordPage },
  'reset-password': { title: 'Choose a new password', access: 'public', render: resetPasswordPage },
  keys: { title: 'API keys', access: 'private', wide: true, render: keysPage },
  account: { title: 'Account', access: 'private', wide: true, render: accountPage },
};

const notFound: Route = {
  title: 'Page not found',
  access: 'public',
  render: () => card('Page not found', h('p', null, 'There is no page at this address.'), h('p', null, link('', 'Go to the dashboard'))),
};

const root = document.getElementById('app') as HTMLElement;
let flash: string | null = null;
/** Above every page: what became of pressing "Sign out" in the header. */
const signOutMessages = messageArea();
let rendering = 0;
let firstRender = true;

function go(path: string, options: { replace?: boolean; flash?: string } = {}): void {
  if (options.flash) flash = options.flash;
  const url = path.startsWith('/') ? path : BASE + path;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  void render();
}

async function render(): Promise<void> {
  const name = currentRoute();
  if (name === '') return go(isSignedIn() ? 'keys' : 'sign-in', { replace: true });
  const route = routes[name] ?? notFound;
  if (route.access === 'private' && !isSignedIn()) return go('sign-in', { replace: true, flash: flash ?? undefined });
  if (route.access === 'guest' && isSignedIn()) return go('keys', { replace: true });

  const turn = ++rendering;
  const context: PageContext = { query: new URLSearchParams(window.location.search), flash, go };
  flash = null;
  signOutMessages.clear();
  const main = h('main', { id: 'main', tabindex: -1, class: route.wide ? 'main wide' : 'main narrow' }, signOutMessages.element);
  replace(root, skipLink(), header(name), main, footer());
  document.title = `${route.title} · Atiru`;
  const content = await route.render(context);
  // A newer navigation has drawn its own page meanwhile.
  if (turn !== rendering) return;
  replace(main, signOutMessages.element, content);
  // After a navigation, put keyboard and screen-reader focus on the new page's heading.
  if (!firstRender) (main.querySelector('h1') ?? main).focus();
  firstRender = false;
}

function skipLink(): Child {
  return h(
    'a',
    {
      class: 'skip',
      href: '#main',
      onclick: (event: Event) => {
        event.preventDefault();
        document.getElementById('main')?.focus();
      },
    },
    'Skip to content',
  );
}

function header(current: string): Child {
  const navLink = (path: string, text: string) => link(path, text, { 'aria-current': current === path ? 'page' : null });
  const nav = isSignedIn()
    ? [navLink('keys', 'API keys'), navLink('account', 'Account'), h('button', { type: 'button', class: 'nav-button', onclick: () => void signOutHere() }, 'Sign out')]
    : [navLink('sign-in', 'Sign in'), navLink('sign-up', 'Create account')];
  return h('header', { class: 'topbar' }, h('div', { class: 'topbar-inner' }, link('', [h('span', { class: 'logo', 'aria-hidden': 'true' }, 'A'), 'Atiru'], { class: 'brand' }), h('nav', { 'aria-label': 'Main' }, nav)));
}

function footer(): Child {
  return h('footer', { class: 'footer' }, 'Atiru Auth · ', h('a', { href: '/docs' }, 'API reference'));
}

const SIGNED_OUT = 'You are signed out.';
const SESSION_OVER = 'Your session has ended. Sign in again.';

async function signOutHere(): Promise<void> {
  signOutMessages.clear();
  const result = await signOut();
  if (result.ok) return go('sign-in', { flash: SIGNED_OUT });
  // A refused token: the session had ended already, and the person is on the way to sign-in.
  if (result.failure.status !== 401) signOutMessages.show('error', ...signOutFailed(result.failure));
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element).closest('a[data-route]');
  if (!(anchor instanceof HTMLAnchorElement)) return;
  event.preventDefault();
  go(anchor.pathname + anchor.search);
});

window.addEventListener('popstate', () => void render());
whenSessionEnds((how) => go('sign-in', { replace: true, flash: how === 'signed-out' ? SIGNED_OUT : SESSION_OVER }));

// The reset link's token leaves the address bar before anything else happens (history, screenshots, shoulder surfing).
if (currentRoute() === 'reset-password') takeResetToken();
forgetSwaggerCredential();
// A reload: the refresh cookie, if any, gives this page a new access token.
await refresh();
await render();

/**
 * Earlier versions of /docs, on this origin, kept the credential pasted into Swagger UI's
 * "Authorize" (a JWT or an API key) in localStorage; /docs removes it when opened, and so does
 * the dashboard, which people open far more often. Storage a browser refuses holds nothing.
 */
function forgetSwaggerCredential(): void {
  try {
    localStorage.removeItem('authorized');
  } catch {
    // Nothing stored, nothing to remove.
  }
}
