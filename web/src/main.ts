import { Preferences, type StoredAuth } from './client/preferences.js';
import { apiFor, type AppContext, type Page } from './context.js';
import { lobbyPage } from './pages/lobby.js';
import { loginPage } from './pages/login.js';
import { studioPage } from './pages/studio.js';
import { watchPage } from './pages/watch.js';
import { applyTheme, renderHeader } from './ui/shell.js';

/**
 * The app shell: hash routes (#/login, #/lobby, #/studio[/<id>], #/watch/<id>), the header, and
 * the one page mounted at a time. Pages own their state and are disposed when the route changes.
 */
class App implements AppContext {
  readonly prefs = new Preferences(localStorage, location.origin);
  auth: StoredAuth | null = this.prefs.auth;
  private page: Page | null = null;
  private notice: string | null = null;

  constructor(private readonly root: HTMLElement) {
    applyTheme(this.prefs.theme);
    window.addEventListener('hashchange', () => this.route());
    // Another tab signed in or out.
    window.addEventListener('storage', () => {
      const auth = this.prefs.auth;
      if (auth?.token !== this.auth?.token) {
        this.auth = auth;
        this.route();
      }
    });
  }

  api() {
    const token = this.auth?.token;
    return apiFor(this.prefs, this.auth, () => {
      // Only the sign-in that was refused: a newer one (another tab) stays.
      if (this.auth?.token === token) this.signOut('Your sign-in has expired. Please sign in again.');
    });
  }

  navigate(hash: string): void {
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  signIn(auth: StoredAuth): void {
    this.prefs.auth = auth;
    this.auth = auth;
    this.navigate(auth.user.role === 'vendor' ? '#/studio' : '#/lobby');
  }

  signOut(notice?: string): void {
    // Several refusals of one bad token arrive together (a REST 401, the socket's 4401): the
    // first signs out and says why; a second would route to the sign-in page again and, having
    // taken the notice already, show it without one.
    if (this.auth === null && location.hash === '#/login') return;
    this.prefs.auth = null;
    this.auth = null;
    this.notice = notice ?? null;
    this.navigate('#/login');
  }

  takeNotice(): string | null {
    const notice = this.notice;
    this.notice = null;
    return notice;
  }

  route(): void {
    const [, name = '', param] = location.hash.replace(/^#/, '').split('/');
    const id = param ? decodeURIComponent(param) : undefined;
    const user = this.auth?.user;
    if (!user && name !== 'login') return this.navigate('#/login');
    if (user && (name === 'login' || name === '')) return this.navigate('#/lobby');

    let next: Page;
    let active = `#/${name}`;
    if (name === 'login') next = loginPage(this);
    else if (name === 'studio' && user?.role === 'vendor') next = studioPage(this, id);
    else if (name === 'watch' && id) next = watchPage(this, id);
    else {
      next = lobbyPage(this);
      active = '#/lobby';
    }
    this.page?.dispose();
    this.page = next;
    document.title = `${next.title} · Streammeon`;
    this.root.replaceChildren(renderHeader(this, active), next.element);
    window.scrollTo(0, 0);
  }
}

new App(document.getElementById('app')!).route();
