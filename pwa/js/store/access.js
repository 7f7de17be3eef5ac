/**
 * Access withdrawn (the server answered 401 `device_revoked` or `account_disabled`): the tablet
 * forgets every record it pulled — letters, cases, openings, meetings, reports, their views, the pull cursor
 * and the journal's chain head — and its token, and keeps only its own work not yet sent: the unsent outbox
 * rows (and the letters they register, rebuilt from them alone), what "needs attention", and the unsent
 * views, all sealed as before. The plain `withdrawn` mark (the code) says so until the next login.
 */
import { read, write } from '../idb.js';
import { sealRecord } from '../crypto.js';
import { SESSION_ID, loadParts, readSession, sealedSubject } from './parts.js';
import { subjectOf } from './views.js';

/** The store's methods for a withdrawn access. */
export function accessMethods(base) {
  const { db, key, exclusive } = base;
  return {
    /**
     * Forget what was pulled; keep the unsent work; mark the tablet withdrawn with `code`.
     * @param {string} code 'device_revoked' | 'account_disabled'
     * @returns {Promise<{kept: number}>} outbox rows kept
     */
    forgetPulled: (code) => exclusive(async () => {
      const k = key();
      const session = await readSession(base, k);
      const everyRow = await read(await db(), ['outbox'], (s) => s.outbox.getAll());
      const dropped = everyRow.filter((raw) => raw.acked).map((raw) => raw.seq); // the server has them
      const subjectIds = [...new Set(everyRow.filter((raw) => !raw.acked).map((raw) => raw.appeal_id))];
      const parts = await loadParts(base, k, subjectIds);
      // The letters and records this tablet made itself and has not sent, rebuilt from its own rows only;
      // a letter keeps its provisional mark (~3).
      const own = { records: new Map(), rows: parts.rows.filter((row) => !row.acked), attention: parts.attention };
      const subjects = [];
      for (const id of subjectIds) {
        const row = own.rows.find((r) => subjectOf(r.mutation) === id);
        if (!row) continue;
        const isAppeal = Boolean(row.mutation.appeal_id);
        const provisionalNo = isAppeal ? parts.records.get(id)?.view?.provisional_no ?? null : null;
        const subject = await sealedSubject(k, id, own, null, isAppeal, { provisionalNo });
        if (subject) subjects.push(subject);
      }
      const sealedSession = session ? await sealRecord(k, 'session', SESSION_ID, { ...session, token: null }) : null;
      await write(await db(), ['appeals', 'records', 'outbox', 'session', 'meta'], async (s) => {
        await s.appeals.clear();
        await s.records.clear();
        for (const seq of dropped) await s.outbox.delete(seq);
        for (const subject of subjects) await s[subject.store].put(subject.sealed);
        if (sealedSession) await s.session.put(sealedSession);
        await s.meta.put(0, 'cursor');
        await s.meta.delete('chain');
        await s.meta.put(code, 'withdrawn');
      });
      return { kept: own.rows.length };
    }),
  };
}
