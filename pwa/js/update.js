/**
 * The service worker and the update prompt. The worker is registered once the first screen is drawn (its
 * install precaches every file of the app, which on Slow 3G would otherwise queue in front of the first
 * screen's own requests). An open app asks hourly, and whenever it is shown again, whether a new version
 * exists; a new version waiting is offered in a banner, takes over only once the user accepted it and no
 * form holds unsaved input (ui/drafts.js), and the page reloads then (also when another tab accepted it).
 */
import * as drafts from './ui/drafts.js';

/** How often an open app asks the server whether a new shell version exists. */
const UPDATE_CHECK_MS = 60 * 60_000;

let shell = null;
let waitingWorker = null;
let updateAccepted = false; // the user pressed "Reload" (or another tab took the update)
let controllerChanged = false; // the new version controls this page: reload as soon as nothing is unsaved
let hadController = false; // whether a worker controlled this page before (not so on a first visit)
let reloading = false;

/**
 * Register the service worker and offer its updates in the shell's banner. Called once.
 * @param {object} theShell ui/shell.js's
 */
export function watchForUpdates(theShell) {
  shell = theShell;
  drafts.onUnsavedChange(() => {
    showUpdateBanner();
    activateUpdateWhenSaved();
    reloadWhenSaved();
  });
  registerServiceWorker();
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  hadController = Boolean(navigator.serviceWorker.controller);
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
  // The first worker claiming a page it did not load (service-worker.js, activate): the same version, no update.
  if (!hadController) {
    hadController = true;
    return;
  }
  // Also fires when another tab accepted the update: reload only once nothing unsaved is on this page.
  controllerChanged = true;
  reloadWhenSaved();
}

function reloadWhenSaved() {
  if (reloading || !controllerChanged) return;
  if (drafts.hasUnsaved()) {
    showUpdateBanner();
    return;
  }
  reloading = true;
  location.reload();
}

/** The shell version the active service worker serves (for Settings → About). */
export function shellVersion() {
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
