/**
 * The plain settings of the `meta` store (never confidential: nextSeq, provisionalNo, cursor, lastSync,
 * calendar, chain, persistenceAsked, …) and the browser's storage: how much is used, and the request to
 * keep this origin's data under storage pressure, made once, after the first saved letter.
 */
import { read, write } from '../idb.js';

export const getMeta = async ({ db }, name) => read(await db(), ['meta'], (s) => s.meta.get(name));

export const setMeta = async ({ db }, name, value) => write(await db(), ['meta'], (s) => s.meta.put(value, name));

async function requestPersistence({ storage }) {
  if (!storage?.persist) return false;
  if (await storage.persisted?.()) return true;
  return storage.persist();
}

/** Ask for persistence once, after the first save, never blocking it: Chromium answers without a prompt. */
export function askPersistenceOnce(base) {
  getMeta(base, 'persistenceAsked').then(async (asked) => {
    if (asked) return;
    await setMeta(base, 'persistenceAsked', true);
    await requestPersistence(base);
  }).catch(() => {});
}

/** The store's meta and storage methods. */
export function metaMethods(base) {
  return {
    /** A plain (unsealed, never confidential) setting: nextSeq, provisionalNo, cursor, lastSync, … */
    getMeta: (name) => getMeta(base, name),

    setMeta: (name, value) => setMeta(base, name, value),

    /** @returns {Promise<{usage: number, quota: number}|null>} */
    async storageEstimate() {
      if (!base.storage?.estimate) return null;
      const { usage = 0, quota = 0 } = await base.storage.estimate();
      return { usage, quota };
    },

    /** Ask the browser to keep this origin's data under storage pressure. @returns {Promise<boolean>} */
    requestPersistence: () => requestPersistence(base),
  };
}
