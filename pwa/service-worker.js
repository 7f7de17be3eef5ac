/* Ishenim's service worker: the static shell only. Letters, tokens and every /api/ answer stay out of
 * Cache Storage; the encrypted journal lives in IndexedDB. A new version waits until the page asks it to
 * take over (SKIP_WAITING), because an open page may hold unsaved input. */

const VERSION = '2026-12-07.1';
// Filled in by the server (server/pwa.py): each SHELL file's version (the hash of the bytes it serves) and
// one hash of them all. Any changed file is thus a new worker, which precaches into a cache of its own.
const VERSIONS = {};
const BUILD = '';
const PREFIX = 'ishenim-shell-';
const CACHE = BUILD ? `${PREFIX}${VERSION}-${BUILD}` : `${PREFIX}${VERSION}`;

// Every file the app needs offline, listed by hand so that nothing else is ever cached.
const SHELL = [
  '/index.html',
  '/manifest.webmanifest',
  '/css/app.css',
  '/css/print.css',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
  '/locales/ky.json',
  '/locales/ru.json',
  '/locales/en.json',
  '/js/app.js',
  '/js/api.js',
  '/js/applicant.js',
  '/js/calendar.js',
  '/js/chain.js',
  '/js/crypto.js',
  '/js/dom.js',
  '/js/history.js',
  '/js/i18n.js',
  '/js/idb.js',
  '/js/protocol.js',
  '/js/router.js',
  '/js/rules.js',
  '/js/session.js',
  '/js/spec.json',
  '/js/store.js',
  '/js/sync.js',
  '/js/update.js',
  '/js/validation.js',
  '/js/vault.js',
  '/js/vocabulary.js',
  '/js/print/codes.js',
  '/js/print/documents.js',
  '/js/store/access.js',
  '/js/store/appeals.js',
  '/js/store/attention.js',
  '/js/store/base.js',
  '/js/store/errors.js',
  '/js/store/meta.js',
  '/js/store/outbox.js',
  '/js/store/parts.js',
  '/js/store/pull.js',
  '/js/store/records.js',
  '/js/store/session.js',
  '/js/store/views.js',
  '/js/store/viewlog.js',
  '/js/ui/admin-accounts.js',
  '/js/ui/admin-settings.js',
  '/js/ui/admin-values.js',
  '/js/ui/admin.js',
  '/js/ui/amend.js',
  '/js/ui/attention.js',
  '/js/ui/audit.js',
  '/js/ui/casework.js',
  '/js/ui/conflict.js',
  '/js/ui/dashboard.js',
  '/js/ui/dialogs.js',
  '/js/ui/drafts.js',
  '/js/ui/errors.js',
  '/js/ui/event-form.js',
  '/js/ui/fields.js',
  '/js/ui/filters.js',
  '/js/ui/format.js',
  '/js/ui/history.js',
  '/js/ui/journal.js',
  '/js/ui/letter-form.js',
  '/js/ui/letter-values.js',
  '/js/ui/letter.js',
  '/js/ui/login.js',
  '/js/ui/meetings.js',
  '/js/ui/new-letter.js',
  '/js/ui/openings.js',
  '/js/ui/passphrase.js',
  '/js/ui/print.js',
  '/js/ui/receipt-check.js',
  '/js/ui/relogin.js',
  '/js/ui/reminders.js',
  '/js/ui/report.js',
  '/js/ui/resend.js',
  '/js/ui/settings.js',
  '/js/ui/shell.js',
  '/js/ui/unlock.js',
  '/js/ui/urgent.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(precache());
});

/**
 * Every SHELL file, each from its versioned address (`/js/app.js?v=…`), which the server marks immutable:
 * a file unchanged since the last version comes from the HTTP cache, and only what changed is downloaded
 * (on Slow 3G, an update of one screen is one file, not the whole app). Each answer must be the version
 * this worker names, or the install fails and the browser tries again with the newer worker: the cache
 * never holds files of two versions. Stored under the plain address, which is what the pages ask for.
 */
async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.all(SHELL.map(async (path) => {
    const version = VERSIONS[path];
    // Without versions (a worker not served by the app's server) 'reload' skips the HTTP cache instead.
    const response = await fetch(version ? `${path}?v=${version}` : new Request(path, { cache: 'reload' }));
    if (!response.ok || (version && !(response.headers.get('ETag') || '').startsWith(`"${version}`))) {
      throw new Error(`${path}: not the version this worker precaches`);
    }
    await cache.put(path, response);
  }));
}

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name)),
  )).then(() => self.clients.claim()));
  // claim(): the page of a first visit is not controlled by a worker installed after it loaded, and the app
  // loads its screens with import() when they are opened: without the claim, that page going offline could
  // not open a screen it had not opened yet. (An update activates only when a page asked, SKIP_WAITING, and
  // then every controlled page switches anyway; app.js does not reload for a first claim.)
});

self.addEventListener('message', (event) => {
  const type = event.data?.type;
  if (type === 'SKIP_WAITING') event.waitUntil(self.skipWaiting()); // only when the page says its input is saved
  if (type === 'GET_VERSION') event.ports[0]?.postMessage({ version: VERSION });
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return; // the browser's own handling
  // networkOnly for /api/: the worker does not answer, so the browser asks the network itself. The worker
  // never holds an API answer (letters, tokens), and a slow API call never keeps an old worker busy, which
  // would hold back an update the user accepted.
  if (url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate' && !SHELL.includes(url.pathname)) {
    event.respondWith(cacheFirst(request, '/index.html')); // '/', '/?…': the one page of the app
  } else {
    event.respondWith(cacheFirst(request));
  }
});

/**
 * The shell's copy when there is one (`cacheKey` for navigations, so a reload offline works); the network
 * otherwise, without storing the answer: only the listed shell is ever cached.
 */
async function cacheFirst(request, cacheKey = request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(cacheKey);
  return cached || fetch(request);
}
