/**
 * The sealed letters of the journal: the list and one letter's view, and the three things done to a letter
 * on the tablet, each checked by the rules as the server would check it (offline too) and written with its
 * outbox row in one transaction: registering it (with the next provisional mark), correcting it, and its case
 * work. A case the server erased (retention, PROTOCOL.md §6.7) takes no more work: `appeal_erased`. The
 * corrections of this device that another replaced (history.js) are noted as seen once the letter is opened.
 */
import { read, write } from '../idb.js';
import { openRecord, sealRecord } from '../crypto.js';
import { Refusal } from '../protocol.js';
import { evolve } from '../rules.js';
import { validateAmendment, validateEventData, validateRegistration } from '../validation.js';
import { EVENT_TYPES } from '../vocabulary.js';
import { NotFound, ValidationFailed } from './errors.js';
import { askPersistenceOnce, getMeta } from './meta.js';
import { enqueue } from './outbox.js';
import { loadParts, openAll, recordsById, rowsOf } from './parts.js';
import { foldState } from './views.js';

/** Newest first: date received, then official number, then provisional mark. */
function newestFirst(a, b) {
  return (b.received_on ?? '').localeCompare(a.received_on ?? '')
    || (b.serial_no ?? Infinity) - (a.serial_no ?? Infinity)
    || (b.provisional_no ?? 0) - (a.provisional_no ?? 0);
}

/** Nothing more is recorded on a case whose contents the server erased (retention). */
function refuseErased(record) {
  if (record.server?.erased) throw new Refusal('appeal_erased', 'The contents of this case were erased.');
}

/** The store's methods for letters. */
export function appealMethods(base) {
  const { db, key, exclusive, today, randomUUID } = base;
  return {
    /** @returns {Promise<object[]>} every appeal's view, newest first */
    async listAppeals() {
      const k = key();
      const raws = await read(await db(), ['appeals'], (s) => s.appeals.getAll());
      const records = await openAll(k, 'appeals', raws);
      return records.map((record) => record.view).filter(Boolean).sort(newestFirst);
    },

    /** @returns {Promise<object|null>} */
    async getAppeal(id) {
      const k = key();
      const raw = await read(await db(), ['appeals'], (s) => s.appeals.get(id));
      return raw ? (await openRecord(k, 'appeals', raw)).view : null;
    },

    /**
     * Note that the person saw which of this device's corrections were replaced (the replacing history
     * entries' ids): the letter's mark and banner go. Kept in the letter's sealed view.
     * @param {string} id appeal id
     * @param {string[]} entryIds
     */
    markSupersededSeen: (id, entryIds) => exclusive(async () => {
      const k = key();
      const raw = await read(await db(), ['appeals'], (s) => s.appeals.get(id));
      if (!raw || entryIds.length === 0) return;
      const record = await openRecord(k, 'appeals', raw);
      const seen = new Set([...(record.view.superseded_seen ?? []), ...entryIds]);
      const view = { ...record.view, superseded_seen: [...seen] };
      const sealed = await sealRecord(k, 'appeals', id, { server: record.server, view });
      await write(await db(), ['appeals'], (s) => s.appeals.put(sealed));
    }),

    /**
     * Register a letter: a new appeal id, a mutation id, the next seq and a provisional number, the outbox
     * row and the appeal, in one strict transaction.
     * @param {object} data `appeal.registered` data (sync/PROTOCOL.md §7.2)
     * @returns {Promise<object>} the view
     * @throws {ValidationFailed|Refusal}
     */
    registerAppeal: (data) => exclusive(async () => {
      const k = key();
      const loaded = validateRegistration(data);
      if (loaded.errors) throw new ValidationFailed(loaded.errors);
      // As the server would.
      evolve(null, EVENT_TYPES.REGISTERED, null, loaded.value, today(), await recordsById(base, k));
      const appealId = randomUUID();
      const parts = await loadParts(base, k, [appealId]);
      const provisionalNo = (await getMeta(base, 'provisionalNo')) ?? 1;
      const mutation = { id: randomUUID(), type: EVENT_TYPES.REGISTERED, appeal_id: appealId, base_version: null, data: loaded.value };
      const view = await enqueue(base, k, mutation, { parts, server: null, provisionalNo });
      askPersistenceOnce(base);
      return view;
    }),

    /**
     * Correct a letter, with a reason, against the version the view shows.
     * @param {string} id appeal id
     * @param {object} changes a subset of the registration's fields (`applicant` may be partial)
     * @param {string} reason
     * @returns {Promise<object>} the view
     * @throws {ValidationFailed|Refusal|NotFound}
     */
    amendAppeal: (id, changes, reason) => exclusive(async () => {
      const k = key();
      const loaded = validateAmendment({ changes, reason });
      if (loaded.errors) throw new ValidationFailed(loaded.errors);
      const parts = await loadParts(base, k, [id]);
      const record = parts.records.get(id);
      if (!record) throw new NotFound('The appeal');
      refuseErased(record);
      const rows = parts.rows.filter((row) => row.mutation.appeal_id === id);
      const registered = record.server || rows.some((row) => row.mutation.type === EVENT_TYPES.REGISTERED);
      // A registration the server refused must be sent again first; a correction of it would be refused.
      if (!registered) throw new Refusal('registration_needs_attention', 'Resend the registration first.');
      const { state } = foldState(record.server, rows.sort((a, b) => a.seq - b.seq));
      evolve(state, EVENT_TYPES.AMENDED, state.version, loaded.value, today(), await recordsById(base, k));
      const mutation = { id: randomUUID(), type: EVENT_TYPES.AMENDED, appeal_id: id, base_version: state.version, data: loaded.value };
      return enqueue(base, k, mutation, { parts, server: record.server });
    }),

    /**
     * Record case work on a letter (a decision, a referral and its feedback, an answer, a stand notice posted
     * or taken down, a measure, the closing, or "not accepted"), against the version the view shows. The
     * rules run here as on the server, so a refusal is known at once, offline too.
     * @param {string} id appeal id
     * @param {string} type one of the appeal.* EVENT_TYPES but registered and amended
     * @param {object} data the event's data (sync/PROTOCOL.md §7)
     * @returns {Promise<object>} the view
     * @throws {ValidationFailed|Refusal|NotFound}
     */
    recordCaseWork: (id, type, data) => exclusive(async () => {
      const k = key();
      const loaded = validateEventData(type, data);
      if (loaded.errors) throw new ValidationFailed(loaded.errors);
      const parts = await loadParts(base, k, [id]);
      const record = parts.records.get(id);
      if (!record) throw new NotFound('The appeal');
      refuseErased(record);
      const { state } = foldState(record.server, rowsOf(parts, id));
      if (!state) throw new Refusal('registration_needs_attention', 'Resend the registration first.');
      evolve(state, type, state.version, loaded.value, today(), await recordsById(base, k));
      const mutation = { id: randomUUID(), type, appeal_id: id, base_version: state.version, data: loaded.value };
      return enqueue(base, k, mutation, { parts, server: record.server });
    }),
  };
}
