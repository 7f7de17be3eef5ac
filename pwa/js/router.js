/**
 * The router: each address (#/…) and its screen, who may see it, and the render of the current one.
 *
 * The way in ('login', 'passphrase', 'unlock') and the app's screens ('app', which need the vault unlocked
 * and a logged-in session); a route the user may not see yet redirects to the way in that applies. Every
 * screen but the login form is loaded with `import()` on first use, the store and the sync loop (the
 * session's `loadData`) before any screen that may read them, and `print.css` with the first printed paper.
 * A later render wins over a slower earlier one, and a screen still loading when the vault locks is never
 * drawn. The app screen the lock interrupted is reopened after unlocking.
 */
import { h, replaceChildren } from './dom.js';
import { t } from './i18n.js';
import * as vault from './vault.js';
import { describeError } from './ui/errors.js';
import * as loginScreen from './ui/login.js';

/**
 * A module loaded with `import()` on first use, once; a failed load (offline before the precache finished)
 * is tried again next time.
 * @template T
 * @param {() => Promise<T>} load
 * @returns {() => Promise<T>}
 */
export function lazy(load) {
  let promise = null;
  return () => {
    promise ||= load().catch((error) => {
      promise = null;
      throw error;
    });
    return promise;
  };
}

let printScreen = null; // loaded with the print and report screens; it clears the paper they leave under <body>
const loadPrint = lazy(async () => {
  [printScreen] = await Promise.all([import('./ui/print.js'), loadPrintStyles()]);
  return printScreen;
});

/** print.css joins the page with the first printed paper: nothing else uses it, so the first screen does not wait for it. */
function loadPrintStyles() {
  const href = new URL('../css/print.css', import.meta.url).pathname;
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    link.addEventListener('load', resolve);
    link.addEventListener('error', () => {
      link.remove(); // asked again with the next paper
      reject(new Error('print.css did not load'));
    });
    document.head.append(link);
  });
}
const screen = (load, pick = (module) => module) => lazy(async () => pick(await load()));
const openings = lazy(() => import('./ui/openings.js'));
const meetings = lazy(() => import('./ui/meetings.js'));
const newLetterScreen = lazy(() => import('./ui/new-letter.js'));

