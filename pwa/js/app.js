/**
 * Boot: the service worker and its update prompt, the router (#/…), the lock, the idle timer and the sync
 * loop's triggers. Screens live in ui/; the data layer in store.js, vault.js, sync.js and api.js.
 */
import * as api from './api.js';
import * as store from './store.js';
import * as vault from './vault.js';
import { createSync, wireTriggers } from './sync.js';
import { onLanguageChange, savedLanguage, setLanguage, t } from './i18n.js';
import { h, replaceChildren } from './dom.js';
import { createShell } from './ui/shell.js';
import * as drafts from './ui/drafts.js';
import { closeAllDialogs } from './ui/dialogs.js';
import { reloginDialog } from './ui/relogin.js';
import { describeError } from './ui/errors.js';
import * as loginScreen from './ui/login.js';
import * as passphraseScreen from './ui/passphrase.js';
import * as unlockScreen from './ui/unlock.js';
import * as journalScreen from './ui/journal.js';
import * as newLetterScreen from './ui/new-letter.js';
import * as letterScreen from './ui/letter.js';
import * as amendScreen from './ui/amend.js';
import * as attentionScreen from './ui/attention.js';
import * as resendScreen from './ui/resend.js';
import * as settingsScreen from './ui/settings.js';
import * as openings from './ui/openings.js';
import * as meetings from './ui/meetings.js';
import * as printScreen from './ui/print.js';
import * as dashboardScreen from './ui/dashboard.js';
import * as reportScreen from './ui/report.js';
import * as adminScreen from './ui/admin.js';
import * as auditScreen from './ui/audit.js';

/** The idle lock when the school's settings are not known yet (the default). */
const DEFAULT_IDLE_LOCK_MINUTES = 10;
/** How often the sync loop runs while the app is open and unlocked. */
const SYNC_INTERVAL_MS = 60_000;
/** How often an open app asks the server whether a new shell version exists. */
const UPDATE_CHECK_MS = 60 * 60_000;

