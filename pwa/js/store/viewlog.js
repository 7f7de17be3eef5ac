/**
 * The openings of letters on this tablet, for the server's audit: each time a letter's page is shown, a
 * view `{id, appeal_id, viewed_at}` is kept in the `viewlog` store, sealed like every record (offline too),
 * until the sync loop has sent it (`POST /api/v1/audit/views`) and the server recorded or refused it.
 * Nothing of the letter but its id is in a view.
 */
import { read, write } from '../idb.js';
import { openRecord, sealRecord } from '../crypto.js';

/** The most views one request carries (the server's limit). */
export const MAX_VIEWS_PER_REQUEST = 500;

/** The store's methods for the letters opened on this tablet. */
export function viewlogMethods(base) {
  const { db, key, randomUUID, stamp } = base;
  return {
    /**
     * Note that a letter's page was shown now.
     * @param {string} appealId
     * @returns {Promise<{id: string, appeal_id: string, viewed_at: string}>}
     */
    async recordView(appealId) {
      const view = { id: randomUUID(), appeal_id: appealId, viewed_at: stamp() };
      const sealed = await sealRecord(key(), 'viewlog', view.id, view);
      await write(await db(), ['viewlog'], (s) => s.viewlog.put(sealed));
      return view;
    },

    /**
     * The views not yet sent, oldest first.
     * @param {number} [limit]
     * @returns {Promise<Array<{id: string, appeal_id: string, viewed_at: string}>>}
     */
    async unsentViews(limit = MAX_VIEWS_PER_REQUEST) {
      const k = key();
      const raws = await read(await db(), ['viewlog'], (s) => s.viewlog.getAll());
      const views = await Promise.all(raws.map((raw) => openRecord(k, 'viewlog', raw)));
      return views.sort((a, b) => a.viewed_at.localeCompare(b.viewed_at) || a.id.localeCompare(b.id)).slice(0, limit);
    },

    /** @returns {Promise<number>} views not yet sent (readable while locked) */
    async viewCount() {
      return read(await db(), ['viewlog'], (s) => s.viewlog.count());
    },

    /**
     * The server answered: its recorded and refused views leave the log.
     * @param {string[]} ids
     */
    async forgetViews(ids) {
      if (!ids.length) return;
      await write(await db(), ['viewlog'], async (s) => {
        for (const id of ids) await s.viewlog.delete(id);
      });
    },
  };
}
