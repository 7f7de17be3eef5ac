/**
 * The encrypted local journal: the session, the appeals, the openings, meetings and reports, the outbox,
 * "needs attention" and the pull cursor, every record sealed under the vault's key (docs/PWA.md). A local
 * change and its outbox row are written in one strict transaction; everything is sealed before the
 * transaction opens.
 *
 * An appeal's `view` is its `server` state (the last pulled change) with the outbox rows of that appeal
 * folded over it in seq order by rules.js. Rows the server has acknowledged stay in the outbox, marked
 * `acked`, until a pull shows their effect (PROTOCOL.md §5.6): until then the view still shows them, and a
 * server restored from an older backup can be sent them again.
 *
 * This module puts the store together from its parts in store/: base.js (the database, the key, the clock,
 * the lock), parts.js (the reads a change shares), views.js (pure), outbox.js (enqueue and settle), and the
 * methods of session.js, appeals.js, records.js, attention.js, pull.js, meta.js, viewlog.js (the letters
 * opened here, for the audit) and access.js (forgetting what was pulled when access is withdrawn).
 */
import { accessMethods } from './store/access.js';
import { appealMethods } from './store/appeals.js';
import { attentionMethods } from './store/attention.js';
import { createBase } from './store/base.js';
import { metaMethods } from './store/meta.js';
import { outboxMethods } from './store/outbox.js';
import { pullMethods } from './store/pull.js';
import { recordMethods } from './store/records.js';
import { sessionMethods } from './store/session.js';
import { viewlogMethods } from './store/viewlog.js';

export { Locked } from './vault.js';
export { Refusal } from './protocol.js';
export { MutationIdTaken, NotFound, ValidationFailed } from './store/errors.js';

/**
 * A store over a database and a key source. The app uses the module-level functions below, which are this
 * factory's methods over the page's database and the vault; tests pass their own.
 * @param {{db?: () => Promise<IDBDatabase>, key?: () => CryptoKey, now?: () => Date, randomUUID?: () => string,
 *          locks?: LockManager|null, storage?: StorageManager|null}} [deps]
 */
export function createStore(deps = {}) {
  const base = createBase(deps);
  return {
    ...sessionMethods(base),
    ...appealMethods(base),
    ...recordMethods(base),
    ...outboxMethods(base),
    ...attentionMethods(base),
    ...pullMethods(base),
    ...metaMethods(base),
    ...viewlogMethods(base),
    ...accessMethods(base),
  };
}

// The app's store, over the page's database and the vault's key.
export const {
  getSession, saveSession, forgetToken, listAppeals, getAppeal, registerAppeal, amendAppeal, recordCaseWork,
  recordOpening, recordMeeting, acknowledgeOpening, presentReport, listRecords, getRecord, pendingCount, pendingMutations,
  applyPushResults, moveToAttention, attentionItems, attentionItem, resendFromAttention, withdrawFromAttention,
  markSupersededSeen, applyPull, getCursor, resetCursor, renumberPending, noteServerSeq, getMeta, setMeta,
  storageEstimate, requestPersistence, recordView, unsentViews, viewCount, forgetViews, forgetPulled,
} = createStore();
