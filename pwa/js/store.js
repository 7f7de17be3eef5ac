/**
 * The encrypted local journal: the session, the appeals, the outbox, "needs attention" and the pull cursor,
 * every record sealed under the vault's key (docs/PWA.md). A local change and its outbox row are written in
 * one strict transaction; everything is sealed before the transaction opens.
 *
 * An appeal's `view` is its `server` state (the last pulled change) with the outbox rows of that appeal
 * folded over it in seq order by rules.js. Rows the server has acknowledged stay in the outbox, marked
 * `acked`, until a pull shows their effect (PROTOCOL.md §5.6): until then the view still shows them, and a
 * server restored from an older backup can be sent them again. A row the rules refuse on top of newer
 * server state (a stale correction, a registration the server holds already) is simply not folded in:
 * the server's word wins.
 */
import { database, read, write } from './idb.js';
import { openRecord, sealRecord } from './crypto.js';
import { key as vaultKey } from './vault.js';
import {
  Conflict, Refusal, changedFields, joinRegistration, localToday, schoolYear, splitRegistration,
} from './protocol.js';
import { answeredOn, emptyCase, evolve } from './rules.js';
import { errorPaths, validateAmendment, validateEventData, validateRegistration } from './validation.js';
import { EVENT_TYPES } from './vocabulary.js';

export { Locked } from './vault.js';
export { Refusal } from './protocol.js';

const SESSION_ID = 'current';
const EMPTY_CONTENTS = Object.freeze({
  applicant: { full_name: null, age: null, grade: null, address: null, phone: null }, summary: null, text: null,
  receipt_code: null,
});

/** Data that fails the same checks the server makes; `errors` is keyed by field, `paths` are dotted. */
export class ValidationFailed extends Error {
  constructor(errors) {
    super('The data is not valid.');
    this.name = 'ValidationFailed';
    this.code = 'validation_failed';
    this.errors = errors;
    this.paths = errorPaths(errors);
  }
}

/** The row to act on is gone (another tab acted on it first). */
export class NotFound extends Error {
  constructor(what) {
    super(`${what} was not found.`);
    this.name = 'NotFound';
    this.code = 'item_not_found';
  }
}

// ---- Views (pure) -------------------------------------------------------------------------------------

/** The rules' state of a pulled change: `{status, version, registration, case}`. */
export function stateFromChange(change) {
  const { case: caseWork, ...contents } = change.contents ?? EMPTY_CONTENTS;
  return {
    status: change.status,
    version: change.version,
    registration: joinRegistration(change, contents),
    case: caseWork ?? emptyCase(),
  };
}

/**
 * What a mutation is about: its appeal, or the opening or meeting, whose id is the id of the event that
 * recorded it. Outbox rows keep it in their plain `appeal_id` field, so one index finds a subject's rows.
 */
export function subjectOf(mutation) {
  if (mutation.appeal_id) return mutation.appeal_id;
  if (mutation.type === EVENT_TYPES.OPENING_ACKNOWLEDGED) return mutation.data.opening_id;
  return mutation.id;
}

/**
 * An opening or a meeting as the UI sees it: the pulled record, or the pending one recorded on this device,
 * with a pending acknowledgement folded in. `pending` counts unsent mutations, as for appeals.
 * @param {{id: string, server: object|null, rows: object[]}} parts rows: this record's outbox rows in seq order
 */
export function computeRecordView({ id, server, rows }) {
  let view = server ? { ...server } : null;
  for (const { mutation, made_at: at, by } of rows) {
    if (!view && mutation.type === EVENT_TYPES.OPENING_RECORDED) {
      view = { entity: 'opening', id, version: 1, ...mutation.data, recorded_at: at, recorded_by: by,
        acknowledged_at: null, acknowledged_by: null };
    } else if (!view && mutation.type === EVENT_TYPES.MEETING_RECORDED) {
      view = { entity: 'meeting', id, version: 1, ...mutation.data, recorded_at: at, recorded_by: by };
    } else if (!view && mutation.type === EVENT_TYPES.REPORT_PRESENTED) {
      view = { entity: 'report', id, version: 1, ...mutation.data, recorded_at: at, recorded_by: by };
    } else if (view && mutation.type === EVENT_TYPES.OPENING_ACKNOWLEDGED && !view.acknowledged_at) {
      view = { ...view, acknowledged_at: at, acknowledged_by: by };
    }
  }
  return view && { ...view, pending: rows.filter((row) => !row.acked).length };
}

