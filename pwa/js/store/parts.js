/**
 * The reads a local change shares: the sealed session, the records of a subject (an appeal, or an opening,
 * meeting or report) with its outbox rows and what "needs attention", opened together (`loadParts`), and the
 * subject's recomputed view sealed for writing (`sealedSubject`). Everything here opens or seals outside any
 * transaction: a transaction commits as soon as nothing is pending (idb.js).
 */
import { read } from '../idb.js';
import { openRecord, sealRecord } from '../crypto.js';
import { computeRecordView, computeView, subjectOf } from './views.js';

export const SESSION_ID = 'current';

/** @returns {Promise<object|null>} the session, opened */
export async function readSession({ db }, k) {
  const raw = await read(await db(), ['session'], (s) => s.session.get(SESSION_ID));
  return raw ? openRecord(k, 'session', raw) : null;
}

/** An outbox row opened: its plain seq and acknowledgement, its sealed mutation, time and author. */
export const openRow = async (k, raw) => ({ seq: raw.seq, acked: raw.acked ?? null, ...(await openRecord(k, 'outbox', raw)) });

export const openAll = (k, store, raws) => Promise.all(raws.map((raw) => openRecord(k, store, raw)));

/**
 * Everything needed to recompute the views of `subjectIds` (appeals, openings, meetings), opened.
 * @returns {Promise<{records: Map<string, object>, rows: object[], attention: object[], nextSeq: number,
 *          allRows: object[]}>} allRows: every outbox row, still sealed
 */
export async function loadParts({ db }, k, subjectIds) {
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

/** A subject's outbox rows in seq order. */
export const rowsOf = (parts, id) => parts.rows.filter((row) => subjectOf(row.mutation) === id).sort((a, b) => a.seq - b.seq);

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
export async function sealedSubject(k, id, parts, server, isAppeal, extra = {}) {
  if (isAppeal) {
    const view = viewOf(id, parts, server, extra);
    return view && { store: 'appeals', view, sealed: await sealRecord(k, 'appeals', id, { server, view }) };
  }
  const view = computeRecordView({ id, server, rows: rowsOf(parts, id) });
  return view && { store: 'records', view, sealed: await sealRecord(k, 'records', id, { server, view }) };
}

/** The records of one kind known on this device (openings, meetings, reports), views by id. */
export async function recordsOf({ db }, k, entity) {
  const raws = await read(await db(), ['records'], (s) => s.records.getAll());
  const views = (await openAll(k, 'records', raws)).map((record) => record.view).filter(Boolean);
  return Object.fromEntries(views.filter((view) => view.entity === entity).map((view) => [view.id, view]));
}

/** The openings and meetings known on this device, as the rules look them up: data by id. */
export async function recordsById(base, k) {
  return { openings: await recordsOf(base, k, 'opening'), meetings: await recordsOf(base, k, 'meeting') };
}
