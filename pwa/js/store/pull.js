/**
 * Applying a pulled page: each subject's server state replaced and its view recomputed; acknowledged rows
 * whose effect the page shows leave the outbox; a case erased on the server (retention, PROTOCOL.md §6.7)
 * takes with it what this tablet set aside about it; the cursor, the working-day calendar and the journal's
 * chain head move in the same transaction. A page that arrives after the tablet's access was withdrawn
 * (access.js) is not kept.
 */
import { write } from '../idb.js';
import { EVENT_TYPES } from '../vocabulary.js';
import { getMeta, setMeta } from './meta.js';
import { loadParts, sealedSubject } from './parts.js';
import { subjectOf } from './views.js';

/** The store's pull methods, for the sync loop. */
export function pullMethods(base) {
  const { db, key, exclusive } = base;
  return {
    /**
     * Store a pulled page: each appeal's server state replaced and its view recomputed; acknowledged rows
     * whose effect the page shows leave the outbox; the cursor moves in the same transaction.
     * @param {object[]} changes
     * @param {number} cursor
     */
    applyPull: (changes, cursor, { calendar = null, chain: head = null } = {}) => exclusive(async () => {
      const k = key();
      const appealChanges = changes.filter((change) => (change.entity ?? 'appeal') === 'appeal');
      const recordChanges = changes.filter((change) => ['opening', 'meeting', 'report'].includes(change.entity));
      const parts = await loadParts(base, k, changes.map((change) => change.id));
      const done = [];
      const sealed = [];
      // A case erased on the server: what this tablet set aside about it goes too (PROTOCOL.md §6.7).
      const erased = new Set(appealChanges.filter((change) => change.erased).map((change) => change.id));
      const forgotten = parts.attention.filter((item) => erased.has(item.mutation.appeal_id)).map((item) => item.mutation.id);
      parts.attention = parts.attention.filter((item) => !erased.has(item.mutation.appeal_id));
      for (const change of appealChanges) {
        const seen = new Set((change.history ?? []).map((entry) => entry.id));
        const shows = (row) => row.acked && row.mutation.appeal_id === change.id
          && (change.history ? seen.has(row.mutation.id) : change.version >= (row.acked.version ?? Infinity));
        done.push(...parts.rows.filter(shows).map((row) => row.seq));
        parts.rows = parts.rows.filter((row) => !shows(row));
        sealed.push(await sealedSubject(k, change.id, parts, change, true));
      }
      for (const change of recordChanges) {
        // The record shows its recording; an acknowledgement shows once the pulled act carries it.
        const shows = (row) => row.acked && subjectOf(row.mutation) === change.id
          && (row.mutation.type !== EVENT_TYPES.OPENING_ACKNOWLEDGED || Boolean(change.acknowledged_at));
        done.push(...parts.rows.filter(shows).map((row) => row.seq));
        parts.rows = parts.rows.filter((row) => !shows(row));
        sealed.push(await sealedSubject(k, change.id, parts, change, false));
      }
      await write(await db(), ['appeals', 'records', 'outbox', 'attention', 'meta'], async (s) => {
        if (await s.meta.get('withdrawn')) return; // asked before the access was withdrawn: forgotten with the rest
        for (const subject of sealed) await s[subject.store].put(subject.sealed);
        for (const seq of done) await s.outbox.delete(seq);
        for (const mutationId of forgotten) await s.attention.delete(mutationId);
        await s.meta.put(cursor, 'cursor');
        // Public holidays and the school's working week: not confidential, and needed before unlocking.
        if (calendar) await s.meta.put(calendar, 'calendar');
        if (head) await s.meta.put(head, 'chain'); // the journal's hash-chain head, for the printed journal
      });
    }),

    /** @returns {Promise<number>} the change number pulled up to */
    getCursor: async () => (await getMeta(base, 'cursor')) ?? 0,

    /** Pull everything again from 0 (after 409 cursor_ahead); nothing else is touched. */
    resetCursor: () => setMeta(base, 'cursor', 0),
  };
}