/** Nothing more is recorded on a case whose contents the server erased (retention). */
function refuseErased(record) {
  if (record.server?.erased) throw new Refusal('appeal_erased', 'The contents of this case were erased.');
}

function tryEvolve(state, mutation) {
  try {
    return evolve(state, mutation.type, mutation.base_version, mutation.data, null);
  } catch (error) {
    if (error instanceof Refusal || error instanceof Conflict) return null; // the server will say so
    throw error;
  }
}

/**
 * The appeal's state as this device expects the server to hold it once the outbox is through: the pulled
 * state (or, for a registration the server refused, the registration in "needs attention"), with the
 * outbox rows folded over it.
 * @returns {{state: object|null, serialNo: number|null}}
 */
export function foldState(server, rows, attention = []) {
  let state = server ? stateFromChange(server) : null;
  let serialNo = server?.serial_no ?? null;
  if (!state) {
    const refused = attention.find((item) => item.mutation.type === EVENT_TYPES.REGISTERED);
    if (refused) state = tryEvolve(null, refused.mutation);
  }
  for (const row of rows) {
    const next = tryEvolve(state, row.mutation);
    if (!next) continue;
    state = next;
    if (row.mutation.type === EVENT_TYPES.REGISTERED) serialNo = row.acked?.serial_no ?? serialNo;
  }
  return { state, serialNo };
}

function historyEntry(row) {
  const { mutation } = row;
  return {
    id: mutation.id,
    type: mutation.type,
    at: row.made_at,
    by: row.by,
    fields: mutation.type === EVENT_TYPES.AMENDED ? changedFields(mutation.data.changes) : [],
    reason: mutation.data.reason ?? null,
    pending: !row.acked,
  };
}

/**
 * The appeal as the UI sees it (docs/PWA.md "view"), or the previous view when nothing is known.
 * @param {{id: string, server: object|null, rows: object[], attention: object[], previous: object|null,
 *          provisionalNo?: number|null}} parts rows: this appeal's outbox rows in seq order
 */
export function computeView({ id, server, rows, attention, previous, provisionalNo = null }) {
  const pending = rows.filter((row) => !row.acked).length;
  if (server?.erased) return erasedView({ id, server, pending, previous, provisionalNo });
  const { state, serialNo } = foldState(server, rows, attention);
  if (!state) return previous ? { ...previous, pending, attention: attention.length > 0 } : null;
  const [meta, contents] = splitRegistration(state.registration);
  const pulled = pulledHistory(server);
  const known = new Set(pulled.map((entry) => entry.id));
  return {
    id,
    serial_no: serialNo,
    provisional_no: previous?.provisional_no ?? provisionalNo,
    school_year: server?.school_year ?? schoolYear(meta.received_on),
    version: state.version,
    status: state.status,
    ...meta,
    contents: { ...contents, case: state.case ?? emptyCase() },
    registered_at: server?.registered_at ?? null,
    updated_at: server?.updated_at ?? null,
    // The server's deadline holds while the date received is the one it counted from.
    due_on: server?.received_on === meta.received_on && state.status !== 'not_accepted' ? server.due_on ?? null : null,
    answered_on: answeredOn(state),
    closed_on: state.case?.closed?.closed_on ?? null,
    pending,
    attention: attention.length > 0,
    history: [...pulled, ...rows.filter((row) => !known.has(row.mutation.id)).map(historyEntry)],
  };
}

function pulledHistory(server) {
  return (server?.history ?? []).map((entry) => ({
    id: entry.id, type: entry.type, at: entry.recorded_at, by: entry.by, fields: entry.fields ?? [],
    reason: entry.reason ?? null, pending: false,
  }));
}

/**
 * A case the retention period erased on the server (PROTOCOL.md §6.7): the journal's row as the server
 * keeps it, and nothing else. No contents, no case work, no local mutation folded in (the server refuses
 * them all with `appeal_erased`), so the tablet keeps no word of the letter either.
 */
