import type { Theme } from '../client/preferences.js';
import type { AppContext } from '../context.js';
import { h, svg } from './dom.js';
import { initials } from './format.js';
import { icons } from './icons.js';

/** Applies the chosen theme to the document (`auto` follows the system). */
export function applyTheme(theme: Theme): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

/** The top bar: brand, navigation for the signed-in user, settings. */
export function renderHeader(ctx: AppContext, route: string): HTMLElement {
  const user = ctx.auth?.user;
  const link = (hash: string, label: string) =>
    h('a', { class: `nav-link${route === hash ? ' active' : ''}`, href: hash }, label);
  const nav = user
    ? h(
        'nav',
        { class: 'nav', 'aria-label': 'Main' },
        link('#/lobby', 'Live now'),
        user.role === 'vendor' ? link('#/studio', 'Studio') : null,
      )
    : null;
  const userChip = user
    ? h(
        'div',
        { class: 'user-chip' },
        h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, initials(user.name)),
        h('span', { class: 'user-name' }, user.name),
        h(
          'button',
          {
            class: 'btn btn-ghost btn-icon',
            type: 'button',
            title: 'Sign out',
            'aria-label': 'Sign out',
            onclick: () => ctx.signOut(),
          },
          svg(icons.logOut, 18),
        ),
      )
    : null;
  return h(
    'header',
    { class: 'topbar' },
    h(
      'a',
      { class: 'brand', href: user ? '#/lobby' : '#/login' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, svg(icons.radio, 18)),
      h('span', { class: 'brand-name' }, 'Streammeon'),
    ),
    nav,
    h(
      'div',
      { class: 'topbar-end' },
      userChip,
      h(
        'button',
        {
          class: 'btn btn-ghost btn-icon',
          type: 'button',
          title: 'Settings',
          'aria-label': 'Settings',
          testid: 'settings',
          onclick: () => openSettings(ctx),
        },
        svg(icons.settings, 18),
      ),
    ),
  );
}

/** A dialog for the API address and the colour theme. */
function openSettings(ctx: AppContext): void {
  const apiInput = h('input', {
    class: 'input',
    id: 'api-base',
    testid: 'api-base',
    type: 'url',
    value: ctx.prefs.apiBase,
    placeholder: location.origin,
  });
  const themeSelect = h(
    'select',
    { class: 'input', id: 'theme' },
    ...(['auto', 'light', 'dark'] as const).map((theme) =>
      h(
        'option',
        { value: theme, selected: ctx.prefs.theme === theme },
        theme === 'auto' ? 'Match system' : theme === 'light' ? 'Light' : 'Dark',
      ),
    ),
  );
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const dialog = h(
    'dialog',
    { class: 'dialog' },
    h(
      'form',
      {
        class: 'stack',
        onsubmit: (event) => {
          event.preventDefault();
          try {
            const before = ctx.prefs.apiBase;
            ctx.prefs.setApiBase(apiInput.value);
            ctx.prefs.theme = themeSelect.value as Theme;
            applyTheme(ctx.prefs.theme);
            dialog.close();
            // A token from one server means nothing to another.
            if (ctx.prefs.apiBase !== before) ctx.signOut();
          } catch (failure) {
            error.textContent =
              failure instanceof TypeError ? 'That is not a valid web address.' : (failure as Error).message;
            error.hidden = false;
          }
        },
      },
      h('h2', {}, 'Settings'),
      h(
        'label',
        { class: 'field', for: 'api-base' },
        h('span', {}, 'API server'),
        apiInput,
        h('small', { class: 'hint' }, 'Leave empty to use this site. Changing it signs you out.'),
      ),
      h('label', { class: 'field', for: 'theme' }, h('span', {}, 'Appearance'), themeSelect),
      error,
      h(
        'div',
        { class: 'row end' },
        h('button', { class: 'btn btn-ghost', type: 'button', onclick: () => dialog.close() }, 'Cancel'),
        h('button', { class: 'btn btn-primary', type: 'submit' }, 'Save'),
      ),
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
}
