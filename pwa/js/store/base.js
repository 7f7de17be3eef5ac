/**
 * What every part of one store shares: its database, its key source, its clock and ids, the storage manager,
 * and the lock under which each read-modify-write runs alone, across tabs too (Web Locks).
 */
import { database } from '../idb.js';
import { localToday } from '../protocol.js';
import { key as vaultKey } from '../vault.js';

/**
 * The page's database and the vault's key unless a test passes its own.
 * @param {{db?: () => Promise<IDBDatabase>, key?: () => CryptoKey, now?: () => Date, randomUUID?: () => string,
 *          locks?: LockManager|null, storage?: StorageManager|null}} [deps]
 */
export function createBase({
  db = database, key = vaultKey, now = () => new Date(), randomUUID = () => crypto.randomUUID(),
  locks = globalThis.navigator?.locks ?? null, storage = globalThis.navigator?.storage ?? null,
} = {}) {
  let chain = Promise.resolve();
  return {
    db,
    key,
    randomUUID,
    storage,
    /** The device's calendar day, YYYY-MM-DD: the school's today on a tablet in the school's time zone. */
    today: () => localToday(now()),
    stamp: () => now().toISOString(),
    // Every read-modify-write runs alone, across tabs too: views are computed from what was read, and the
    // counters (nextSeq, provisionalNo) are read before sealing, which happens outside the transaction.
    exclusive(fn) {
      if (locks) return locks.request('ishenim-store', () => fn());
      const next = chain.then(fn, fn);
      chain = next.catch(() => {});
      return next;
    },
  };
}
