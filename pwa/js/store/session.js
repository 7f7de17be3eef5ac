/**
 * The session record, sealed like every other (`{token, device_id, expires_at, user, device_name, school}`):
 * kept after a login, its token forgotten at logout. A new device id (a new enrolment after
 * `device_revoked`) renumbers everything still in the outbox from 1, ids kept (PROTOCOL.md §5.6). A session
 * with a token lifts the mark of a withdrawn access (access.js).
 */
import { write } from '../idb.js';
import { sealRecord } from '../crypto.js';
import { renumberIn } from './outbox.js';
import { SESSION_ID, readSession } from './parts.js';

/** The store's session methods. */
export function sessionMethods(base) {
  const { db, exclusive } = base;
  return {
    /** @returns {Promise<object|null>} the session `{token, device_id, user, school, …}` */
    getSession: async () => readSession(base, base.key()),

    /**
     * Keep the session (sealed). When the device id changes (a new enrolment after `device_revoked`),
     * everything still held in the outbox is renumbered from 1, ids kept (PROTOCOL.md §5.6).
     * @param {object} session
     */
    saveSession: (session) => exclusive(async () => {
      const k = base.key();
      const previous = await readSession(base, k);
      const sealed = await sealRecord(k, 'session', SESSION_ID, session);
      const newDevice = Boolean(previous?.device_id && session.device_id && previous.device_id !== session.device_id);
      await write(await db(), ['session', 'outbox', 'meta'], async (s) => {
        await s.session.put(sealed);
        if (newDevice) await renumberIn(s, 1);
        if (session.token) await s.meta.delete('withdrawn');
      });
    }),

    /** Log out: the token is forgotten; the device id, the letters and the outbox all stay. */
    forgetToken: () => exclusive(async () => {
      const k = base.key();
      const session = await readSession(base, k);
      if (!session) return;
      const sealed = await sealRecord(k, 'session', SESSION_ID, { ...session, token: null });
      await write(await db(), ['session'], (s) => s.session.put(sealed));
    }),
  };
}
