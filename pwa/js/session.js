/**
 * The session: the way in and out, and what runs while it is open. Login keeps the session (sealed by the
 * store); after an unlock it is read again; a session with a token arms the idle lock with the school's
 * minutes, starts the sync loop and its triggers and opens the app; logout forgets the token; the lock
 * stops everything and takes what is confidential off the screen (unsaved form input stays in memory,
 * ui/drafts.js). A token the server refused asks for a login again (ui/relogin.js), once until "Later".
 * A 401 that withdraws the tablet's access (`device_revoked`, `account_disabled`), from the sync loop or any
 * screen's call, makes the store forget what was pulled (store/access.js) and brings the login form, which
 * says the access was withdrawn. Each letter page shown is noted for the audit (`recordView`), once per
 * showing: a redraw after a sync is not another opening.
 *
 * The store and the sync loop are loaded with `import()` (`loadData`) before any screen past the login form.
 */
import * as api from './api.js';
import * as vault from './vault.js';
import { closeAllDialogs } from './ui/dialogs.js';
import { describeError } from './ui/errors.js';
import { enterApp, lazy, leaveForUnlock, navigate, redrawAfterSync } from './router.js';

/** The idle lock when the school's settings are not known yet (the default). */
const DEFAULT_IDLE_LOCK_MINUTES = 10;
/** How often the sync loop runs while the app is open and unlocked. */
const SYNC_INTERVAL_MS = 60_000;

let store = null; // the encrypted store: loaded before any screen past the login form (loadData)
const loadSync = lazy(() => import('./sync.js'));
/** The store and the sync loop, loaded once. @returns {Promise<object>} the store module */
export const loadData = lazy(async () => {
  [store] = await Promise.all([import('./store.js'), loadSync()]);
  return store;
});
const loadRelogin = lazy(() => import('./ui/relogin.js'));

let shell = null;
let app = null; // what the screens get (app.js); the relogin dialog gets it too
let session = null; // the sealed session, read after unlock; null while locked
let sync = null;
let unwireTriggers = null;
let vaultKnownToExist = false;
let reloginDismissed = false;
let navigations = 0; // address changes so far: a letter shown again without one is the same showing
let lastViewed = null;
let withdrawing = null;

/**
 * Lock when the vault locks, and count touches and key presses as activity for the idle lock.
 * @param {{shell: object, app: object}} deps
 */
export function watchSession(deps) {
  ({ shell, app } = deps);
  vault.onLockChange((locked) => {
    if (locked) onLocked();
  });
  api.onWithdrawn((code) => onWithdrawn({ code }));
  window.addEventListener('hashchange', () => { navigations += 1; });
  watchActivity();
}

/**
 * A letter's page was shown: note it for the server's audit (sealed, sent by the sync loop). A redraw of
 * the same page (after a sync, in another language) is the same showing.
 * @param {string} appealId
 */
export function recordView(appealId) {
  if (!store || !vault.isUnlocked() || !appealId) return;
  const showing = `${appealId}@${navigations}`;
  if (showing === lastViewed) return;
  lastViewed = showing;
  store.recordView(appealId).catch(() => {
    lastViewed = null; // locked meanwhile: the next showing notes it
  });
}

/** The encrypted store: route() loads it before any screen that may read it. */
export function loadedStore() {
  if (!store) throw new Error('store.js is not loaded yet');
  return store;
}

/** @returns {object|null} the session `{token, device_id, user, school, …}`, null while locked */
export function currentSession() {
  return session;
}

/** Whether this device has a vault (asked of the database once, until one is created). */
export async function vaultExists() {
  if (!vaultKnownToExist) vaultKnownToExist = await vault.vaultExists();
  return vaultKnownToExist;
}

export function markVaultCreated() {
  vaultKnownToExist = true;
}

/**
 * Keep a session (sealed by the store) and use it from now on.
 * @param {object} next {token, device_id, user, school, …}
 */
export async function saveSession(next) {
  await loadData();
  await store.saveSession(next);
  session = next;
}

/** After the vault opened: read the session and go on to the journal, or to the login. */
export async function afterUnlock() {
  await loadData();
  session = await store.getSession();
  if (!session?.token) {
    navigate('#/login', { replace: true });
    return;
  }
  await startSession();
}

