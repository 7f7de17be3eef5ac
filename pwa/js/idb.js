/**
 * The small IndexedDB helper: open `ishenim` with a fall-through upgrade ladder, and run a function inside
 * one transaction with promise-returning store wrappers. Writes ask for `durability: 'strict'`.
 *
 * Inside `read`/`write` await only the wrappers' requests: a transaction commits as soon as nothing is
 * pending, so encrypting (or fetching) in the middle would close it. Seal first, then open the transaction.
 */

export const DB_NAME = 'ishenim';
export const DB_VERSION = 3;

/** Create or migrate the stores of docs/PWA.md; each step runs once, in order. */
function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore('meta'); // out-of-line keys: the setting's name
    db.createObjectStore('session', { keyPath: 'id' });
    db.createObjectStore('appeals', { keyPath: 'id' });
    const outbox = db.createObjectStore('outbox', { keyPath: 'seq' });
    outbox.createIndex('by_id', 'id', { unique: true });
    outbox.createIndex('by_appeal', 'appeal_id');
    db.createObjectStore('attention', { keyPath: 'id' });
  }
  if (oldVersion < 2) {
    // Openings of the box and commission meetings: records of their own, sealed like appeals.
    db.createObjectStore('records', { keyPath: 'id' });
  }
  if (oldVersion < 3) {
    // The letter pages shown on this tablet, sealed, until the server's audit has them.
    db.createObjectStore('viewlog', { keyPath: 'id' });
  }
}

/** A request as a promise. */
export function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Open (and create or upgrade) the database. Another tab's newer version closes this connection.
 * @param {{name?: string, factory?: IDBFactory}} [options]
 * @returns {Promise<IDBDatabase>}
 */
export function openDatabase({ name = DB_NAME, factory = globalThis.indexedDB } = {}) {
  const request = factory.open(name, DB_VERSION);
  request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
  return promisify(request).then((db) => {
    db.onversionchange = () => db.close();
    return db;
  });
}

let shared = null;
/** The page's one connection, opened on first use, and again after a newer version or the browser closed it. */
export function database() {
  shared ??= openDatabase().then((db) => {
    const forget = () => { shared = null; };
    db.addEventListener('versionchange', forget);
    db.addEventListener('close', forget);
    return db;
  }, (error) => {
    shared = null;
    throw error;
  });
  return shared;
}

function wrapStore(store) {
  const call = (method) => (...args) => promisify(store[method](...args));
  const wrapped = Object.fromEntries(['get', 'getAll', 'getAllKeys', 'put', 'delete', 'clear', 'count'].map((m) => [m, call(m)]));
  wrapped.index = (name) => {
    const index = store.index(name);
    return Object.fromEntries(['get', 'getAll', 'getAllKeys', 'count'].map((m) => [m, (...args) => promisify(index[m](...args))]));
  };
  return wrapped;
}

async function run(db, names, mode, fn) {
  const tx = mode === 'readwrite' ? db.transaction(names, mode, { durability: 'strict' }) : db.transaction(names, mode);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error ?? new DOMException('Transaction aborted', 'AbortError'));
  });
  done.catch(() => {}); // observed below; never an unhandled rejection
  const stores = Object.fromEntries(names.map((n) => [n, wrapStore(tx.objectStore(n))]));
  try {
    const result = await fn(stores);
    await done;
    return result;
  } catch (error) {
    try { tx.abort(); } catch { /* finished already */ }
    throw error;
  }
}

/** Run `fn(stores)` in a read-only transaction over `names`. */
export const read = (db, names, fn) => run(db, names, 'readonly', fn);
/** Run `fn(stores)` in one strict read-write transaction over `names`: all of it is written, or none. */
export const write = (db, names, fn) => run(db, names, 'readwrite', fn);
