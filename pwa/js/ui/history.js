/**
 * A letter's history as a bound journal shows it: each event with who, when and on which device; a
 * correction's changed fields with the old value struck through beside the new one and its reason (values
 * and reasons only reach readers of contents: the server sends them to no one else); a step of the case
 * work with its facts (dates, kinds, authorities: every role) and, for readers of contents, its words. Also
 * the words for one value of a letter, shared with the conflict screen.
 */
import { h } from '../dom.js';
import { t, term, has, formatDate, formatDateTime, formatNumber } from '../i18n.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A person as the server names them; an id alone says nothing to the reader. */
export function who(by) {
  return by && !UUID.test(by) ? by : null;
}

/**
 * The label of a letter's field or an event's fact by its path: 'applicant.phone' → "Phone".
 * @param {string} path
 */
export function pathLabel(path) {
  const name = String(path).replace(/^applicant\./, '');
  for (const key of [name === 'role' ? 'field.applicant_role' : `field.${name}`, `case.field_${name}`, `fact.${name}`]) {
    if (has(key)) return t(key);
  }
  return path;
}

/**
 * One value in words: dates as dates, codes as their terms, yes or no; null as a dash.
 * @param {string} path a field's path or a fact's name
 * @param {*} value
 * @param {string} [eventType] the event a fact belongs to (a measure's kind is not an answer's)
 */
export function valueText(path, value, eventType = '') {
  if (value === null || value === undefined || value === '') return '—';
  const name = String(path).replace(/^applicant\./, '');
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (name === 'category') return term('category', value);
  if (name === 'role' || name === 'applicant_role') return term('role', value);
  if (name === 'authority') return term('authority', value);
  if (name === 'way') return term('answer_way', value);
  if (name === 'kind') return term(eventType.endsWith('measure_recorded') ? 'measure' : 'answer_kind', value);
  if (name === 'status') return term('status', value);
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string' && DATE.test(value)) return formatDate(value);
  if (typeof value === 'object') {
    return Object.values(value).filter((part) => part !== null && typeof part !== 'object').join(', ') || '—';
  }
  return String(value);
}

/** "Name · role · on the tablet «Device»", as much as is known. */
export function authorLine(entry) {
  const parts = [who(entry.by), entry.by_role && term('user_role', entry.by_role),
    entry.device?.name && t('history.on_device', { device: entry.device.name })].filter(Boolean);
  return parts.length > 0 ? parts.join(' · ') : null;
}

/** A correction's values: the field, the old value struck through, the new one. */
function changeList(entry) {
  return h('ul', { class: 'history-changes' }, entry.changes.map((change) => h('li', { class: 'history-change', 'data-field': change.field },
    h('span', { class: 'history-change-field' }, pathLabel(change.field), ': '),
    h('del', { class: 'history-before' }, valueText(change.field, change.before)),
    ' → ',
    h('ins', { class: 'history-after' }, valueText(change.field, change.after)))));
}

/** An event's facts (every role) and words (readers of contents), as label: value lines. */
function factList(entry) {
  const shown = { ...(entry.facts ?? {}), ...(entry.data ?? {}) };
  const lines = Object.entries(shown).filter(([, value]) => value !== null && value !== undefined && value !== '');
  if (lines.length === 0) return null;
  return h('dl', { class: 'history-facts' }, lines.map(([name, value]) => h('div', { class: 'history-fact', 'data-fact': name },
    h('dt', null, pathLabel(name)), h('dd', null, valueText(name, value, entry.type)))));
}

/**
 * One line of the history.
 * @param {object} entry a view's history entry (store/views.js)
 * @param {{superseded?: Set<string>}} [marks] ids of the entries that replaced this device's corrections
 */
export function historyEntry(entry, { superseded = new Set() } = {}) {
  const author = authorLine(entry);
  const isCorrection = entry.type === 'appeal.amended';
  return h('li', { class: ['history-entry', entry.pending && 'is-pending', superseded.has(entry.id) && 'is-superseding'], 'data-entry': entry.id },
    h('div', { class: 'history-head' },
      h('strong', null, term('event', entry.type)),
      entry.at && h('time', { datetime: entry.at }, formatDateTime(entry.at)),
      author && h('span', { class: 'muted history-author' }, author),
      entry.pending && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')),
      superseded.has(entry.id) && h('span', { class: 'chip chip-attention' }, t('superseded.chip'))),
    isCorrection && Array.isArray(entry.changes) && entry.changes.length > 0 ? changeList(entry)
      : Array.isArray(entry.fields) && entry.fields.length > 0 && h('p', { class: 'history-fields' },
        t('history.changed_fields'), ' ', entry.fields.map(pathLabel).join(', ')),
    !isCorrection && factList(entry),
    entry.reason && h('p', { class: 'history-reason' }, h('span', { class: 'muted' }, t('history.reason'), ' '), entry.reason));
}
