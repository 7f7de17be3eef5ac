// Shared fixtures: a store over a fresh in-memory IndexedDB (the fake-indexeddb package) with a random local
// key, fictional letters.
import { IDBFactory } from 'fake-indexeddb';
import { openDatabase, read } from '../../pwa/js/idb.js';
import { createLocalKey, unwrapLocalKey, wrapLocalKey } from '../../pwa/js/crypto.js';
import { createStore } from '../../pwa/js/store.js';
import { Locked } from '../../pwa/js/vault.js';

/** A non-extractable local key, as the vault holds it. */
export async function localKey() {
  const wrapping = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['wrapKey', 'unwrapKey']);
  return unwrapLocalKey(await wrapLocalKey(await createLocalKey(), wrapping), wrapping);
}

/** A clock the test moves by hand. */
export function manualClock(start = '2025-03-10T09:00:00') {
  let ms = new Date(start).getTime();
  return { now: () => ms, date: () => new Date(ms), advance: (delta) => { ms += delta; }, set: (iso) => { ms = new Date(iso).getTime(); } };
}

/**
 * A store over its own fake database. `env.locked = true` makes the key throw Locked, like a locked vault.
 * Several stores over one `factory` behave as tabs (or reloads) of one origin. `env.transactions` lists every
 * transaction the store opened, `{names, mode, durability}`, as the database saw it. `randomUUID` replaces
 * the store's ids (a test that makes two changes share one).
 */
export async function makeStore({ factory = new IDBFactory(), key, clock = manualClock(), storage = null, randomUUID } = {}) {
  const env = { factory, clock, locked: false, key: key ?? (await localKey()), transactions: [] };
  let connection = null;
  env.db = () => (connection ??= openDatabase({ factory }).then((db) => recordTransactions(db, env.transactions)));
  env.store = createStore({
    db: env.db,
    key: () => {
      if (env.locked) throw new Locked();
      return env.key;
    },
    now: clock.date,
    locks: null,
    storage,
    ...(randomUUID ? { randomUUID } : {}),
  });
  return env;
}

function recordTransactions(db, log) {
  const open = db.transaction.bind(db);
  db.transaction = (...args) => {
    const tx = open(...args);
    log.push({ names: [...tx.objectStoreNames], mode: tx.mode, durability: tx.durability });
    return tx;
  };
  return db;
}

/** Every value in every store of the store's database, as stored (sealed records stay sealed). */
export async function dump(env) {
  const db = await env.db();
  const names = [...db.objectStoreNames];
  return read(db, names, async (s) => Object.fromEntries(await Promise.all(names.map(async (name) => [name, await s[name].getAll()]))));
}

let counter = 0;
/** `appeal.registered` data for a signed letter (fictional), received on the test's today. */
export function registration(overrides = {}) {
  counter += 1;
  return {
    received_on: '2025-03-10',
    opening_id: null,
    applicant: { anonymous: false, full_name: `Асель Маматова ${counter}`, age: 13, role: 'student', grade: '7Б', address: 'ул. Примерная, 1', phone: '+996 555 000 000' },
    summary: `Одноклассники отбирают деньги на обед (${counter}).`,
    text: null,
    category: 'bullying',
    urgent: false,
    receipt_code: null,
    ...overrides,
  };
}

export function anonymousRegistration(overrides = {}) {
  return registration({
    applicant: { anonymous: true, full_name: null, age: null, role: 'unknown', grade: null, address: null, phone: null },
    ...overrides,
  });
}

/**
 * Timers the test fires by hand: `fire()` runs every armed callback once (awaiting each), newest
 * arming included, so nothing depends on real time.
 */
export function fakeTimers() {
  const timers = new Map();
  let next = 1;
  return {
    setTimeout: (fn, ms) => { timers.set(next, { fn, ms }); return next++; },
    clearTimeout: (id) => timers.delete(id),
    delays: () => [...timers.values()].map((t) => t.ms),
    pending: () => [...timers.values()],
    count: () => timers.size,
    async fire() {
      const all = [...timers.values()];
      timers.clear();
      for (const t of all) await t.fn();
    },
  };
}
