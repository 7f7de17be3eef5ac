/**
 * Openings of the box (the acts), commission meetings and the monthly reports presented: records of their
 * own (the `records` store), each recorded on the tablet under the id of the event that records it, so
 * letters and decisions can name it at once, offline too; the director's acknowledgement of an act.
 */
import { read } from '../idb.js';
import { openRecord } from '../crypto.js';
import { evolve } from '../rules.js';
import { validateEventData } from '../validation.js';
import { EVENT_TYPES } from '../vocabulary.js';
import { NotFound, ValidationFailed } from './errors.js';
import { enqueue } from './outbox.js';
import { loadParts, openAll, readSession, recordsOf } from './parts.js';

/** Record a new opening or meeting: the event's id becomes the record's id. */
function recordNew(base, type, data) {
  const { key, exclusive, today, randomUUID } = base;
  return exclusive(async () => {
    const k = key();
    const loaded = validateEventData(type, data);
    if (loaded.errors) throw new ValidationFailed(loaded.errors);
    const session = await readSession(base, k);
    const presented = Object.values(await recordsOf(base, k, 'report')).map((view) => view.month);
    evolve(null, type, null, loaded.value, today(), { quorum: session?.school?.quorum ?? null, presented });
    const mutation = { id: randomUUID(), type, appeal_id: null, base_version: null, data: loaded.value };
    const parts = await loadParts(base, k, [mutation.id]);
    return enqueue(base, k, mutation, { parts, server: null });
  });
}

/** The store's methods for openings, meetings and reports. */
export function recordMethods(base) {
  const { db, key, exclusive, today, randomUUID } = base;
  return {
    /**
     * Record an opening of the box (the act): its id is the new event's id, so letters can name it at once.
     * @param {object} data `opening.recorded` data
     * @returns {Promise<object>} the opening's view
     */
    recordOpening: (data) => recordNew(base, EVENT_TYPES.OPENING_RECORDED, data),

    /**
     * Record a commission meeting; the school's quorum (from the session's settings) is checked here too.
     * @param {object} data `meeting.recorded` data
     * @returns {Promise<object>} the meeting's view
     */
    recordMeeting: (data) => recordNew(base, EVENT_TYPES.MEETING_RECORDED, data),

    /**
     * Mark the monthly information for `month` presented (regulation 003 §2.6), once per month.
     * @param {string} month YYYY-MM
     * @returns {Promise<object>} the presentation's view
     */
    presentReport: (month) => recordNew(base, EVENT_TYPES.REPORT_PRESENTED, { month }),

    /** The director acknowledges an act. @returns {Promise<object>} the opening's view */
    acknowledgeOpening: (openingId) => exclusive(async () => {
      const k = key();
      const data = { opening_id: openingId };
      const parts = await loadParts(base, k, [openingId]);
      const record = parts.records.get(openingId);
      if (!record?.view) throw new NotFound('The opening');
      const state = { version: record.view.version, opening: record.view, acknowledged: Boolean(record.view.acknowledged_at) };
      evolve(state, EVENT_TYPES.OPENING_ACKNOWLEDGED, null, data, today());
      const mutation = { id: randomUUID(), type: EVENT_TYPES.OPENING_ACKNOWLEDGED, appeal_id: null, base_version: null, data };
      return enqueue(base, k, mutation, { parts, server: record.server });
    }),

    /** @returns {Promise<object[]>} the views of every opening or meeting (`entity`), newest first */
    async listRecords(entity) {
      const k = key();
      const raws = await read(await db(), ['records'], (s) => s.records.getAll());
      const views = (await openAll(k, 'records', raws)).map((record) => record.view).filter((view) => view?.entity === entity);
      const when = (view) => view.opened_at ?? view.held_on ?? view.month ?? '';
      return views.sort((a, b) => when(b).localeCompare(when(a)));
    },

    /** @returns {Promise<object|null>} an opening's or a meeting's view */
    async getRecord(id) {
      const k = key();
      const raw = await read(await db(), ['records'], (s) => s.records.get(id));
      return raw ? (await openRecord(k, 'records', raw)).view : null;
    },
  };
}
