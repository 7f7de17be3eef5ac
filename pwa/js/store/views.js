/**
 * The views of the local journal, pure: what the UI sees of an appeal, an opening, a meeting or a report,
 * computed from the last pulled `server` state with this device's outbox rows folded over it in seq order
 * by rules.js (docs/PWA.md "view"). A row the rules refuse on top of newer server state (a stale correction,
 * a registration the server holds already) is simply not folded in: the server's word wins. A case erased
 * on the server (retention, PROTOCOL.md §6.7) is the journal's row and nothing else.
 */
import {
  Conflict, Refusal, changedFields, joinRegistration, schoolYear, splitRegistration,
} from '../protocol.js';
import { answeredOn, emptyCase, evolve } from '../rules.js';
import { EVENT_TYPES } from '../vocabulary.js';

const EMPTY_CONTENTS = Object.freeze({
  applicant: { full_name: null, age: null, grade: null, address: null, phone: null }, summary: null, text: null,
  receipt_code: null,
});

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
    // The server sends no contents to a reader not allowed them: the letter's words are hidden, not absent.
    contents_hidden: Boolean(server) && !server.contents,
    superseded_seen: previous?.superseded_seen ?? [],
  };
}

/** The pulled history as the UI shows it: values before and after, facts and data only as the server sent them. */
function pulledHistory(server) {
  return (server?.history ?? []).map((entry) => ({
    id: entry.id, type: entry.type, at: entry.recorded_at, by: entry.by, by_role: entry.by_role ?? null,
    device: entry.device ?? null, base_version: entry.base_version ?? null, version: entry.version ?? null,
    fields: entry.fields ?? [], facts: entry.facts ?? null, changes: entry.changes ?? null, data: entry.data ?? null,
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
    contents_hidden: false,
    superseded_seen: previous?.superseded_seen ?? [],
  };
}
