/**
 * The settings form's pure parts (tests/js/admin.test.mjs): which settings are whole numbers and which are
 * lists, with their bounds and column lengths as sync/spec.json's `limits` hold them; what a save sends
 * (only what changed); and where the server's 422 `fields` are marked, and in whose words.
 */
import { t, formatNumber } from '../i18n.js';
import { limitsOf } from '../vocabulary.js';

const SETTINGS = limitsOf('settings');

/** The whole-number settings, each with its `[min, max]`; the commission's day is a choice of weekdays. */
export const NUMBER_SETTINGS = Object.freeze(Object.fromEntries([
  'due_in_days', 'quorum', 'collection_every_days', 'act_every_days', 'idle_lock_minutes', 'retention_years',
].map((key) => [key, SETTINGS[key]])));

/**
 * The list settings: the most rows the server takes, and the columns of a row with the most code points of
 * each (`null` for a list of dates).
 * @type {Object<string, {columns: Object<string, number>|null, max: number}>}
 */
export const LIST_SETTINGS = Object.freeze(Object.fromEntries(Object.entries({
  trust_phones: 'trust_phone',
  commission_members: 'person',
  working_group: 'person',
  days_off: null,
  working_days: null,
}).map(([key, part]) => [key, Object.freeze({ columns: part && limitsOf(part), max: SETTINGS[key][1] })])));

/** The weekdays the commission may meet on, Monday (0) first. */
export const COMMISSION_DAYS = Object.freeze(Array.from(
  { length: SETTINGS.commission_day[1] - SETTINGS.commission_day[0] + 1 }, (_, i) => SETTINGS.commission_day[0] + i,
));

/** JSON with the keys of every object sorted, so two equal settings compare equal whatever their key order. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A list of dates as the server keeps it best: sorted, each once. */
export function dateList(dates) {
  return [...new Set((dates ?? []).filter(Boolean))].sort();
}

/**
 * What the form changes of the loaded settings: only those keys, so a setting never touched keeps following
 * its default (the server stores what it is sent). Date lists compare as sets.
 * @param {object} loaded the server's settings
 * @param {object} edited the form's values (every key)
 * @returns {object} the keys to PATCH, maybe none
 */
export function settingsChanges(loaded, edited) {
  const changes = {};
  for (const [key, typed] of Object.entries(edited)) {
    const isDates = LIST_SETTINGS[key] && !LIST_SETTINGS[key].columns;
    const [before, value] = isDates ? [dateList(loaded[key]), dateList(typed)] : [loaded[key], typed];
    if (canonical(before) !== canonical(value)) changes[key] = value;
  }
  return changes;
}

/**
 * A whole number typed in a field: the number, null when empty, or the text itself (the server refuses it
 * and the field is marked).
 * @param {string} text
 */
export function wholeNumber(text) {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') return null;
  return /^-?\d{1,9}$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * The server's 422 `fields` as the places to mark: `quorum`, `trust_phones` (the list as a whole),
 * `trust_phones.0` (a row), `trust_phones.0.phone` (a cell); anything the form has no place for under `_form`.
 * @param {object} fields e.g. {quorum: [...], trust_phones: {0: {phone: [...]}}, days_off: {1: [...]}}
 * @returns {Set<string>}
 */
export function problemPlaces(fields) {
  const places = new Set();
  for (const [key, problem] of Object.entries(fields ?? {})) {
    const list = LIST_SETTINGS[key];
    if (!list) {
      places.add(key === 'name' || key === 'director_reads_contents' || key === 'week' || key === 'commission_day'
        || NUMBER_SETTINGS[key] ? key : '_form');
      continue;
    }
    if (Array.isArray(problem) || !problem || typeof problem !== 'object') {
      places.add(key);
      continue;
    }
    for (const [index, inner] of Object.entries(problem)) {
      if (!/^\d+$/.test(index)) {
        places.add(key);
      } else if (list.columns && inner && !Array.isArray(inner) && typeof inner === 'object') {
        for (const column of Object.keys(inner)) {
          places.add(Object.hasOwn(list.columns, column) ? `${key}.${index}.${column}` : `${key}.${index}`);
        }
      } else {
        places.add(`${key}.${index}`);
      }
    }
  }
  return places;
}

/** The words for a marked place, in the user's language (the server's English stays unshown). */
export function problemText(key, value) {
  if (NUMBER_SETTINGS[key]) {
    const [min, max] = NUMBER_SETTINGS[key];
    return t('admin.error_range', { min: formatNumber(min), max: formatNumber(max) });
  }
  if (value === null || value === undefined || String(value).trim() === '') return t('form.error_required');
  return t('form.error_invalid');
}