function erasedView({ id, server, pending, previous, provisionalNo }) {
  return {
    id,
    serial_no: server.serial_no,
    provisional_no: previous?.provisional_no ?? provisionalNo,
    school_year: server.school_year,
    version: server.version,
    status: server.status,
    received_on: server.received_on,
    opening_id: server.opening_id ?? null,
    category: server.category,
    urgent: server.urgent,
    anonymous: server.anonymous,
    applicant_role: server.applicant_role,
    contents: null,
    erased: true,
    erased_at: server.erased_at ?? null,
    registered_at: server.registered_at ?? null,
    updated_at: server.updated_at ?? null,
    due_on: server.due_on ?? null,
    answered_on: server.answered_on ?? null,
    closed_on: server.closed_on ?? null,
    pending,
    attention: false,
    history: pulledHistory(server),
  };
}

/** The wire form of an outbox row's mutation. */
function wire(row) {
  const { id, type, appeal_id, base_version, data } = row.mutation;
  return { seq: row.seq, id, type, appeal_id, base_version, data };
}

/** Newest first: date received, then official number, then provisional mark. */
function newestFirst(a, b) {
  return (b.received_on ?? '').localeCompare(a.received_on ?? '')
    || (b.serial_no ?? Infinity) - (a.serial_no ?? Infinity)
    || (b.provisional_no ?? 0) - (a.provisional_no ?? 0);
}

/** Check an event's data with the validator of its type. @returns {{value?: object, errors?: object}} */
function validateAny(type, data) {
  if (type === EVENT_TYPES.REGISTERED) return validateRegistration(data);
  if (type === EVENT_TYPES.AMENDED) return validateAmendment(data);
  return validateEventData(type, data);
}

// ---- The store -------------------------------------------------------------------------------------------

/**
 * A store over a database and a key source. The app uses the module-level functions below, which are this
 * factory's methods over the page's database and the vault; tests pass their own.
 * @param {{db?: () => Promise<IDBDatabase>, key?: () => CryptoKey, now?: () => Date, randomUUID?: () => string,
 *          locks?: LockManager|null, storage?: StorageManager|null}} [deps]
 */