// Routes: name, pattern, screen, and who may see it: 'login', 'passphrase' and 'unlock' are the way in
// (redirectFor decides which one applies); 'app' screens need the vault unlocked and a logged-in session.
const ROUTES = [
  { name: 'login', pattern: /^#\/login$/, screen: loginScreen, access: 'login' },
  { name: 'passphrase', pattern: /^#\/passphrase$/, screen: passphraseScreen, access: 'passphrase' },
  { name: 'unlock', pattern: /^#\/unlock$/, screen: unlockScreen, access: 'unlock' },
  { name: 'journal', pattern: /^#\/journal(?:\?(?<query>.*))?$/, screen: journalScreen, access: 'app' },
  { name: 'new', pattern: /^#\/new$/, screen: newLetterScreen, access: 'app' },
  { name: 'amend', pattern: /^#\/letter\/([0-9a-fA-F-]{36})\/amend$/, screen: amendScreen, access: 'app' },
  { name: 'letter', pattern: /^#\/letter\/([0-9a-fA-F-]{36})$/, screen: letterScreen, access: 'app' },
  { name: 'attention', pattern: /^#\/attention$/, screen: attentionScreen, access: 'app' },
  { name: 'resend', pattern: /^#\/attention\/([0-9a-fA-F-]{36})$/, screen: resendScreen, access: 'app' },
  { name: 'settings', pattern: /^#\/settings$/, screen: settingsScreen, access: 'app' },
  { name: 'openings', pattern: /^#\/openings$/, screen: openings.list, access: 'app' },
  { name: 'opening-new', pattern: /^#\/openings\/new$/, screen: openings.create, access: 'app' },
  { name: 'opening', pattern: /^#\/opening\/([0-9a-fA-F-]{36})$/, screen: openings.page, access: 'app' },
  { name: 'new', pattern: /^#\/opening\/([0-9a-fA-F-]{36})\/letter$/, screen: newLetterScreen, access: 'app' },
  { name: 'meetings', pattern: /^#\/meetings$/, screen: meetings.list, access: 'app' },
  { name: 'meeting-new', pattern: /^#\/meetings\/new$/, screen: meetings.create, access: 'app' },
  { name: 'meeting', pattern: /^#\/meeting\/([0-9a-fA-F-]{36})$/, screen: meetings.page, access: 'app' },
  { name: 'dashboard', pattern: /^#\/dashboard$/, screen: dashboardScreen, access: 'app' },
  { name: 'report', pattern: /^#\/report(?:\/(?<month>[0-9]{4}-[0-9]{2}))?$/, screen: reportScreen, access: 'app' },
  { name: 'admin', pattern: /^#\/admin(?:\/(?<tab>devices|settings))?$/, screen: adminScreen, access: 'app' },
  { name: 'audit', pattern: /^#\/audit(?:\?(?<query>.*))?$/, screen: auditScreen, access: 'app' },
  {
    name: 'print',
    pattern: /^#\/print\/(?<doc>act|minutes|notice|slips|journal)(?:\/(?<id>[0-9a-fA-F-]{36}))?(?:\/(?<n>[0-9]{1,3}))?$/,
    screen: printScreen,
    access: 'app',
  },
];

let shell;
let session = null; // the sealed session, read after unlock; null while locked
let sync = null;
let unwireTriggers = null;
let returnTo = null; // the app route to reopen after unlocking
let renderCounter = 0;
let vaultKnownToExist = false;
let flashMessage = null;

/** What the screens get: the data layer and the app's few verbs. */
const app = {
  api,
  store,
  vault,
  /** The login made before the vault exists: kept in memory until the passphrase is set. */
  pendingLogin: null,
  get session() {
    return session;
  },
  navigate,
  saveSession,
  startSession,
  afterUnlock,
  markVaultCreated: () => {
    vaultKnownToExist = true;
  },
  lock: () => vault.lock(),
  logout,
  shellVersion,
  /** After a letter or a correction was saved: the counts, and a sync when online. */
  afterSave() {
    refreshStatus();
    if (navigator.onLine) sync?.syncNow();
  },
  /** A short notice shown on top of the next screen ("Saved on this tablet"). */
  flash(text) {
    flashMessage = text;
  },
};

/**
 * Go to a route; re-renders when it is the current one already.
 * @param {string} hash e.g. '#/journal'
 * @param {{replace?: boolean}} [options]
 */
function navigate(hash, { replace = false } = {}) {
  if (location.hash === hash) {
    route();
  } else if (replace) {
    location.replace(hash);
  } else {
    location.hash = hash;
  }
}

function matchRoute(hash) {
  for (const entry of ROUTES) {
    const match = entry.pattern.exec(hash);
    if (match) return { ...entry, params: match.groups ? { ...match.groups } : { id: match[1] } };
  }
  return null;
}

async function vaultExists() {
  if (!vaultKnownToExist) vaultKnownToExist = await vault.vaultExists();
  return vaultKnownToExist;
}

/** Where a route must send the user instead, or null when it may be shown. */
async function redirectFor(entry) {
  if (!(await vaultExists())) {
    if (entry.access === 'login') return null;
    if (entry.access === 'passphrase' && app.pendingLogin) return null;
    return '#/login';
  }
  if (!vault.isUnlocked()) return entry.access === 'unlock' ? null : '#/unlock';
  if (!session?.token) return entry.access === 'login' ? null : '#/login';
  return entry.access === 'app' ? null : '#/journal';
}

/**
 * Render the screen of the current hash. Later calls win over slower earlier ones.
 * @param {{refresh?: boolean}} [options] a refresh after a sync keeps the scroll position and the focus
 */
async function route({ refresh = false } = {}) {
  const ticket = ++renderCounter;
  printScreen.clearPrintArea(); // a printed paper belongs to the print screen only
  const entry = matchRoute(location.hash);
  if (!entry) {
    navigate('#/journal', { replace: true });
    return;
  }
  const redirect = await redirectFor(entry);
  if (ticket !== renderCounter) return;
  if (redirect) {
    if (entry.access === 'app' && redirect === '#/unlock') returnTo = location.hash;
    navigate(redirect, { replace: true });
    return;
  }
  shell.setMode(entry.access === 'app' ? 'app' : 'public');
  shell.setRoute(entry.name);
  let view;
  try {
    view = await entry.screen.render(app, entry.params);
  } catch (error) {
    view = errorView(error);
  }
  // The app may have locked while the screen was loading: never show a letter behind the lock.
  if (ticket !== renderCounter || (entry.access === 'app' && !vault.isUnlocked())) return;
  const scrollY = window.scrollY;
  const shownFlash = refresh ? shell.main.querySelector(':scope > .flash') : null;
  replaceChildren(shell.main, view);
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

/**
 * Keep a session (sealed by the store) and use it from now on.
 * @param {object} next {token, device_id, user, school, …}
 */
async function saveSession(next) {
  await store.saveSession(next);
  session = next;
}

/** After the vault opened: read the session and go on to the journal, or to the login. */
async function afterUnlock() {
  session = await store.getSession();
  if (!session?.token) {
    navigate('#/login', { replace: true });
    return;
  }
  await startSession();
}

/** The vault is open and the session has a token: arm the idle lock, start syncing, open the journal. */
async function startSession() {
  shell.setMode('app');
  applySchoolSettings();
  if (!sync) {
    sync = createSync({ store, api });
    sync.on('state', onSyncState);
    sync.on('needs-login', onNeedsLogin);
    sync.on('attention', () => refreshAttention());
    sync.on('synced', onSynced);
    sync.on('session', onSessionRefreshed);
  }
  if (!unwireTriggers) unwireTriggers = wireTriggers(sync, { window, document, intervalMs: SYNC_INTERVAL_MS }) || null;
  sync.start();
  refreshStatus();
  const target = returnTo || '#/journal';
  returnTo = null;
  navigate(target, { replace: true });
}

function applySchoolSettings() {
  const minutes = Number(session?.school?.idle_lock_minutes) || DEFAULT_IDLE_LOCK_MINUTES;
  vault.armIdleLock(minutes);
  shell.setSchoolName(session?.school?.name || '', session?.user?.role ?? null);
}

async function logout() {
  sync?.stop();
  unwireTriggers?.();
  unwireTriggers = null;
  await store.forgetToken();
  session = await store.getSession();
  shell.setMode('public');
  navigate('#/login', { replace: true });
}

/** Everything confidential leaves the screen; unsaved form input stays in memory (drafts.js). */
function onLocked() {
  sync?.stop();
  unwireTriggers?.();
  unwireTriggers = null;
  closeAllDialogs();
  const current = matchRoute(location.hash);
  if (current?.access === 'app') returnTo = location.hash;
  replaceChildren(shell.main);
  session = null;
  shell.setMode('public');
  renderCounter += 1; // a screen still loading must not render
  navigate('#/unlock', { replace: true });
}

let reloginDismissed = false;

function onSyncState(state) {
  // A network failure is told by the offline banner; other failures get words of their own.
  const worded = state.error && state.error.name !== 'NetworkError'
    && (state.phase === 'error' || state.phase === 'waiting') ? describeError(state.error) : null;
  shell.setSync({ ...state, error: worded, onRelogin: state.phase === 'needs-login' ? openRelogin : null });
}

/** New data arrived: refresh the lists, never a form the user is typing in. */
function onSynced() {
  refreshStatus();
  const current = matchRoute(location.hash);
  if (current && ['journal', 'letter', 'attention', 'openings', 'opening', 'meetings', 'meeting'].includes(current.name) && vault.isUnlocked()) route({ refresh: true });
}

/** The sync loop brought the school's newest settings (trust phones, idle lock). */
async function onSessionRefreshed() {
  if (!vault.isUnlocked()) return;
  session = await store.getSession();
  applySchoolSettings();
}

function onNeedsLogin() {
  // Asked once; after "Later" the banner's button asks again, not every minute's sync.
  if (!reloginDismissed) openRelogin();
}

async function openRelogin() {
  if (!session || document.querySelector('dialog.relogin[open]')) return;
  const renewed = await reloginDialog(app);
  reloginDismissed = !renewed;
  if (renewed) sync?.syncNow();
}

async function refreshStatus() {
  if (!vault.isUnlocked()) return;
  try {
    shell.setSync({ pending: await store.pendingCount() });
    await refreshAttention();
  } catch {
    // Locked in the meantime; the next unlock refreshes.
  }
}

async function refreshAttention() {
  if (!vault.isUnlocked()) return;
  try {
    shell.setAttention((await store.attentionItems()).length);
  } catch {
    // Locked in the meantime.
  }
}

// ---- Service worker and the update prompt --------------------------------------------------------

let waitingWorker = null;
let updateAccepted = false; // the user pressed "Reload" (or another tab took the update)
let controllerChanged = false; // the new version controls this page: reload as soon as nothing is unsaved

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('controllerchange', onControllerChange);
  try {
    const registration = await navigator.serviceWorker.register('/service-worker.js', { scope: '/' });
    if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const worker = registration.installing;
      worker?.addEventListener('statechange', () => {
        // 'installed' with a controller in place: a new version waits for this page's consent.
        if (worker.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(worker);
      });
    });
    const check = () => registration.update().catch(() => {});
    setInterval(check, UPDATE_CHECK_MS);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') check();
    });
  } catch {
    // No service worker (private mode, a non-secure origin): the app still runs online.
  }
}

function offerUpdate(worker) {
  waitingWorker = worker;
  updateAccepted = false;
  showUpdateBanner();
}

function showUpdateBanner() {
  if (!waitingWorker && !controllerChanged) {
    shell.setUpdate(null);
    return;
  }
  shell.setUpdate({ accepted: updateAccepted || controllerChanged, waitingForSave: drafts.hasUnsaved(), onAccept: acceptUpdate });
}

function acceptUpdate() {
  updateAccepted = true;
  showUpdateBanner();
  activateUpdateWhenSaved();
}

/** The new worker takes over only when no form holds unsaved input; otherwise this waits for a save. */
function activateUpdateWhenSaved() {
  if (!updateAccepted || !waitingWorker || drafts.hasUnsaved()) return;
  waitingWorker.postMessage({ type: 'SKIP_WAITING' });
  waitingWorker = null; // the reload comes with 'controllerchange'
}

function onControllerChange() {
  // Also fires when another tab accepted the update: reload only once nothing unsaved is on this page.
  controllerChanged = true;
  reloadWhenSaved();
}

let reloading = false;
function reloadWhenSaved() {
  if (reloading || !controllerChanged) return;
  if (drafts.hasUnsaved()) {
    showUpdateBanner();
    return;
  }
  reloading = true;
  location.reload();
}

drafts.onUnsavedChange(() => {
  showUpdateBanner();
  activateUpdateWhenSaved();
  reloadWhenSaved();
});

/** The shell version the active service worker serves (for Settings → About). */
function shellVersion() {
  const worker = navigator.serviceWorker?.controller;
  if (!worker) return Promise.resolve(null);
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 2000);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data?.version ?? null);
    };
    worker.postMessage({ type: 'GET_VERSION' }, [channel.port2]);
  });
}

// ---- Boot -----------------------------------------------------------------------------------------

function watchActivity() {
  // Any touch or key press counts as activity for the idle lock; throttled, it is called often.
  let last = 0;
  const touch = () => {
    const now = Date.now();
    if (now - last < 5000 || !vault.isUnlocked()) return;
    last = now;
    vault.touch();
  };
  // Not 'scroll': the browser scrolls by itself when a refresh after a sync redraws a long page (scroll
  // anchoring), and that must not keep an unattended tablet unlocked. A finger or a wheel is a person.
  for (const type of ['pointerdown', 'keydown', 'input', 'wheel', 'touchmove']) {
    document.addEventListener(type, touch, { capture: true, passive: true });
  }
}

function watchConnectivity() {
  const update = () => shell.setSync({ online: navigator.onLine });
  window.addEventListener('online', update);
  window.addEventListener('offline', update);
}

async function boot() {
  try {
    await setLanguage(savedLanguage(), { persist: false });
  } catch {
    await setLanguage('ky', { persist: false }).catch(() => {});
  }
  document.title = t('app.title');
  shell = createShell(document.getElementById('app'), {
    onLock: () => vault.lock(),
    onSyncNow: () => sync?.syncNow(),
  });
  onLanguageChange(() => {
    document.title = t('app.title');
    shell.render();
    route();
  });
  vault.onLockChange((locked) => {
    if (locked) onLocked();
  });
  window.addEventListener('hashchange', () => route());
  window.addEventListener('beforeunload', (event) => {
    // Unsaved input lives in memory only; closing the page would lose it, so the browser asks first.
    if (drafts.hasUnsaved()) event.preventDefault();
  });
  watchActivity();
  watchConnectivity();
  registerServiceWorker();
  route();
}

boot();
