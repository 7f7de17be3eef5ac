/**
 * "Needs attention": the mutations the server refused (or could not read), set aside with its answer and
 * never sent again by themselves; the user sends one again, as it was or corrected, under a new seq (a
 * registration whose id the server knew for another one, `id_reused`, as a new entry: new ids), or
 * withdraws it (a letter registered twice, `receipt_code_used`; a step of the case work the conflict made moot).
 */
import { read, write } from '../idb.js';
import { openRecord } from '../crypto.js';
import { Refusal } from '../protocol.js';
import { evolve } from '../rules.js';
import { validateAmendment, validateEventData, validateRegistration } from '../validation.js';
import { EVENT_TYPES } from '../vocabulary.js';
import { NotFound, ValidationFailed } from './errors.js';
import { getMeta } from './meta.js';
import { enqueue } from './outbox.js';
import { loadParts, openAll, readSession, recordsById, rowsOf, sealedSubject } from './parts.js';
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
     * With `asNew` (after `id_reused`: the server knows the id for another mutation) it is a new entry: a new
     * mutation id, and a registration a new letter id too (the letter moves to it on this tablet).
     * @param {string} mutationId
     * @param {object} [newData]
     * @param {{asNew?: boolean}} [options]
     * @returns {Promise<object>} the appeal's view
     * @throws {NotFound|ValidationFailed|Refusal}
     */
    resendFromAttention: (mutationId, newData, { asNew = false } = {}) => exclusive(async () => {
      const k = key();
      const raw = await read(await db(), ['attention'], (s) => s.attention.get(mutationId));
      if (!raw) throw new NotFound('The item');
      const { mutation, result } = await openRecord(k, 'attention', raw);
      const loaded = validateAny(mutation.type, newData ?? mutation.data);
      if (loaded.errors) throw new ValidationFailed(loaded.errors);
      const moving = asNew && mutation.type === EVENT_TYPES.REGISTERED;
      const subject = moving ? randomUUID() : subjectOf(mutation);
      const parts = await loadParts(base, k, moving ? [subject, mutation.appeal_id] : [subject]);
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
      const keepId = result?.error === 'seq_reused' && newData === undefined && !asNew;
      // A new opening or meeting keeps its id whatever happens (letters and decisions may name it already),
      // unless the server holds that id for something else.
      const recordsItself = mutation.type === EVENT_TYPES.OPENING_RECORDED || mutation.type === EVENT_TYPES.MEETING_RECORDED;
      const again = {
        ...mutation, id: keepId || (recordsItself && !asNew) ? mutation.id : randomUUID(), base_version: baseVersion, data: loaded.value,
      };
      if (moving) again.appeal_id = subject;
      delete again.seq;
      if (!moving) return enqueue(base, k, again, { parts, server, removeAttention: mutationId });
      // The letter leaves its old id on this tablet (unless the server holds a letter under it), with a new mark.
      const forget = parts.records.get(mutation.appeal_id)?.server ? null : mutation.appeal_id;
      const provisionalNo = (await getMeta(base, 'provisionalNo')) ?? 1;
      return enqueue(base, k, again, { parts, server: null, provisionalNo, removeAttention: mutationId, forget });
    }),

    /**
     * One item of "needs attention" with what the letter's server copy says now (for a conflict, field by
     * field: history.js), or null when it is gone.
     * @param {string} mutationId
     * @returns {Promise<{mutation: object, result: object, at: string, server: object|null, view: object|null}|null>}
     */
    async attentionItem(mutationId) {
      const k = key();
      const raw = await read(await db(), ['attention'], (s) => s.attention.get(mutationId));
      if (!raw) return null;
      const item = await openRecord(k, 'attention', raw);
      const appealId = item.mutation.appeal_id;
      const record = appealId ? await read(await db(), ['appeals'], (s) => s.appeals.get(appealId)) : null;
      const opened = record ? await openRecord(k, 'appeals', record) : null;
      return { ...item, server: opened?.server ?? null, view: opened?.view ?? null };
    },

    /**
     * Withdraw a refused mutation, after the user confirmed: a letter registered twice (its code is on the
     * letter the server holds), or a step the server's newer state made moot. A withdrawn registration the
     * server never held takes its letter, and the unsent work on it, off this tablet.
     * @param {string} mutationId
     * @returns {Promise<void>}
     * @throws {NotFound}
     */
    withdrawFromAttention: (mutationId) => exclusive(async () => {
      const k = key();
      const raw = await read(await db(), ['attention'], (s) => s.attention.get(mutationId));
      if (!raw) throw new NotFound('The item');
      const { mutation } = await openRecord(k, 'attention', raw);
      const subject = subjectOf(mutation);
      const parts = await loadParts(base, k, [subject]);
      parts.attention = parts.attention.filter((item) => item.mutation.id !== mutationId);
      const held = parts.records.get(subject);
      const letterGoes = mutation.type === EVENT_TYPES.REGISTERED && !held?.server;
      const dropped = letterGoes ? rowsOf(parts, subject).filter((row) => !row.acked) : [];
      const alsoAttention = letterGoes ? parts.attention.filter((item) => item.mutation.appeal_id === subject) : [];
      parts.rows = parts.rows.filter((row) => !dropped.includes(row));
      const recomputed = letterGoes || !held ? null
        : await sealedSubject(k, subject, parts, held.server ?? null, Boolean(mutation.appeal_id));
      await write(await db(), ['attention', 'outbox', 'appeals', 'records'], async (s) => {
        await s.attention.delete(mutationId);
        for (const item of alsoAttention) await s.attention.delete(item.mutation.id);
        for (const row of dropped) await s.outbox.delete(row.seq);
        if (letterGoes) await s.appeals.delete(subject);
        else if (recomputed) await s[recomputed.store].put(recomputed.sealed);
      });
    }),
  };
}