/** The vault is open and the session has a token: arm the idle lock, start syncing, open the journal. */
export async function startSession() {
  withdrawing = null;
  const [, { createSync, wireTriggers }] = await Promise.all([loadData(), loadSync()]);
  shell.setMode('app');
  applySchoolSettings();
  if (!sync) {
    sync = createSync({ store, api });
    sync.on('state', onSyncState);
    sync.on('needs-login', onNeedsLogin);
    sync.on('withdrawn', onWithdrawn);
    sync.on('attention', () => refreshAttention());
    sync.on('synced', onSynced);
    sync.on('session', onSessionRefreshed);
  }
  if (!unwireTriggers) unwireTriggers = wireTriggers(sync, { window, document, intervalMs: SYNC_INTERVAL_MS }) || null;
  sync.start();
  refreshStatus();
  enterApp();
}

function applySchoolSettings() {
  const minutes = Number(session?.school?.idle_lock_minutes) || DEFAULT_IDLE_LOCK_MINUTES;
  vault.armIdleLock(minutes);
  shell.setSchoolName(session?.school?.name || '', session?.user?.role ?? null);
}

export async function logout() {
  sync?.stop();
  unwireTriggers?.();
  unwireTriggers = null;
  await loadData();
  await store.forgetToken();
  session = await store.getSession();
  shell.setMode('public');
  navigate('#/login', { replace: true });
}

/** After a letter or a correction was saved: the counts, and a sync when online. */
export function afterSave() {
  refreshStatus();
  if (navigator.onLine) sync?.syncNow();
}

/** The shell's "Sync now". */
export function syncNow() {
  sync?.syncNow();
}

/** Everything confidential leaves the screen; unsaved form input stays in memory (drafts.js). */
function onLocked() {
  sync?.stop();
  unwireTriggers?.();
  unwireTriggers = null;
  closeAllDialogs();
  session = null;
  shell.setMode('public');
  leaveForUnlock();
}

function onSyncState(state) {
  // A network failure is told by the offline banner; other failures get words of their own.
  const worded = state.error && state.error.name !== 'NetworkError'
    && (state.phase === 'error' || state.phase === 'waiting') ? describeError(state.error) : null;
  shell.setSync({ ...state, error: worded, onRelogin: state.phase === 'needs-login' ? openRelogin : null });
}

/** New data arrived: the counts, and the lists redrawn. */
function onSynced() {
  refreshStatus();
  redrawAfterSync();
}

/** The sync loop brought the school's newest settings (trust phones, idle lock). */
async function onSessionRefreshed() {
  if (!vault.isUnlocked()) return;
  session = await store.getSession();
  applySchoolSettings();
}

function onNeedsLogin({ code } = {}) {
  if (api.WITHDRAWN_CODES.has(code)) return; // the login form says it (onWithdrawn)
  // Asked once; after "Later" the banner's button asks again, not every minute's sync.
  if (!reloginDismissed) openRelogin();
}

/**
 * The server withdrew this tablet's access: forget what was pulled (the sync loop may have done it
 * already; doing it twice changes nothing), stop syncing, and show the login form, which says why. Once
 * per withdrawal: the sync loop and the call that failed both report it, and drawing the form again would
 * wipe a password being typed; the next session (`startSession`) arms it again.
 */
function onWithdrawn({ code }) {
  withdrawing ??= (async () => {
    sync?.stop();
    unwireTriggers?.();
    unwireTriggers = null;
    closeAllDialogs();
    lastViewed = null;
    if (!vault.isUnlocked()) return; // the unlock reads the mark and comes to the login form
    await loadData();
    await store.forgetPulled(code);
    session = await store.getSession();
    shell.setMode('public');
    navigate('#/login', { replace: true });
  })().catch(() => {});
  return withdrawing;
}

async function openRelogin() {
  if (!session || document.querySelector('dialog.relogin[open]')) return;
  const { reloginDialog } = await loadRelogin();
  if (!session || document.querySelector('dialog.relogin[open]')) return;
  const renewed = await reloginDialog(app);
  reloginDismissed = !renewed;
  if (renewed) sync?.syncNow();
}

async function refreshStatus() {
  if (!vault.isUnlocked() || !store) return;
  try {
    shell.setSync({ pending: await store.pendingCount() });
    await refreshAttention();
  } catch {
    // Locked in the meantime; the next unlock refreshes.
  }
}

async function refreshAttention() {
  if (!vault.isUnlocked() || !store) return;
  try {
    shell.setAttention((await store.attentionItems()).length);
  } catch {
    // Locked in the meantime.
  }
}

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