// Routes: name, pattern, screen (or `load`, its import()), and who may see it: 'login', 'passphrase' and
// 'unlock' are the way in (redirectFor decides which one applies); 'app' screens need the vault unlocked
// and a logged-in session.
const ROUTES = [
  { name: 'login', pattern: /^#\/login$/, screen: loginScreen, access: 'login' },
  { name: 'passphrase', pattern: /^#\/passphrase$/, load: screen(() => import('./ui/passphrase.js')), access: 'passphrase' },
  { name: 'unlock', pattern: /^#\/unlock$/, load: screen(() => import('./ui/unlock.js')), access: 'unlock' },
  { name: 'journal', pattern: /^#\/journal(?:\?(?<query>.*))?$/, load: screen(() => import('./ui/journal.js')), access: 'app' },
  { name: 'new', pattern: /^#\/new$/, load: newLetterScreen, access: 'app' },
  { name: 'amend', pattern: /^#\/letter\/([0-9a-fA-F-]{36})\/amend$/, load: screen(() => import('./ui/amend.js')), access: 'app' },
  { name: 'letter', pattern: /^#\/letter\/([0-9a-fA-F-]{36})$/, load: screen(() => import('./ui/letter.js')), access: 'app' },
  { name: 'attention', pattern: /^#\/attention$/, load: screen(() => import('./ui/attention.js')), access: 'app' },
  { name: 'resend', pattern: /^#\/attention\/([0-9a-fA-F-]{36})$/, load: screen(() => import('./ui/resend.js')), access: 'app' },
  { name: 'settings', pattern: /^#\/settings$/, load: screen(() => import('./ui/settings.js')), access: 'app' },
  { name: 'openings', pattern: /^#\/openings$/, load: screen(openings, (module) => module.list), access: 'app' },
  { name: 'opening-new', pattern: /^#\/openings\/new$/, load: screen(openings, (module) => module.create), access: 'app' },
  { name: 'opening', pattern: /^#\/opening\/([0-9a-fA-F-]{36})$/, load: screen(openings, (module) => module.page), access: 'app' },
  { name: 'new', pattern: /^#\/opening\/([0-9a-fA-F-]{36})\/letter$/, load: newLetterScreen, access: 'app' },
  { name: 'meetings', pattern: /^#\/meetings$/, load: screen(meetings, (module) => module.list), access: 'app' },
  { name: 'meeting-new', pattern: /^#\/meetings\/new$/, load: screen(meetings, (module) => module.create), access: 'app' },
  { name: 'meeting', pattern: /^#\/meeting\/([0-9a-fA-F-]{36})$/, load: screen(meetings, (module) => module.page), access: 'app' },
  { name: 'dashboard', pattern: /^#\/dashboard$/, load: screen(() => import('./ui/dashboard.js')), access: 'app' },
  { name: 'report', pattern: /^#\/report(?:\/(?<month>[0-9]{4}-[0-9]{2}))?$/, load: screen(async () => (await Promise.all([import('./ui/report.js'), loadPrint()]))[0]), access: 'app' },
  { name: 'admin', pattern: /^#\/admin(?:\/(?<tab>devices|settings))?$/, load: screen(() => import('./ui/admin.js')), access: 'app' },
  { name: 'audit', pattern: /^#\/audit(?:\?(?<query>.*))?$/, load: screen(() => import('./ui/audit.js')), access: 'app' },
  {
    name: 'print',
    pattern: /^#\/print\/(?<doc>act|minutes|notice|slips|journal)(?:\/(?<id>[0-9a-fA-F-]{36}))?(?:\/(?<n>[0-9]{1,3}))?$/,
    load: loadPrint,
    access: 'app',
  },
];

/** The screens that show pulled data without a form being typed in: redrawn after a sync. */
const REDRAWN_AFTER_SYNC = new Set(['journal', 'letter', 'attention', 'openings', 'opening', 'meetings', 'meeting']);

let shell = null;
let app = null; // what the screens get (app.js)
let loadData = null; // the store and the sync loop (session.js)
let vaultExists = null;
let onDrawn = () => {};
let returnTo = null; // the app route to reopen after unlocking
let renderCounter = 0;
let flashMessage = null;

/**
 * Route the current address now and on every change of it.
 * @param {{shell: object, app: object, loadData: () => Promise<object>, vaultExists: () => Promise<boolean>,
 *          onDrawn: () => void}} deps onDrawn: called after each screen is drawn
 */
export function startRouter(deps) {
  ({ shell, app, loadData, vaultExists, onDrawn } = deps);
  window.addEventListener('hashchange', () => route());
  return route();
}

/**
 * Go to a route; re-renders when it is the current one already.
 * @param {string} hash e.g. '#/journal'
 * @param {{replace?: boolean}} [options]
 */
export function navigate(hash, { replace = false } = {}) {
  if (location.hash === hash) {
    route();
  } else if (replace) {
    location.replace(hash);
  } else {
    location.hash = hash;
  }
}

/** A short notice shown on top of the next screen ("Saved on this tablet"). */
export function flash(text) {
  flashMessage = text;
}

function matchRoute(hash) {
  for (const entry of ROUTES) {
    const match = entry.pattern.exec(hash);
    if (match) return { ...entry, params: match.groups ? { ...match.groups } : { id: match[1] } };
  }
  return null;
}

/** Where a route must send the user instead, or null when it may be shown. */
async function redirectFor(entry) {
  if (!(await vaultExists())) {
    if (entry.access === 'login') return null;
    if (entry.access === 'passphrase' && app.pendingLogin) return null;
    return '#/login';
  }
  if (!vault.isUnlocked()) return entry.access === 'unlock' ? null : '#/unlock';
  if (!app.session?.token) return entry.access === 'login' ? null : '#/login';
  return entry.access === 'app' ? null : '#/journal';
}

/**
 * Route to `hash` in place of the current address, at once: location.replace would route only on its
 * hashchange, a task (and often a painted frame) later — on a fresh device's first load that is twice
 * ('' → #/journal → #/login).
 * @param {string} hash
 */
function redirectTo(hash) {
  history.replaceState(history.state, '', hash);
  return route();
}

/**
 * Render the screen of the current hash. Later calls win over slower earlier ones.
 * @param {{refresh?: boolean}} [options] a refresh after a sync keeps the scroll position and the focus
 */
export async function route({ refresh = false } = {}) {
  const ticket = ++renderCounter;
  printScreen?.clearPrintArea(); // a printed paper belongs to the print screen only
  const entry = matchRoute(location.hash);
  if (!entry) {
    await redirectTo('#/journal');
    return;
  }
  const redirect = await redirectFor(entry);
  if (ticket !== renderCounter) return;
  if (redirect) {
    if (entry.access === 'app' && redirect === '#/unlock') returnTo = location.hash;
    await redirectTo(redirect);
    return;
  }
  shell.setMode(entry.access === 'app' ? 'app' : 'public');
  shell.setRoute(entry.name);
  let view;
  try {
    // The way in (login, passphrase, unlock) does without the store, except the login of an open vault,
    // which reads the session; the screens past it read the journal.
    const needsData = entry.access === 'app' || (entry.access === 'login' && vault.isUnlocked());
    const [screenModule] = await Promise.all([entry.screen || entry.load(), needsData ? loadData() : null]);
    if (ticket !== renderCounter) return;
    view = await screenModule.render(app, entry.params);
  } catch (error) {
    view = errorView(error);
  }
  // The app may have locked while the screen was loading: never show a letter behind the lock.
  if (ticket !== renderCounter || (entry.access === 'app' && !vault.isUnlocked())) return;
  const scrollY = window.scrollY;
  const shownFlash = refresh ? shell.main.querySelector(':scope > .flash') : null;
  replaceChildren(shell.main, view);
  onDrawn();
  if (refresh) {
    if (shownFlash) shell.main.prepend(shownFlash);
    window.scrollTo(0, scrollY);
    return;
  }
  if (flashMessage) {
    shell.main.prepend(h('p', { class: 'flash', role: 'status' }, flashMessage));
    flashMessage = null;
  }
  const focusTarget = shell.main.querySelector('[data-autofocus]') || shell.main.querySelector('h1');
  if (focusTarget) {
    if (focusTarget.tagName === 'H1') focusTarget.setAttribute('tabindex', '-1');
    focusTarget.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function errorView(error) {
  return h('section', { class: 'screen' },
    h('h1', null, t('common.error_title')),
    h('p', { class: 'form-message form-message-error' }, describeError(error)),
    h('a', { href: '#/journal', class: 'button button-secondary' }, t('common.back_to_journal')));
}

/** Past the way in: reopen the app screen the lock interrupted, or the journal. */
export function enterApp() {
  const target = returnTo || '#/journal';
  returnTo = null;
  navigate(target, { replace: true });
}

/**
 * The vault locked: the app screen shown is remembered for after the unlock and taken off the page, a
 * screen still loading is never drawn, and the unlock form comes.
 */
export function leaveForUnlock() {
  if (matchRoute(location.hash)?.access === 'app') returnTo = location.hash;
  replaceChildren(shell.main);
  renderCounter += 1; // a screen still loading must not render
  navigate('#/unlock', { replace: true });
}

/** New data arrived: redraw a list or a page that shows it, never a form the user is typing in. */
export function redrawAfterSync() {
  const current = matchRoute(location.hash);
  if (current && REDRAWN_AFTER_SYNC.has(current.name) && vault.isUnlocked()) route({ refresh: true });
}
