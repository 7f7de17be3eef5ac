/**
 * What a letter's pulled history tells, pure (sync/PROTOCOL.md §6.1: each entry's `version`, `base_version`,
 * `device`, `facts`, and for readers of contents `changes` with values before and after):
 * - a refused correction's conflict, field by field: the value at the correction's base version (the current
 *   value with the later corrections undone), the server's value now and who set it, and mine;
 * - the steps recorded on a letter since a version (a refused step of the case work beside them);
 * - this device's corrections that another device replaced later ("superseded");
 * - the letter already holding a receipt code, among the letters this tablet knows (one slip, one letter:
 *   protocol.js `receiptCodeHolder`, the server's rule).
 */
import { changedFields, joinRegistration, receiptCodeHolder } from './protocol.js';
import { toReceiptCode } from './validation.js';
import { EVENT_TYPES } from './vocabulary.js';

const EMPTY_CONTENTS = { applicant: {}, summary: null, text: null, receipt_code: null };

/** A value at a dotted path ('summary', 'applicant.phone') of registration-shaped data, or undefined. */
export function valueAt(data, path) {
  return String(path).split('.').reduce((value, key) => (value && typeof value === 'object' ? value[key] : undefined), data);
}

/** The registration a pulled change holds now (`{received_on, applicant: {…}, summary, …}`). */
export function registrationOf(change) {
  return joinRegistration(change, change?.contents ?? EMPTY_CONTENTS);
}

/**
 * The steps recorded on a letter after `baseVersion` (every one when it is null), oldest first: what a refused
 * mutation made against that version is shown beside.
 */
export function stepsSince(change, baseVersion) {
  const after = baseVersion ?? 0;
  return (change?.history ?? []).filter((entry) => typeof entry.version === 'number' && entry.version > after);
}

/** The paths an entry changed: its `changes` when the reader has them, else its `fields`. */
function pathsOf(entry) {
  if (Array.isArray(entry.changes)) return entry.changes.map((change) => change.field);
  return Array.isArray(entry.fields) ? entry.fields : [];
}

/**
 * A refused correction, field by field, against the server's letter now.
 * @param {object} change the pulled change (with `contents` and `history`)
 * @param {{base_version: number|null, data: {changes: object}}} mutation the refused `appeal.amended`
 * @returns {{path: string, base: *, server: *, mine: *, changedOnServer: boolean,
 *   by: {by: string|null, at: string|null, device: object|null}[]}[]} one row per field the correction sets
 */
export function conflictFields(change, mutation) {
  const now = registrationOf(change);
  const later = stepsSince(change, mutation.base_version);
  return changedFields(mutation.data?.changes ?? {}).map((path) => {
    const touching = later.filter((entry) => pathsOf(entry).includes(path));
    // The value at the base version: the first later correction's "before", else what it is now.
    const first = touching.map((entry) => (entry.changes ?? []).find((c) => c.field === path)).find(Boolean);
    const server = valueAt(now, path) ?? null;
    return {
      path,
      base: first ? first.before ?? null : server,
      server,
      mine: valueAt(mutation.data.changes, path) ?? null,
      changedOnServer: touching.length > 0,
      by: touching.map((entry) => ({ by: entry.by ?? null, at: entry.recorded_at ?? entry.at ?? null, device: entry.device ?? null })),
    };
  });
}

/**
 * The `changes` of the correction to send instead, from the choices made per field.
 * @param {ReturnType<typeof conflictFields>} rows
 * @param {Object<string, {take: 'mine'|'server'|'merge', value?: *}>} choices by path; missing means mine
 * @returns {object} the changes (possibly empty: nothing left to send)
 */
export function resolvedChanges(rows, choices) {
  const changes = {};
  for (const row of rows) {
    const choice = choices[row.path] ?? { take: 'mine' };
    if (choice.take === 'server') continue;
    const value = choice.take === 'merge' ? choice.value : row.mine;
    if ((value ?? null) === (row.server ?? null)) continue; // the server holds it already
    const [head, tail] = row.path.split('.');
    if (tail) changes[head] = { ...(changes[head] ?? {}), [tail]: value };
    else changes[head] = value;
  }
  return changes;
}

/**
 * This device's corrections another device replaced later: a later correction from another device that
 * changed a field this device set last. One item per replacing correction.
 * @param {object[]} history the pulled history, oldest first
 * @param {string|null} deviceId this device's id
 * @returns {{id: string, by: string|null, at: string|null, device: object|null, fields: string[], mine: string}[]}
 *   id: the replacing entry's; mine: the id of this device's correction it replaced
 */
export function supersededCorrections(history, deviceId) {
  if (!deviceId) return [];
  const setBy = new Map(); // path → the entry that set it last
  const found = [];
  for (const entry of history ?? []) {
    if (entry.type !== EVENT_TYPES.AMENDED) continue;
    const paths = pathsOf(entry);
    if (entry.device?.id && entry.device.id !== deviceId) {
      const replaced = paths.filter((path) => setBy.get(path)?.device?.id === deviceId);
      if (replaced.length > 0) {
        found.push({
          id: entry.id, by: entry.by ?? null, at: entry.recorded_at ?? entry.at ?? null, device: entry.device ?? null,
          fields: replaced, mine: setBy.get(replaced[0]).id,
        });
      }
    }
    for (const path of paths) setBy.set(path, entry);
  }
  return found;
}

/**
 * The letter among `views` that holds `code` already, other than `exceptId` and erased cases; null if none.
 * The views are the tablet's pulled letters with its unsent work folded in (store.listAppeals).
 * @param {string|null} code as typed (normalised here as the server does)
 * @param {object[]} views
 * @param {string|null} [exceptId] the letter being corrected or resent
 * @returns {object|null} the view
 */
export function receiptHolder(code, views, exceptId = null) {
  const wanted = toReceiptCode(code ?? '');
  if (!wanted) return null;
  // The letters holding the code (the server finds them by its keyed digest) in journal order, the unsent
  // ones last, then the journal's one rule.
  const holding = views.filter((view) => toReceiptCode(view.contents?.receipt_code ?? '') === wanted).sort(journalOrder);
  return receiptCodeHolder(holding, exceptId);
}

/** The journal's order: school year, then official number; letters not yet numbered after, by their mark. */
function journalOrder(a, b) {
  const unsent = (view) => (typeof view.serial_no === 'number' ? 0 : 1);
  return unsent(a) - unsent(b)
    || (a.school_year ?? 0) - (b.school_year ?? 0)
    || (a.serial_no ?? 0) - (b.serial_no ?? 0)
    || (a.provisional_no ?? 0) - (b.provisional_no ?? 0);
}