export function createStore({
  db = database, key = vaultKey, now = () => new Date(), randomUUID = () => crypto.randomUUID(),
  locks = globalThis.navigator?.locks ?? null, storage = globalThis.navigator?.storage ?? null,
} = {}) {
  let chain = Promise.resolve();
  // Every read-modify-write runs alone, across tabs too: views are computed from what was read, and the
  // counters (nextSeq, provisionalNo) are read before sealing, which happens outside the transaction.
  function exclusive(fn) {
    if (locks) return locks.request('ishenim-store', () => fn());
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  }

  const today = () => localToday(now());
  const stamp = () => now().toISOString();

  // -- sealing helpers (outside transactions) --
  const sealRow = async (k, row) => ({
    seq: row.seq,
    appeal_id: subjectOf(row.mutation),
    ...(row.acked ? { acked: row.acked } : {}),
    ...(await sealRecord(k, 'outbox', row.mutation.id, { mutation: row.mutation, made_at: row.made_at, by: row.by })),
  });
  const openRow = async (k, raw) => ({ seq: raw.seq, acked: raw.acked ?? null, ...(await openRecord(k, 'outbox', raw)) });
  const openAll = (k, store, raws) => Promise.all(raws.map((raw) => openRecord(k, store, raw)));

  /** Everything needed to recompute the views of `subjectIds` (appeals, openings, meetings), opened. */
  async function loadParts(k, subjectIds) {
    const wanted = new Set(subjectIds);
    const raw = await read(await db(), ['appeals', 'records', 'outbox', 'attention', 'meta'], async (s) => ({
      appeals: await Promise.all([...wanted].map((id) => s.appeals.get(id))),
      others: await Promise.all([...wanted].map((id) => s.records.get(id))),
      outbox: await s.outbox.getAll(),
      attention: await s.attention.getAll(),
      nextSeq: (await s.meta.get('nextSeq')) ?? 1,
    }));
    const records = new Map();
    for (const record of raw.appeals.filter(Boolean)) records.set(record.id, await openRecord(k, 'appeals', record));
    for (const record of raw.others.filter(Boolean)) records.set(record.id, await openRecord(k, 'records', record));
    const rows = await Promise.all(raw.outbox.filter((r) => wanted.has(r.appeal_id)).map((r) => openRow(k, r)));
    const attention = await openAll(k, 'attention', raw.attention);
    return { records, rows, attention, nextSeq: raw.nextSeq, allRows: raw.outbox };
  }

  const rowsOf = (parts, id) => parts.rows.filter((row) => subjectOf(row.mutation) === id).sort((a, b) => a.seq - b.seq);

  function viewOf(id, parts, server, extra = {}) {
    const record = parts.records.get(id);
    return computeView({
      id,
      server,
      rows: rowsOf(parts, id),
      attention: parts.attention.filter((item) => item.mutation.appeal_id === id),
      previous: record?.view ?? null,
      ...extra,
    });
  }

  /** The sealed record to store for a subject: an appeal (`appeals`) or an opening or meeting (`records`). */
  async function sealedSubject(k, id, parts, server, isAppeal, extra = {}) {
    if (isAppeal) {
      const view = viewOf(id, parts, server, extra);
      return view && { store: 'appeals', view, sealed: await sealRecord(k, 'appeals', id, { server, view }) };
    }
    const view = computeRecordView({ id, server, rows: rowsOf(parts, id) });
    return view && { store: 'records', view, sealed: await sealRecord(k, 'records', id, { server, view }) };
  }

  async function sessionUserName(k) {
    const session = await readSession(k);
    return session?.user?.full_name ?? null;
  }

  async function readSession(k) {
    const raw = await read(await db(), ['session'], (s) => s.session.get(SESSION_ID));
    return raw ? openRecord(k, 'session', raw) : null;
  }

  /** Give the rows at seq ≥ fromSeq the consecutive seqs fromSeq, fromSeq + 1, … (ids kept), as pending. */
  async function renumberIn(s, fromSeq) {
    const moving = (await s.outbox.getAll()).filter((row) => row.seq >= fromSeq);
    for (const row of moving) await s.outbox.delete(row.seq);
    let seq = fromSeq;
    for (const row of moving) {
      const moved = { ...row, seq }; // the seal binds the mutation id, not the seq: no re-sealing
      delete moved.acked; // sent again, so pending again
      await s.outbox.put(moved);
      seq += 1;
    }
    await s.meta.put(seq, 'nextSeq');
    return moving.length;
  }

  /** Write a new outbox row for `mutation` and its subject's recomputed view, in one transaction. */
  async function enqueue(k, mutation, { parts, server, provisionalNo = null, removeAttention = null }) {
    const row = { seq: parts.nextSeq, acked: null, mutation, made_at: stamp(), by: await sessionUserName(k) };
    parts.rows.push(row);
    if (removeAttention) parts.attention = parts.attention.filter((item) => item.mutation.id !== removeAttention);
    const subject = await sealedSubject(k, subjectOf(mutation), parts, server, Boolean(mutation.appeal_id), { provisionalNo });
    const sealedRow = await sealRow(k, row);
    await write(await db(), ['meta', 'outbox', 'appeals', 'records', 'attention'], async (s) => {
      // A seq is used once: were it taken meanwhile, writing would break that promise.
      if (((await s.meta.get('nextSeq')) ?? 1) !== row.seq) throw new Error('The outbox changed meanwhile; try again.');
      await s.outbox.put(sealedRow);
      await s[subject.store].put(subject.sealed);
      await s.meta.put(row.seq + 1, 'nextSeq');
      if (provisionalNo !== null) await s.meta.put(provisionalNo + 1, 'provisionalNo');
      if (removeAttention) await s.attention.delete(removeAttention);
    });
    return subject.view;
  }

  /** Settle mutations the server answered: acknowledged rows are marked, refused ones go to attention. */
  async function settle(items) {
    const k = key();
    const parts = await loadParts(k, items.map((item) => subjectOf(item.mutation)));
    const byId = new Map(parts.allRows.map((row) => [row.id, row]));
    const at = stamp();
    const acks = [];
    const moves = [];
    const drops = [];
    for (const { mutation, result } of items) {
      const raw = byId.get(mutation.id);
      if (!raw) continue; // settled already (another tab, or an earlier answer)
      if (result.error === 'appeal_erased') {
        // Work on a case the retention period erased: nothing to attend to, and keeping its words here would
        // undo the erasure on this tablet.
        drops.push(raw.seq);
        parts.rows = parts.rows.filter((r) => r.mutation.id !== mutation.id);
      } else if (result.status === 'applied' || result.status === 'duplicate') {
        const acked = { status: result.status, serial_no: result.serial_no ?? null, version: result.version ?? null, at };
        acks.push({ ...raw, acked });
        const row = parts.rows.find((r) => r.mutation.id === mutation.id);
        if (row) row.acked = acked;
      } else {
        const opened = parts.rows.find((r) => r.mutation.id === mutation.id);
        const item = { mutation: wire(opened), result, at };
        moves.push({ seq: raw.seq, sealed: await sealRecord(k, 'attention', mutation.id, item) });
        parts.rows = parts.rows.filter((r) => r !== opened);
        parts.attention.push(item);
      }
    }
    const subjects = [];
    for (const { mutation } of items) {
      const id = subjectOf(mutation);
      if (subjects.some((subject) => subject.id === id)) continue;
      const server = parts.records.get(id)?.server ?? null;
      const subject = await sealedSubject(k, id, parts, server, Boolean(mutation.appeal_id));
      if (subject) subjects.push({ id, ...subject });
    }
    await write(await db(), ['outbox', 'attention', 'appeals', 'records'], async (s) => {
      for (const row of acks) await s.outbox.put(row);
      for (const seq of drops) await s.outbox.delete(seq);
      for (const move of moves) {
        await s.outbox.delete(move.seq);
        await s.attention.put(move.sealed);
      }
      for (const subject of subjects) await s[subject.store].put(subject.sealed);
    });
    return { acknowledged: acks.length, attention: moves.length, dropped: drops.length };
  }

  const store = {
    // -- session --

    /** @returns {Promise<object|null>} the session `{token, device_id, user, school, …}` */
    getSession: async () => readSession(key()),

    /**
     * Keep the session (sealed). When the device id changes (a new enrolment after `device_revoked`),
     * everything still held in the outbox is renumbered from 1, ids kept (PROTOCOL.md §5.6).
     * @param {object} session
     */
    saveSession: (session) => exclusive(async () => {
      const k = key();
      const previous = await readSession(k);
      const sealed = await sealRecord(k, 'session', SESSION_ID, session);
      const newDevice = Boolean(previous?.device_id && session.device_id && previous.device_id !== session.device_id);
      await write(await db(), ['session', 'outbox', 'meta'], async (s) => {
        await s.session.put(sealed);
        if (newDevice) await renumberIn(s, 1);
      });
    }),

    /** Log out: the token is forgotten; the device id, the letters and the outbox all stay. */
    forgetToken: () => exclusive(async () => {
      const k = key();
      const session = await readSession(k);
      if (!session) return;
      const sealed = await sealRecord(k, 'session', SESSION_ID, { ...session, token: null });
      await write(await db(), ['session'], (s) => s.session.put(sealed));
    }),

    // -- appeals --

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
      evolve(null, EVENT_TYPES.REGISTERED, null, loaded.value, today(), await recordsById(k)); // as the server would
      const appealId = randomUUID();
      const parts = await loadParts(k, [appealId]);
      const provisionalNo = (await store.getMeta('provisionalNo')) ?? 1;
      const mutation = { id: randomUUID(), type: EVENT_TYPES.REGISTERED, appeal_id: appealId, base_version: null, data: loaded.value };
      const view = await enqueue(k, mutation, { parts, server: null, provisionalNo });
      askPersistenceOnce();
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
      const parts = await loadParts(k, [id]);
      const record = parts.records.get(id);
      if (!record) throw new NotFound('The appeal');
      refuseErased(record);
      const rows = parts.rows.filter((row) => row.mutation.appeal_id === id);
      const registered = record.server || rows.some((row) => row.mutation.type === EVENT_TYPES.REGISTERED);
      // A registration the server refused must be sent again first; a correction of it would be refused.
      if (!registered) throw new Refusal('registration_needs_attention', 'Resend the registration first.');
      const { state } = foldState(record.server, rows.sort((a, b) => a.seq - b.seq));
      evolve(state, EVENT_TYPES.AMENDED, state.version, loaded.value, today(), await recordsById(k));
      const mutation = { id: randomUUID(), type: EVENT_TYPES.AMENDED, appeal_id: id, base_version: state.version, data: loaded.value };
      return enqueue(k, mutation, { parts, server: record.server });
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
      const parts = await loadParts(k, [id]);
      const record = parts.records.get(id);
      if (!record) throw new NotFound('The appeal');
      refuseErased(record);
      const { state } = foldState(record.server, rowsOf(parts, id));
      if (!state) throw new Refusal('registration_needs_attention', 'Resend the registration first.');
      evolve(state, type, state.version, loaded.value, today(), await recordsById(k));
      const mutation = { id: randomUUID(), type, appeal_id: id, base_version: state.version, data: loaded.value };
      return enqueue(k, mutation, { parts, server: record.server });
    }),

    // -- openings and meetings --

    /**
     * Record an opening of the box (the act): its id is the new event's id, so letters can name it at once.
     * @param {object} data `opening.recorded` data
     * @returns {Promise<object>} the opening's view
     */
    recordOpening: (data) => recordNew(EVENT_TYPES.OPENING_RECORDED, data),

    /**
     * Record a commission meeting; the school's quorum (from the session's settings) is checked here too.
     * @param {object} data `meeting.recorded` data
     * @returns {Promise<object>} the meeting's view
     */
    recordMeeting: (data) => recordNew(EVENT_TYPES.MEETING_RECORDED, data),

    /**
     * Mark the monthly information for `month` presented (regulation 003 §2.6), once per month.
     * @param {string} month YYYY-MM
     * @returns {Promise<object>} the presentation's view
     */
    presentReport: (month) => recordNew(EVENT_TYPES.REPORT_PRESENTED, { month }),

    /** The director acknowledges an act. @returns {Promise<object>} the opening's view */
    acknowledgeOpening: (openingId) => exclusive(async () => {
      const k = key();
      const data = { opening_id: openingId };
      const parts = await loadParts(k, [openingId]);
      const record = parts.records.get(openingId);
      if (!record?.view) throw new NotFound('The opening');
      const state = { version: record.view.version, opening: record.view, acknowledged: Boolean(record.view.acknowledged_at) };
      evolve(state, EVENT_TYPES.OPENING_ACKNOWLEDGED, null, data, today());
      const mutation = { id: randomUUID(), type: EVENT_TYPES.OPENING_ACKNOWLEDGED, appeal_id: null, base_version: null, data };
      return enqueue(k, mutation, { parts, server: record.server });
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

    // -- outbox --

    /** @returns {Promise<number>} mutations not yet answered by the server (readable while locked) */
    async pendingCount() {
      const rows = await read(await db(), ['outbox'], (s) => s.outbox.getAll());
      return rows.filter((row) => !row.acked).length;
    },

    /**
     * The oldest pending mutations, in seq order, as the wire carries them.
     * @param {number} [limit]
     * @returns {Promise<object[]>}
     */
    async pendingMutations(limit = Infinity) {
      const k = key();
      const raws = await read(await db(), ['outbox'], (s) => s.outbox.getAll());
      const pending = raws.filter((row) => !row.acked).slice(0, limit);
      return Promise.all(pending.map(async (raw) => wire(await openRow(k, raw))));
    },

    /**
     * Settle a pushed batch with the server's results (one per mutation, in request order).
     * @param {object[]} batch the mutations sent
     * @param {object[]} results
     */
    applyPushResults: (batch, results) => exclusive(async () => {
      if (batch.length !== results.length) throw new Error('One result per mutation was expected.');
      results.forEach((result, i) => {
        if (result.id !== batch[i].id) throw new Error('The results do not match the batch.');
      });
      return settle(batch.map((mutation, i) => ({ mutation, result: results[i] })));
    }),

    /**
     * Move one mutation to "needs attention" with the server's answer (e.g. a 422 naming its index).
     * @param {object} mutation
     * @param {object} result `{status, error, …}`
     */
    moveToAttention: (mutation, result) => exclusive(() => settle([{ mutation, result: { status: 'rejected', ...result } }])),

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
      const parts = await loadParts(k, [subject]);
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
      const session = await readSession(k);
      const context = { quorum: session?.school?.quorum ?? null, ...(await recordsById(k)) };
      evolve(state, mutation.type, baseVersion, loaded.value, today(), context);
      const keepId = result?.error === 'seq_reused' && newData === undefined;
      // A new opening or meeting keeps its id whatever happens: letters and decisions may name it already.
      const recordsItself = mutation.type === EVENT_TYPES.OPENING_RECORDED || mutation.type === EVENT_TYPES.MEETING_RECORDED;
      const again = { ...mutation, id: keepId || recordsItself ? mutation.id : randomUUID(), base_version: baseVersion, data: loaded.value };
      delete again.seq;
      return enqueue(k, again, { parts, server, removeAttention: mutationId });
    }),

    /**
     * Give every row held at seq ≥ fromSeq new consecutive seqs from fromSeq, keeping their ids, and send
     * them again (also rows acknowledged before): after 409 seq_gap (fromSeq = last_seq + 1) or a new
     * enrolment (fromSeq = 1). The next new mutation follows them.
     * @param {number} fromSeq
     * @returns {Promise<number>} how many rows were renumbered
     */
    renumberPending: (fromSeq) => exclusive(async () => write(await db(), ['outbox', 'meta'], (s) => renumberIn(s, fromSeq))),

    /**
     * The server stored outcomes up to `lastSeq` for this device: the next new mutation must come after it,
     * or it would be taken for a replay (`seq_reused`). Only ever moves nextSeq forward.
     * @param {number} lastSeq the `last_seq` of a push answer
     */
    noteServerSeq: (lastSeq) => exclusive(async () => write(await db(), ['meta'], async (s) => {
      if (((await s.meta.get('nextSeq')) ?? 1) <= lastSeq) await s.meta.put(lastSeq + 1, 'nextSeq');
    })),

    // -- pull --

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
      const parts = await loadParts(k, changes.map((change) => change.id));
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
    getCursor: async () => (await store.getMeta('cursor')) ?? 0,

    /** Pull everything again from 0 (after 409 cursor_ahead); nothing else is touched. */
    resetCursor: () => store.setMeta('cursor', 0),

    // -- meta and storage --

    /** A plain (unsealed, never confidential) setting: nextSeq, provisionalNo, cursor, lastSync, … */
    getMeta: async (name) => read(await db(), ['meta'], (s) => s.meta.get(name)),

    setMeta: async (name, value) => write(await db(), ['meta'], (s) => s.meta.put(value, name)),

    /** @returns {Promise<{usage: number, quota: number}|null>} */
    async storageEstimate() {
      if (!storage?.estimate) return null;
      const { usage = 0, quota = 0 } = await storage.estimate();
      return { usage, quota };
    },

    /** Ask the browser to keep this origin's data under storage pressure. @returns {Promise<boolean>} */
    async requestPersistence() {
      if (!storage?.persist) return false;
      if (await storage.persisted?.()) return true;
      return storage.persist();
    },
  };

  /** Record a new opening or meeting: the event's id becomes the record's id. */
  function recordNew(type, data) {
    return exclusive(async () => {
      const k = key();
      const loaded = validateEventData(type, data);
      if (loaded.errors) throw new ValidationFailed(loaded.errors);
      const session = await readSession(k);
      const presented = Object.values(await recordsOf(k, 'report')).map((view) => view.month);
      evolve(null, type, null, loaded.value, today(), { quorum: session?.school?.quorum ?? null, presented });
      const mutation = { id: randomUUID(), type, appeal_id: null, base_version: null, data: loaded.value };
      const parts = await loadParts(k, [mutation.id]);
      return enqueue(k, mutation, { parts, server: null });
    });
  }

  /** The records of one kind known on this device (openings, meetings, reports), views by id. */
  async function recordsOf(k, entity) {
    const raws = await read(await db(), ['records'], (s) => s.records.getAll());
    const views = (await openAll(k, 'records', raws)).map((record) => record.view).filter(Boolean);
    return Object.fromEntries(views.filter((view) => view.entity === entity).map((view) => [view.id, view]));
  }

  /** The openings and meetings known on this device, as the rules look them up: data by id. */
  async function recordsById(k) {
    return { openings: await recordsOf(k, 'opening'), meetings: await recordsOf(k, 'meeting') };
  }

  function askPersistenceOnce() {
    // After the first save, never blocking it: Chromium answers without a prompt.
    store.getMeta('persistenceAsked').then(async (asked) => {
      if (asked) return;
      await store.setMeta('persistenceAsked', true);
      await store.requestPersistence();
    }).catch(() => {});
  }

  return store;
}

// The app's store, over the page's database and the vault's key.
export const {
  getSession, saveSession, forgetToken, listAppeals, getAppeal, registerAppeal, amendAppeal, recordCaseWork,
  recordOpening, recordMeeting, acknowledgeOpening, presentReport, listRecords, getRecord, pendingCount, pendingMutations,
  applyPushResults, moveToAttention, attentionItems, resendFromAttention, applyPull, getCursor, resetCursor,
  renumberPending, noteServerSeq, getMeta, setMeta, storageEstimate, requestPersistence,
} = createStore();
