/**
 * "Needs attention": the mutations the server refused (or could not read), set aside with its answer and
 * never sent again by themselves; the user sends one again, as it was or corrected, under a new seq.
 */
import { read } from '../idb.js';
import { openRecord } from '../crypto.js';
import { Refusal } from '../protocol.js';
import { evolve } from '../rules.js';
import { validateAmendment, validateEventData, validateRegistration } from '../validation.js';
import { EVENT_TYPES } from '../vocabulary.js';
import { NotFound, ValidationFailed } from './errors.js';
import { enqueue } from './outbox.js';
import { loadParts, openAll, readSession, recordsById, rowsOf } from './parts.js';
import { foldState, stateFromChange, subjectOf } from './views.js';

/** Check an event's data with the validator of its type. @returns {{value?: object, errors?: object}} */
function validateAny(type, data) {
  if (type === EVENT_TYPES.REGISTERED) return validateRegistration(data);
  if (type === EVENT_TYPES.AMENDED) return validateAmendment(data);
  return validateEventData(type, data);
}

/** The store's methods for "needs attention". */
export function attentionMethods(base) {
  const { db, key, exclusive, today, randomUUID } = base;
  return {
    /** @returns {Promise<{id: string, mutation: object, result: object, at: string}[]>} oldest first */
    async attentionItems() {
      const k = key();
      const raws = await read(await db(), ['attention'], (s) => s.attention.getAll());
      const items = await openAll(k, 'attention', raws);
      return items.map((item) => ({ id: item.mutation.id, ...item })).sort((a, b) => a.at.localeCompare(b.at));
    },

    /**
     * Send a mutation from "needs attention" again, under a new seq, as the user decided: with its data as
     * it was, or with `newData`. A correction is made against the version the appeal has now. It keeps its
     * mutation id only after `seq_reused` (it may have been recorded under its old seq); otherwise it is a
     * new mutation.
     * @param {string} mutationId
     * @param {object} [newData]
     * @returns {Promise<object>} the appeal's view
     * @throws {NotFound|ValidationFailed|Refusal}
     */
    resendFromAttention: (mutationId, newData) => exclusive(async () => {
      const k = key();
      const raw = await read(await db(), ['attention'], (s) => s.attention.get(mutationId));
      if (!raw) throw new NotFound('The item');
      const { mutation, result } = await openRecord(k, 'attention', raw);
      const loaded = validateAny(mutation.type, newData ?? mutation.data);
      if (loaded.errors) throw new ValidationFailed(loaded.errors);
      const subject = subjectOf(mutation);
      const parts = await loadParts(base, k, [subject]);
      const held = parts.records.get(subject) ?? null;
      const server = held?.server ?? null;
      let state = null;
      let baseVersion = null;
      if (mutation.type === EVENT_TYPES.REGISTERED) {
        state = server && stateFromChange(server);
      } else if (mutation.type === EVENT_TYPES.OPENING_ACKNOWLEDGED) {
        const view = held?.view;
        state = view ? { version: view.version, opening: view, acknowledged: Boolean(view.acknowledged_at) } : null;
      } else if (mutation.appeal_id) {
        state = foldState(server, rowsOf(parts, subject)).state;
        if (!state) throw new Refusal('registration_needs_attention', 'Resend the registration first.');
        baseVersion = state.version; // made against the version the appeal has now
      }
      const session = await readSession(base, k);
      const context = { quorum: session?.school?.quorum ?? null, ...(await recordsById(base, k)) };
      evolve(state, mutation.type, baseVersion, loaded.value, today(), context);
      const keepId = result?.error === 'seq_reused' && newData === undefined;
      // A new opening or meeting keeps its id whatever happens: letters and decisions may name it already.
      const recordsItself = mutation.type === EVENT_TYPES.OPENING_RECORDED || mutation.type === EVENT_TYPES.MEETING_RECORDED;
      const again = { ...mutation, id: keepId || recordsItself ? mutation.id : randomUUID(), base_version: baseVersion, data: loaded.value };
      delete again.seq;
      return enqueue(base, k, again, { parts, server, removeAttention: mutationId });
    }),
  };
}
