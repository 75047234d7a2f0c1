import { messageOf } from '../client/errors.js';
import type { Role } from '../client/types.js';
import type { AppContext, Page } from '../context.js';
import { h, svg } from '../ui/dom.js';
import { icons } from '../ui/icons.js';

type Mode = 'login' | 'register';

/** Sign in, or create an account as a vendor (goes live) or a viewer (watches). */
export function loginPage(ctx: AppContext): Page {
  let mode: Mode = 'login';

  const email = h('input', {
    class: 'input',
    id: 'email',
    testid: 'email',
    type: 'email',
    autocomplete: 'email',
    required: true,
  });
  const password = h('input', {
    class: 'input',
    id: 'password',
    testid: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const name = h('input', {
    class: 'input',
    id: 'name',
    testid: 'name',
    type: 'text',
    autocomplete: 'nickname',
    maxlength: 100,
  });
  const role = h(
    'select',
    { class: 'input', id: 'role', testid: 'role' },
    h('option', { value: 'user' }, 'Viewer: watch and comment'),
    h('option', { value: 'vendor' }, 'Vendor: go live with my camera'),
  );
  const registerFields = h(
    'div',
    { class: 'stack' },
    h('label', { class: 'field', for: 'name' }, h('span', {}, 'Display name'), name),
    h('label', { class: 'field', for: 'role' }, h('span', {}, 'I want to'), role),
  );
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const notice = ctx.takeNotice();
  const noticeBox = h('p', { class: 'notice', role: 'status', hidden: !notice }, notice ?? '');
  const loginSubmit = h(
    'button',
    { class: 'btn btn-primary btn-block', type: 'submit', testid: 'login-submit' },
    'Sign in',
  );
  const registerSubmit = h(
    'button',
    { class: 'btn btn-primary btn-block', type: 'submit', testid: 'register-submit' },
    'Create account',
  );
  const tabLogin = h(
    'button',
    { class: 'tab', type: 'button', testid: 'show-login', onclick: () => setMode('login') },
    'Sign in',
  );
  const tabRegister = h(
    'button',
    { class: 'tab', type: 'button', testid: 'show-register', onclick: () => setMode('register') },
    'Create account',
  );
  const heading = h('h1', {});
  const form = h(
    'form',
    { class: 'stack', onsubmit: (event) => void submit(event) },
    registerFields,
    h('label', { class: 'field', for: 'email' }, h('span', {}, 'Email'), email),
    h('label', { class: 'field', for: 'password' }, h('span', {}, 'Password'), password),
    error,
    loginSubmit,
    registerSubmit,
  );

  function setMode(next: Mode): void {
    mode = next;
    const registering = mode === 'register';
    heading.textContent = registering ? 'Create your account' : 'Welcome back';
    registerFields.hidden = !registering;
    name.required = registering;
    loginSubmit.hidden = registering;
    registerSubmit.hidden = !registering;
    password.autocomplete = registering ? 'new-password' : 'current-password';
    tabLogin.classList.toggle('active', !registering);
    tabRegister.classList.toggle('active', registering);
    tabLogin.setAttribute('aria-pressed', String(!registering));
    tabRegister.setAttribute('aria-pressed', String(registering));
    error.hidden = true;
  }

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    error.hidden = true;
    const button = mode === 'login' ? loginSubmit : registerSubmit;
    button.disabled = true;
    try {
      const api = ctx.api().withToken(null);
      const result =
        mode === 'login'
          ? await api.login({ email: email.value.trim(), password: password.value })
          : await api.register({
              email: email.value.trim(),
              password: password.value,
              name: name.value.trim(),
              role: role.value as Role,
            });
      ctx.signIn({ token: result.access_token, user: result.user });
    } catch (failure) {
      error.textContent = messageOf(failure);
      error.hidden = false;
      button.disabled = false;
    }
  }

  setMode(mode);
  const element = h(
    'main',
    { class: 'auth-page' },
    h(
      'section',
      { class: 'auth-hero' },
      h('span', { class: 'brand-mark brand-mark-lg', 'aria-hidden': 'true' }, svg(icons.radio, 28)),
      h('h2', {}, 'Go live in seconds.'),
      h(
        'p',
        {},
        'Stream from your camera straight to your audience, and talk with them in real time. No plugins, no installs.',
      ),
    ),
    h(
      'section',
      { class: 'card auth-card' },
      h('div', { class: 'tabs', role: 'group', 'aria-label': 'Sign in or register' }, tabLogin, tabRegister),
      heading,
      noticeBox,
      form,
    ),
  );
  return { element, title: 'Sign in', dispose() {} };
}
