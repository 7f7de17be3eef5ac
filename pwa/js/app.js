/**
 * The entry: boot. The language, the shell, and the three parts of the app wired together: the router
 * (router.js: #/… addresses, the screens), the session (session.js: login, unlock, lock, relogin, logout,
 * the sync loop) and the update prompt (update.js: the service worker, registered once the first screen is
 * drawn). `app` is what the screens get: the data layer and the app's few verbs.
 *
 * Only what a fresh device's first screen needs is imported statically (the server bundles this module and
 * its static imports into the page, server/pwa_bundle.py): the login form, the shell, the vault (does one
 * exist?), the router, the session and the update prompt. Every other screen, and the encrypted store and
 * the sync loop, come with `import()` when first needed. On Slow 3G each further file on the critical path
 * costs a round trip of 2 s (six at a time over HTTP/1.1), and a fresh device's first screen is the login
 * form. The service worker, registered once the first screen is drawn, still precaches every file, so every
 * screen works offline afterwards.
 */
import * as api from './api.js';
import * as vault from './vault.js';
import { onLanguageChange, savedLanguage, setLanguage, t } from './i18n.js';
import { createShell } from './ui/shell.js';
import * as drafts from './ui/drafts.js';
import { flash, navigate, route, startRouter } from './router.js';
import * as session from './session.js';
import { shellVersion, watchForUpdates } from './update.js';

/** What the screens get: the data layer and the app's few verbs. */
const app = {
  api,
  /** The encrypted store: route() loads it before any screen that may read it. */
  get store() {
    return session.loadedStore();
  },
  vault,
  /** The login made before the vault exists: kept in memory until the passphrase is set. */
  pendingLogin: null,
  get session() {
    return session.currentSession();
  },
  navigate,
  saveSession: session.saveSession,
  startSession: session.startSession,
  afterUnlock: session.afterUnlock,
  markVaultCreated: session.markVaultCreated,
  lock: () => vault.lock(),
  logout: session.logout,
  shellVersion,
  /** After a letter or a correction was saved: the counts, and a sync when online. */
  afterSave: session.afterSave,
  /** A short notice shown on top of the next screen ("Saved on this tablet"). */
  flash,
  /** A letter's page was shown: noted for the server's audit. */
  recordView: session.recordView,
};

let shell;
let workerRegistered = false;

/** After the first screen is drawn: the service worker, and on an enrolled tablet the store, readied. */
function afterFirstScreen() {
  if (workerRegistered) return;
  workerRegistered = true;
  setTimeout(() => {
    watchForUpdates(shell); // after this task, so the screen is painted first
    // An enrolled tablet (its worker answers from the cache) readies the store while the passphrase is
    // typed. Not on a first visit: the page would download those files beside the worker's precache.
    if (navigator.serviceWorker?.controller) session.loadData().catch(() => {});
  }, 0);
}

function watchConnectivity() {
  const update = () => shell.setSync({ online: navigator.onLine });
  window.addEventListener('online', update);
  window.addEventListener('offline', update);
}

async function boot() {
  // The local database opens meanwhile (the first route asks it whether a vault exists): ~0.1 s at 4× CPU.
  session.vaultExists().catch(() => {});
  try {
    await setLanguage(savedLanguage(), { persist: false });
  } catch {
    await setLanguage('ky', { persist: false }).catch(() => {});
  }
  document.title = t('app.title');
  shell = createShell(document.getElementById('app'), {
    onLock: () => vault.lock(),
    onSyncNow: session.syncNow,
  });
  onLanguageChange(() => {
    document.title = t('app.title');
    shell.render();
    route();
  });
  session.watchSession({ shell, app });
  window.addEventListener('beforeunload', (event) => {
    // Unsaved input lives in memory only; closing the page would lose it, so the browser asks first.
    if (drafts.hasUnsaved()) event.preventDefault();
  });
  watchConnectivity();
  const routed = startRouter({ shell, app, loadData: session.loadData, vaultExists: session.vaultExists, onDrawn: afterFirstScreen });
  routed.catch(() => afterFirstScreen()); // the worker is registered even if no screen could be drawn
}

boot();
